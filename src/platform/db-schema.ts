import type { ColumnType, Generated } from 'kysely';
import type { StaffRole } from './http/scopes.js';

/**
 * TypeScript mirror of migrations/*.sql: the one Kysely database type. `bigint` columns are parsed to BigInt
 * (see db.ts), timestamps to Date. Keep this in step with the migrations.
 */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Money = ColumnType<bigint, bigint | number | string, bigint | number | string>;
type MoneyDefault = ColumnType<bigint, bigint | number | string | undefined, bigint | number | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
}

export interface TenantsTable {
  id: string;
  name: string;
  status: Generated<'active' | 'suspended'>;
  created_at: Timestamp;
}

export type AuditActorType = 'client' | 'staff';

export interface AuditLogTable {
  id: string;
  actor_type: AuditActorType;
  /** an API client id or a staff user id (`stf_…`), as actor_type says */
  actor_id: string;
  tenant_id: string | null;
  action: string;
  target_id: string | null;
  reason: string | null;
  details: Json<Record<string, unknown>>;
  request_id: string | null;
  before: ColumnType<unknown, string | null | undefined, string | null>;
  after: ColumnType<unknown, string | null | undefined, string | null>;
  created_at: Timestamp;
}

export interface StaffUsersTable {
  id: string;
  email: string;
  display_name: string;
  role: StaffRole;
  status: Generated<'active' | 'disabled'>;
  password_hash: string | null;
  totp_secret_enc: string | null;
  totp_last_step: ColumnType<bigint | null, bigint | number | null | undefined, bigint | number | null>;
  oidc_issuer: string | null;
  oidc_subject: string | null;
  failed_logins: Generated<number>;
  locked_until: NullableTimestamp;
  created_at: Timestamp;
  last_login_at: NullableTimestamp;
}

export interface StaffSessionsTable {
  id: string;
  token_hash: string;
  staff_id: string;
  auth_method: 'password' | 'oidc';
  created_at: Timestamp;
  last_seen_at: Timestamp;
  idle_expires_at: Timestamp;
  absolute_expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  source_ip: string | null;
  user_agent: string | null;
}

export interface StaffOidcFlowsTable {
  state_hash: string;
  code_verifier: string;
  nonce: string;
  return_to: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface ApiRequestsTable {
  id: Generated<bigint>;
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
  created_at: Timestamp;
}

export interface SupportNotesTable {
  id: string;
  tenant_id: string;
  payment_id: string;
  author_type: AuditActorType;
  author_id: string;
  body: string;
  created_at: Timestamp;
}

export interface WorkerHeartbeatsTable {
  worker_id: string;
  hostname: string;
  started_at: Timestamp;
  last_beat_at: Timestamp;
}

export interface ApiClientsTable {
  id: string;
  tenant_id: string | null;
  name: string;
  secret_hash: string;
  scopes: string[];
  status: Generated<'active' | 'revoked'>;
  created_at: Timestamp;
  secret_rotated_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export type SigningKeyStatus = 'next' | 'active' | 'retiring' | 'retired';
export interface SigningKeysTable {
  kid: string;
  alg: 'ES256' | 'EdDSA';
  public_jwk: Json<Record<string, unknown>>;
  private_key_enc: string;
  status: SigningKeyStatus;
  created_at: Timestamp;
  activate_after: NullableTimestamp;
  activated_at: NullableTimestamp;
  retiring_at: NullableTimestamp;
  retire_after: NullableTimestamp;
  retired_at: NullableTimestamp;
}

export interface ClientAuthFailuresTable {
  client_id: string;
  source: string;
  failures: number;
  window_start: Timestamp;
  locked_until: NullableTimestamp;
}

/** Failed client authentications per client address, across client ids (0008). */
export interface ClientAuthSourceFailuresTable {
  source: string;
  failures: number;
  window_start: Timestamp;
  locked_until: NullableTimestamp;
}

// The status domains below are the CHECK constraints of migrations/0003_payments.sql, declared once here (platform
// may not import a module, and the table types need them); the state machines in src/modules/payments build on these
// lists, and test/properties/transition-table.test.ts checks them against the database catalog.
export const PAYMENT_METHODS = Object.freeze(['card', 'bank_transfer'] as const);
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export const PAYMENT_STATUSES = Object.freeze([
  'processing',
  'requires_capture',
  'succeeded',
  'failed',
  'canceled',
  'reversed',
] as const);
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
export const BANK_RAIL_STATUSES = Object.freeze(['pending', 'submitted', 'settled', 'returned', 'canceled'] as const);
export type BankRailStatus = (typeof BANK_RAIL_STATUSES)[number];
export const REFUND_STATUSES = Object.freeze(['pending', 'succeeded', 'failed'] as const);
export type RefundStatus = (typeof REFUND_STATUSES)[number];
/** Why a payment needs an operator: the closed set of the CHECK on payments.attention_reason (0006). */
export const PAYMENT_ATTENTION_REASONS = ['processor_lost_debit'] as const;
export type PaymentAttentionReason = (typeof PAYMENT_ATTENTION_REASONS)[number];

export interface PaymentsTable {
  id: string;
  tenant_id: string;
  method: PaymentMethod;
  status: PaymentStatus;
  amount: Money;
  currency: string;
  capture_method: 'automatic' | 'manual';
  amount_capturable: MoneyDefault;
  amount_captured: MoneyDefault;
  amount_refunded: MoneyDefault;
  amount_reversed: MoneyDefault;
  description: string | null;
  metadata: Json<Record<string, string>>;
  customer_reference: string | null;
  card_brand: string | null;
  card_last4: string | null;
  card_exp_month: number | null;
  card_exp_year: number | null;
  card_fingerprint: string | null;
  bank_account_holder: string | null;
  bank_routing_number: string | null;
  bank_account_last4: string | null;
  bank_account_type: 'checking' | 'savings' | null;
  bank_fingerprint: string | null;
  bank_account_number_enc: string | null;
  rail_status: BankRailStatus | null;
  rail_reference: string | null;
  return_code: string | null;
  return_reason: string | null;
  submitted_at: NullableTimestamp;
  settled_at: NullableTimestamp;
  returned_at: NullableTimestamp;
  expected_settlement_at: NullableTimestamp;
  rail_next_poll_at: NullableTimestamp;
  rail_poll_backoff_step: Generated<number>;
  attention_reason: PaymentAttentionReason | null;
  attention_since: NullableTimestamp;
  processor_reference: string | null;
  failure_code: string | null;
  failure_message: string | null;
  idempotency_key: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RefundsTable {
  id: string;
  tenant_id: string;
  payment_id: string;
  amount: Money;
  currency: string;
  status: RefundStatus;
  reason: 'duplicate' | 'fraudulent' | 'requested_by_customer' | null;
  processor_reference: string | null;
  failure_code: string | null;
  failure_message: string | null;
  idempotency_key: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type AttemptOperation = 'authorize' | 'capture' | 'void' | 'refund' | 'bank_debit' | 'bank_credit';
export type AttemptStatus = 'pending' | 'succeeded' | 'failed' | 'unknown';
export interface PaymentAttemptsTable {
  id: string;
  tenant_id: string;
  payment_id: string;
  refund_id: string | null;
  operation: AttemptOperation;
  amount: Money;
  status: AttemptStatus;
  processor_reference: string | null;
  failure_code: string | null;
  failure_message: string | null;
  latency_ms: number | null;
  reconcile_count: Generated<number>;
  next_reconcile_at: NullableTimestamp;
  created_at: Timestamp;
  completed_at: NullableTimestamp;
}

export interface PaymentTransitionsTable {
  id: string;
  tenant_id: string;
  payment_id: string;
  from_status: PaymentStatus | null;
  to_status: PaymentStatus;
  rail_status: BankRailStatus | null;
  reason: string;
  created_at: Timestamp;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  state: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: Json<unknown> | null;
  locked_until: NullableTimestamp;
  created_at: Timestamp;
  completed_at: NullableTimestamp;
}

export interface ProcessorNotificationsTable {
  processor: string;
  id: string;
  type: string;
  payload: Json<Record<string, unknown>>;
  received_at: Timestamp;
}

export interface EventsTable {
  id: string;
  tenant_id: string;
  type: string;
  object_type: string;
  object_id: string;
  data: Json<Record<string, unknown>>;
  created_at: Timestamp;
  // xact_id (xid8, migration 0012) is left out on purpose: only the event feed's SQL reads it, and rows built in
  // code (the delivery worker's) have none.
}

export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  enabled_events: string[];
  status: Generated<'enabled' | 'disabled'>;
  disabled_reason: string | null;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_expires_at: NullableTimestamp;
  failing_since: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';
export interface WebhookDeliveriesTable {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_id: string;
  status: DeliveryStatus;
  attempt_count: Generated<number>;
  next_attempt_at: NullableTimestamp;
  locked_until: NullableTimestamp;
  last_attempt_at: NullableTimestamp;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface WebhookDeliveryAttemptsTable {
  id: string;
  tenant_id: string;
  delivery_id: string;
  attempted_at: Timestamp;
  outcome: 'delivered' | 'failed' | 'endpoint_gone';
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_body: string | null;
}

export interface Database {
  schema_migrations: SchemaMigrationsTable;
  tenants: TenantsTable;
  audit_log: AuditLogTable;
  api_clients: ApiClientsTable;
  signing_keys: SigningKeysTable;
  client_auth_failures: ClientAuthFailuresTable;
  client_auth_source_failures: ClientAuthSourceFailuresTable;
  payments: PaymentsTable;
  refunds: RefundsTable;
  payment_attempts: PaymentAttemptsTable;
  payment_transitions: PaymentTransitionsTable;
  idempotency_keys: IdempotencyKeysTable;
  processor_notifications: ProcessorNotificationsTable;
  events: EventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  staff_users: StaffUsersTable;
  staff_sessions: StaffSessionsTable;
  staff_oidc_flows: StaffOidcFlowsTable;
  api_requests: ApiRequestsTable;
  support_notes: SupportNotesTable;
  worker_heartbeats: WorkerHeartbeatsTable;
}
