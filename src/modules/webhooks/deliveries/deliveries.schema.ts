import { Type, type Static } from '@sinclair/typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]);

export const DeliveryAttemptSchema = Type.Object({
  attempted_at: DateTime,
  outcome: Type.Union([Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('endpoint_gone')]),
  status_code: Nullable(Type.Integer()),
  latency_ms: Type.Integer(),
  error: Nullable(Type.String({ description: 'timeout, connection_refused, redirect_not_followed, tls_error, ssrf_blocked: …' })),
  response_body: Nullable(Type.String({ description: 'The first 4 KiB of the response body.' })),
});

export const WebhookDeliverySchema = Type.Object({
  id: Type.String({ examples: ['whd_01jq8x4m3c0000000000000000'] }),
  object: Type.Literal('webhook_delivery'),
  endpoint_id: Type.String(),
  event_id: Type.String({ description: 'Also the webhook-id header of every attempt.' }),
  event_type: Type.String(),
  status: DeliveryStatus,
  attempt_count: Type.Integer(),
  next_attempt_at: Nullable(DateTime),
  delivered_at: Nullable(DateTime),
  created_at: DateTime,
  attempts: Type.Array(DeliveryAttemptSchema),
});
export type WebhookDeliveryResource = Static<typeof WebhookDeliverySchema>;

export const ListDeliveriesQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Number of objects to return (1–100).' }),
    starting_after: Type.Optional(Type.String({ maxLength: 64 })),
    ending_before: Type.Optional(Type.String({ maxLength: 64 })),
    status: Type.Optional(DeliveryStatus),
  },
  { additionalProperties: false },
);
export type ListDeliveriesQueryType = Static<typeof ListDeliveriesQuery>;

export const DeliveryIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
