// Resource shapes the console reads, as the support API contract defines them (src/modules/support/*.schema.ts
// is the source of truth; fields the console does not use are left out).

export interface SupportPayment {
  id: string;
  object: 'payment';
  status: string;
  amount: number;
  currency: string;
  capture_method?: string;
  amount_captured?: number;
  amount_refunded?: number;
  payment_method: {
    type: 'card' | 'bank_transfer';
    card?: { brand: string; last4: string; exp_month: number; exp_year: number; fingerprint?: string };
    bank_account?: { account_holder_name: string; routing_number: string; last4: string; account_type: string };
  };
  description?: string | null;
  customer_reference?: string | null;
  failure_code?: string | null;
  failure_message?: string | null;
  metadata?: Record<string, string>;
  bank_transfer?: { rail_status: string; expected_settlement_at: string | null } | null;
  created_at: string;
  updated_at?: string;
  tenant_id: string;
  tenant_name?: string;
}

export type TimelineKind =
  | 'transition' | 'processor_attempt' | 'refund' | 'event' | 'webhook_delivery' | 'webhook_attempt' | 'request' | 'note' | 'audit';

export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  id: string;
  summary: string;
  data: Record<string, unknown>;
}

export interface PaymentTimeline {
  object: 'payment_timeline';
  payment: SupportPayment;
  entries: TimelineEntry[];
}

export interface SearchHit {
  type: 'payment' | 'refund' | 'tenant' | 'event' | 'webhook_endpoint' | 'webhook_delivery' | 'request' | 'client' | 'staff_user' | string;
  id: string;
  tenant_id: string | null;
  summary: string;
  payment_id?: string | null;
}

export interface RequestLogEntry {
  object: 'api_request';
  id: string;
  request_id: string;
  tenant_id: string | null;
  client_id: string | null;
  staff_id: string | null;
  method: string;
  route: string;
  status_code: number;
  latency_ms: number;
  error_code: string | null;
  object_id: string | null;
  created_at: string;
  logs_insights_url: string | null;
}

export interface TenantSummary {
  id: string;
  name: string;
  status: string;
  created_at: string;
}

export interface VolumeWindow {
  count: number;
  succeeded: number;
  failed: number;
  amount_by_currency: Record<string, number>;
}

export interface EndpointHealth {
  id: string;
  url: string;
  status: string;
  disabled_reason?: string | null;
  failing_since?: string | null;
  pending_deliveries?: number;
  oldest_pending_at?: string | null;
  failed_deliveries_24h?: number;
}

export interface TenantOverview {
  object: 'tenant_overview';
  tenant: TenantSummary;
  clients: Array<{ client_id: string; name: string; scopes: string[]; status: string; created_at: string; revoked_at: string | null }>;
  volume: { last_24h: VolumeWindow; last_7d: VolumeWindow };
  recent_failures: SupportPayment[];
  webhook_endpoints: EndpointHealth[];
}

export interface DeliveryAttempt {
  id: string;
  attempted_at: string;
  outcome: string;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  endpoint_url: string;
  event_id: string;
  event_type: string;
  status: 'pending' | 'succeeded' | 'failed' | string;
  attempt_count: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
  attempts?: DeliveryAttempt[];
}

export interface SystemHealth {
  object: 'system_health';
  environment: string;
  checked_at: string;
  api: { ready: boolean; version: string };
  workers: { ready: boolean; instances: Array<{ worker_id: string; hostname: string; started_at: string; last_beat_at: string }> };
  processor: { name: string; circuit_state: string; attempts_15m: number; errors_15m: number; error_rate_15m: number };
  stuck_payments: { count: number; oldest_created_at: string | null; sample: string[] };
  bank_transfers_waiting: { count: number; oldest_created_at: string | null };
  payments_needing_attention?: { count: number };
  webhooks: {
    pending: number;
    oldest_pending_at: string | null;
    endpoints: Array<{ id: string; tenant_id: string; url: string; status: string; failing_since: string | null; pending: number; oldest_pending_at: string | null }>;
  };
  migrations: { applied: number; expected: number };
}

export interface AuditEntry {
  id: string;
  actor_type: string;
  actor_id: string;
  action: string;
  tenant_id: string | null;
  target_id: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
  details: unknown;
  request_id: string | null;
  created_at: string;
}
