import { Type, type Static } from '@sinclair/typebox';
import { TimeFilterSchema } from '../events/index.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
// 18 digits at most: every such number fits PostgreSQL's bigint, where a 19-digit one could overflow it.
const RowId = (description: string) => Type.String({ pattern: '^[0-9]{1,18}$', description });

/** One entry of a tenant's own request log: what the request was and how it ended; never bodies, headers or tokens. */
export const TenantRequestLogEntrySchema = Type.Object({
  object: Type.Literal('request_log'),
  id: Type.String({ description: 'The entry id (the cursor). Request ids can repeat: clients may send X-Request-Id.', examples: ['1042'] }),
  request_id: Type.String({ examples: ['req_01jq8x4m3c0000000000000000'] }),
  client_id: Nullable(Type.String({ description: 'The API client that called.' })),
  method: Type.String({ examples: ['POST'] }),
  route: Type.String({ description: 'The route template, e.g. /v1/payments/:id.', examples: ['/v1/payments'] }),
  status_code: Type.Integer({ examples: [201] }),
  latency_ms: Type.Number({ examples: [42.5] }),
  error_code: Nullable(Type.String({ description: 'The `error.code` of the answer, when it was an error.' })),
  object_id: Nullable(Type.String({ description: 'The object the request acted on or created.' })),
  created_at: Type.String({ format: 'date-time' }),
}, {
  $id: 'TenantRequestLogEntry',
  description: 'One API request of the tenant: what it was and how it ended; never bodies, headers or tokens.',
  examples: [{
    object: 'request_log', id: '1042', request_id: 'req_01jq8x4m3c7kq2v9d8r6t5w4yz', client_id: 'cli_01jq8x4m3c7kq2v9d8r6t5w4yz', method: 'POST',
    route: '/v1/payments', status_code: 201, latency_ms: 42.5, error_code: null, object_id: 'pay_01jq8x4m3c7kq2v9d8r6t5w4yz', created_at: '2026-03-14T09:26:53.912Z',
  }],
});
export type TenantRequestLogEntry = Static<typeof TenantRequestLogEntrySchema>;

export const ListTenantRequestLogsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Number of entries to return (1–100).' }),
    starting_after: Type.Optional(RowId('Entry id: return entries logged before it (older).')),
    ending_before: Type.Optional(RowId('Entry id: return entries logged after it (newer). Follow the log by passing the newest id seen.')),
    status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: 'Only this HTTP status.' })),
    status_class: Type.Optional(Type.Union(['2xx', '3xx', '4xx', '5xx'].map((c) => Type.Literal(c)), { description: 'Only this class of status.' })),
    method: Type.Optional(Type.Union(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => Type.Literal(m)))),
    route: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Route template, e.g. /v1/payments/:id.' })),
    object_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Requests about this object (e.g. a payment id).' })),
    'created[gte]': Type.Optional(TimeFilterSchema),
  },
  { additionalProperties: false },
);
export type ListTenantRequestLogsQueryType = Static<typeof ListTenantRequestLogsQuery>;
