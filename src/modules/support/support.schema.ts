import { Type, type Static, type TProperties } from '@sinclair/typebox';
import { MAX_AMOUNT_MINOR } from '../../platform/money.js';
import { TimeFilterSchema } from '../events/index.js';
import { PAYMENT_METHODS, PAYMENT_STATUSES, PaymentSchema, REFUND_STATUSES, RefundSchema } from '../payments/index.js';
import { WebhookEndpointSchema } from '../webhooks/index.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
const Id = (prefix: string, description: string) => Type.String({ pattern: `^${prefix}_[0-9a-z]{26}$`, description });
const TenantFilter = Id('ten', 'Only this tenant. Without it the search runs across tenants and is audited (`support.search`).');

/** Cursor paging as the tenant API pages, with the support default of 20. */
const Page = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Number of objects to return (1–100).' }),
  starting_after: Type.Optional(Type.String({ maxLength: 64, description: 'Id: return objects created before it.' })),
  ending_before: Type.Optional(Type.String({ maxLength: 64, description: 'Id: return objects created after it.' })),
};
const Created = {
  'created[gte]': Type.Optional(TimeFilterSchema),
  'created[lte]': Type.Optional(TimeFilterSchema),
};
const query = <T extends TProperties>(properties: T) => Type.Object(properties, { additionalProperties: false });

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });

// ---- search ---------------------------------------------------------------------------------------------------

export const SearchQuery = query({
  q: Type.String({ minLength: 1, maxLength: 128, description: 'An id of any prefix, a request id, a processor reference, a customer_reference or a card last4.' }),
});
export const SearchHitSchema = Type.Object({
  type: Type.Union(['payment', 'refund', 'tenant', 'event', 'webhook_endpoint', 'webhook_delivery', 'request', 'client', 'staff_user'].map((t) => Type.Literal(t))),
  id: Type.String(),
  tenant_id: Nullable(Type.String()),
  summary: Type.String(),
  payment_id: Type.Optional(Type.String({ description: 'The payment to open for this hit.' })),
});
export type SearchHit = Static<typeof SearchHitSchema>;
export const SearchResultSchema = Type.Object({ object: Type.Literal('list'), data: Type.Array(SearchHitSchema), has_more: Type.Boolean() });

// ---- payments and refunds -----------------------------------------------------------------------------------------

const TenantFields = Type.Object({ tenant_id: Type.String(), tenant_name: Type.String() });
// The tenant API's resource, field for field (same mapper, same masking), plus whose it is.
export const SupportPaymentSchema = Type.Composite([PaymentSchema, TenantFields], { $id: 'SupportPayment' });
export type SupportPayment = Static<typeof SupportPaymentSchema>;
export const SupportRefundSchema = Type.Composite([RefundSchema, TenantFields], { $id: 'SupportRefund' });
export type SupportRefund = Static<typeof SupportRefundSchema>;

const Amount = Type.Integer({ minimum: 0, maximum: Number(MAX_AMOUNT_MINOR) });
export const ListPaymentsQuery = query({
  ...Page,
  tenant: Type.Optional(TenantFilter),
  status: Type.Optional(Type.Union(PAYMENT_STATUSES.map((s) => Type.Literal(s)))),
  method: Type.Optional(Type.Union(PAYMENT_METHODS.map((s) => Type.Literal(s)))),
  'amount[gte]': Type.Optional(Amount),
  'amount[lte]': Type.Optional(Amount),
  currency: Type.Optional(Type.String({ pattern: '^[a-zA-Z]{3}$' })),
  ...Created,
  customer_reference: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  card_last4: Type.Optional(Type.String({ pattern: '^[0-9]{4}$' })),
  processor_reference: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  request_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Payments (or their refunds) this API request touched.' })),
});
export type ListPaymentsFilter = Static<typeof ListPaymentsQuery>;

export const ListRefundsQuery = query({
  ...Page,
  tenant: Type.Optional(TenantFilter),
  status: Type.Optional(Type.Union(REFUND_STATUSES.map((s) => Type.Literal(s)))),
  payment: Type.Optional(Id('pay', 'Refunds of this payment.')),
  ...Created,
});
export type ListRefundsFilter = Static<typeof ListRefundsQuery>;

// ---- request log ------------------------------------------------------------------------------------------------

export const RequestLogEntrySchema = Type.Object({
  object: Type.Literal('api_request'),
  id: Type.String({ description: 'The row id (the cursor); request ids can repeat (clients may send X-Request-Id).' }),
  request_id: Type.String(),
  tenant_id: Nullable(Type.String()),
  client_id: Nullable(Type.String()),
  staff_id: Nullable(Type.String()),
  method: Type.String(),
  route: Type.String({ description: 'The route template, e.g. /v1/payments/:id.' }),
  status_code: Type.Integer(),
  latency_ms: Type.Number(),
  error_code: Nullable(Type.String()),
  object_id: Nullable(Type.String()),
  created_at: DateTime,
  logs_insights_url: Nullable(Type.String({ description: 'CloudWatch Logs Insights query for this request id (when LOGS_INSIGHTS_LOG_GROUP is set).' })),
});
export type RequestLogEntry = Static<typeof RequestLogEntrySchema>;

// 18 digits at most: every such number fits PostgreSQL's bigint, where a 19-digit one could overflow it (a 500).
const RowCursor = Type.String({ pattern: '^[0-9]{1,18}$', description: 'Row id: return entries logged before it.' });
export const ListRequestsQuery = query({
  limit: Page.limit,
  starting_after: Type.Optional(RowCursor),
  ending_before: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'Row id: return entries logged after it.' })),
  tenant: Type.Optional(TenantFilter),
  route: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Route template, e.g. /v1/payments/:id.' })),
  method: Type.Optional(Type.Union(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => Type.Literal(m)))),
  status_class: Type.Optional(Type.Union(['2xx', '3xx', '4xx', '5xx'].map((c) => Type.Literal(c)))),
  request_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  object_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  ...Created,
});
export type ListRequestsFilter = Static<typeof ListRequestsQuery>;

// ---- tenants ----------------------------------------------------------------------------------------------------

export const SupportTenantSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('tenant'),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  created_at: DateTime,
});
export const ListTenantsQuery = query({ ...Page });

const Volume = Type.Object({
  count: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  amount_by_currency: Type.Record(Type.String(), Type.Integer(), { description: 'Succeeded amount in minor units, per currency.' }),
});
export type VolumeResource = Static<typeof Volume>;
export const EndpointHealthSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')]),
  disabled_reason: Nullable(Type.String()),
  failing_since: Nullable(DateTime),
  pending_deliveries: Type.Integer(),
  oldest_pending_at: Nullable(DateTime),
  failed_deliveries_24h: Type.Integer(),
});
export const TenantOverviewSchema = Type.Object({
  object: Type.Literal('tenant_overview'),
  tenant: SupportTenantSchema,
  clients: Type.Array(Type.Object({
    client_id: Type.String(),
    name: Type.String(),
    scopes: Type.Array(Type.String()),
    status: Type.String(),
    created_at: DateTime,
    revoked_at: Nullable(DateTime),
  })),
  volume: Type.Object({ last_24h: Volume, last_7d: Volume }),
  recent_failures: Type.Array(SupportPaymentSchema),
  webhook_endpoints: Type.Array(EndpointHealthSchema),
});

// ---- webhook deliveries -----------------------------------------------------------------------------------------

const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]);
const deliveryFields = {
  id: Type.String(),
  object: Type.Literal('webhook_delivery'),
  tenant_id: Type.String(),
  endpoint_id: Type.String(),
  endpoint_url: Type.String(),
  event_id: Type.String(),
  event_type: Type.String(),
  status: DeliveryStatus,
  attempt_count: Type.Integer(),
  next_attempt_at: Nullable(DateTime),
  last_status_code: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  delivered_at: Nullable(DateTime),
  created_at: DateTime,
};
export const SupportDeliverySchema = Type.Object(deliveryFields);
export type SupportDelivery = Static<typeof SupportDeliverySchema>;
export const DeliveryAttemptSchema = Type.Object({
  id: Type.String(),
  attempted_at: DateTime,
  outcome: Type.Union([Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('endpoint_gone')]),
  status_code: Nullable(Type.Integer()),
  latency_ms: Type.Integer(),
  error: Nullable(Type.String()),
});
export const SupportDeliveryDetailSchema = Type.Object({ ...deliveryFields, attempts: Type.Array(DeliveryAttemptSchema) });
export type SupportDeliveryDetail = Static<typeof SupportDeliveryDetailSchema>;
export const ListDeliveriesQuery = query({
  ...Page,
  tenant: Type.Optional(TenantFilter),
  endpoint: Type.Optional(Id('we', 'Deliveries to this endpoint.')),
  status: Type.Optional(DeliveryStatus),
  event: Type.Optional(Id('evt', 'Deliveries of this event.')),
});
export type ListDeliveriesFilter = Static<typeof ListDeliveriesQuery>;

// ---- audit log --------------------------------------------------------------------------------------------------

export const AuditEntrySchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('audit_entry'),
  actor_type: Type.Union([Type.Literal('client'), Type.Literal('staff')]),
  actor_id: Type.String(),
  action: Type.String(),
  tenant_id: Nullable(Type.String()),
  target_id: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  before: Type.Unknown({ description: 'What the action changed, as it was (null for reads and creations).' }),
  after: Type.Unknown({ description: 'What the action changed, as it became.' }),
  details: Type.Record(Type.String(), Type.Unknown()),
  request_id: Nullable(Type.String()),
  created_at: DateTime,
});
export type AuditEntry = Static<typeof AuditEntrySchema>;
export const ListAuditQuery = query({
  ...Page,
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A client id or staff user id.' })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z_.]+$' })),
  tenant: Type.Optional(TenantFilter),
  target: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The object acted on.' })),
  ...Created,
});
export type ListAuditFilter = Static<typeof ListAuditQuery>;

// ---- timeline ---------------------------------------------------------------------------------------------------

export const TIMELINE_KINDS = ['transition', 'processor_attempt', 'refund', 'event', 'webhook_delivery', 'webhook_attempt', 'request', 'note', 'audit'] as const;
export const TimelineEntrySchema = Type.Object({
  at: DateTime,
  kind: Type.Union(TIMELINE_KINDS.map((k) => Type.Literal(k))),
  id: Type.String(),
  summary: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
});
export type TimelineEntry = Static<typeof TimelineEntrySchema>;
export const TimelineSchema = Type.Object({
  object: Type.Literal('payment_timeline'),
  payment: SupportPaymentSchema,
  entries: Type.Array(TimelineEntrySchema, { description: 'Everything that happened to the payment, oldest first.' }),
});

// ---- health -----------------------------------------------------------------------------------------------------

export const HealthSchema = Type.Object({
  object: Type.Literal('system_health'),
  environment: Type.String(),
  checked_at: DateTime,
  api: Type.Object({ ready: Type.Boolean(), version: Type.String() }),
  workers: Type.Object({
    ready: Type.Boolean({ description: 'A worker beat within the last 30 s.' }),
    instances: Type.Array(Type.Object({ worker_id: Type.String(), hostname: Type.String(), started_at: DateTime, last_beat_at: DateTime })),
  }),
  processor: Type.Object({
    name: Type.String(),
    circuit_state: Type.Union([Type.Literal('closed'), Type.Literal('half_open'), Type.Literal('open')]),
    attempts_15m: Type.Integer(),
    errors_15m: Type.Integer(),
    error_rate_15m: Type.Number(),
  }),
  stuck_payments: Type.Object({ count: Type.Integer(), oldest_created_at: Nullable(DateTime), sample: Type.Array(Type.String()) }),
  bank_transfers_waiting: Type.Object({ count: Type.Integer(), oldest_created_at: Nullable(DateTime) }),
  payments_needing_attention: Type.Object({ count: Type.Integer(), by_reason: Type.Record(Type.String(), Type.Integer()) }),
  webhooks: Type.Object({
    pending: Type.Integer(),
    oldest_pending_at: Nullable(DateTime),
    endpoints: Type.Array(Type.Object({
      id: Type.String(),
      tenant_id: Type.String(),
      url: Type.String(),
      status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')]),
      disabled_reason: Nullable(Type.String()),
      failing_since: Nullable(DateTime),
      pending: Type.Integer(),
      oldest_pending_at: Nullable(DateTime),
    })),
  }),
  migrations: Type.Object({ applied: Type.Integer(), expected: Type.Integer() }),
});
export type Health = Static<typeof HealthSchema>;

// ---- actions ----------------------------------------------------------------------------------------------------

const Reason = Type.String({ minLength: 5, maxLength: 1000, description: 'Why (5–1000 characters); written to the audit log.' });
export const ReasonBody = Type.Object({ reason: Reason }, { additionalProperties: false });
// A JSON body may carry unix seconds as a number as well as a string.
const ReplayTime = Type.Union([Type.Integer({ minimum: 0, maximum: 99_999_999_999 }), TimeFilterSchema]);
export const ReplayBody = Type.Object(
  {
    reason: Reason,
    created: Type.Object({ gte: ReplayTime, lte: ReplayTime }, { additionalProperties: false, description: 'The window of event creation times, both ends included.' }),
  },
  { additionalProperties: false },
);
export const ReplayResultSchema = Type.Object({ object: Type.Literal('webhook_replay'), endpoint_id: Type.String(), replayed: Type.Integer() });
export const SupportEndpointSchema = Type.Composite([WebhookEndpointSchema, Type.Object({ tenant_id: Type.String(), failing_since: Nullable(DateTime) })]);
export const ReconcileResultSchema = Type.Object({ payment: SupportPaymentSchema, attempts_scheduled: Type.Integer() });
export const NoteBody = Type.Object(
  { body: Type.String({ minLength: 1, maxLength: 5000, pattern: '\\S' }), reason: Type.Optional(Reason) },
  { additionalProperties: false },
);
export const NoteSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('support_note'),
  payment_id: Type.String(),
  tenant_id: Type.String(),
  author_type: Type.Union([Type.Literal('client'), Type.Literal('staff')]),
  author_id: Type.String(),
  body: Type.String(),
  created_at: DateTime,
});
export type Note = Static<typeof NoteSchema>;
