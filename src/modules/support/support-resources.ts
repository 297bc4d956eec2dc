import type { Config } from '../../platform/config.js';
import { toPaymentResource, toRefundResource, type PaymentRow, type RefundRow } from '../payments/index.js';
import type { ApiRequestRow } from './request-log.repository.js';
import type { DeliveryAttemptRow } from '../webhooks/index.js';
import type { AuditRow, DeliveryRow, NoteRow, WithTenantName } from './support.repository.js';
import type { AuditEntry, Note, RequestLogEntry, SupportDelivery, SupportPayment, SupportRefund } from './support.schema.js';

// Support's mappers. Payments and refunds go through the tenant API's own mappers, so support sees exactly the
// masked resource the tenant sees, plus whose it is.

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function toSupportPayment(row: WithTenantName<PaymentRow>): SupportPayment {
  const { tenant_name: tenantName, ...payment } = row;
  return { ...toPaymentResource(payment), tenant_id: row.tenant_id, tenant_name: tenantName };
}

export function toSupportRefund(row: WithTenantName<RefundRow>): SupportRefund {
  const { tenant_name: tenantName, ...refund } = row;
  return { ...toRefundResource(refund), tenant_id: row.tenant_id, tenant_name: tenantName };
}

export type LogsConfig = Pick<Config, 'logsInsightsLogGroup' | 'awsRegion'>;

const LOGS_WINDOW_MS = 5 * 60 * 1000;

// The console's Logs Insights deep link: the query detail is JSURL-like (~ separators, ' before strings), its
// values percent-encoded with * for %, and the whole fragment percent-encoded with $ for %.
function jsurlValue(s: string): string {
  return encodeURIComponent(s).replace(/[~*'()!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%/g, '*');
}

/** A CloudWatch Logs Insights console link querying the log group for this request id, around its time. */
export function logsInsightsUrl(config: LogsConfig, requestId: string, at: Date): string | null {
  const { logsInsightsLogGroup: group, awsRegion: region } = config;
  if (!group || !region) return null;
  const query = `fields @timestamp, @message\n| filter request_id = "${requestId.replace(/["\\]/g, '')}"\n| sort @timestamp asc`;
  const start = new Date(at.getTime() - LOGS_WINDOW_MS).toISOString();
  const end = new Date(at.getTime() + LOGS_WINDOW_MS).toISOString();
  const detail = `~(end~'${jsurlValue(end)}~start~'${jsurlValue(start)}~timeType~'ABSOLUTE~tz~'UTC~editorString~'${jsurlValue(query)}~source~(~'${jsurlValue(group)}))`;
  const fragment = encodeURIComponent(`?queryDetail=${detail}`).replace(/%/g, '$');
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:logs-insights${fragment}`;
}

/** What a request log entry says to anyone allowed to read it, the tenant itself included. */
export function requestLogFields(row: ApiRequestRow) {
  return {
    id: row.id.toString(),
    request_id: row.request_id,
    client_id: row.client_id,
    method: row.method,
    route: row.route,
    status_code: row.status_code,
    latency_ms: row.latency_ms,
    error_code: row.error_code,
    object_id: row.object_id,
    created_at: row.created_at.toISOString(),
  };
}

/** The support view of an entry: the tenant's fields, plus who (tenant, staff) and where its logs are. */
export function toRequestEntry(row: ApiRequestRow, config: LogsConfig): RequestLogEntry {
  return {
    object: 'api_request',
    ...requestLogFields(row),
    tenant_id: row.tenant_id,
    staff_id: row.staff_id,
    logs_insights_url: logsInsightsUrl(config, row.request_id, row.created_at),
  };
}

export function toSupportDelivery(row: DeliveryRow): SupportDelivery {
  return {
    id: row.id,
    object: 'webhook_delivery',
    tenant_id: row.tenant_id,
    endpoint_id: row.endpoint_id,
    endpoint_url: row.endpoint_url,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempt_count: row.attempt_count,
    next_attempt_at: iso(row.next_attempt_at),
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    delivered_at: iso(row.delivered_at),
    created_at: row.created_at.toISOString(),
  };
}

/** A delivery attempt without the receiver's response body: support needs the outcome, not the tenant's data. */
export function toDeliveryAttempt(a: DeliveryAttemptRow) {
  return { id: a.id, attempted_at: a.attempted_at.toISOString(), outcome: a.outcome, status_code: a.status_code, latency_ms: a.latency_ms, error: a.error };
}

export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    object: 'audit_entry',
    actor_type: row.actor_type,
    actor_id: row.actor_id,
    action: row.action,
    tenant_id: row.tenant_id,
    target_id: row.target_id,
    reason: row.reason,
    before: row.before ?? null,
    after: row.after ?? null,
    details: row.details,
    request_id: row.request_id,
    created_at: row.created_at.toISOString(),
  };
}

export function toNote(row: NoteRow): Note {
  return {
    id: row.id,
    object: 'support_note',
    payment_id: row.payment_id,
    tenant_id: row.tenant_id,
    author_type: row.author_type,
    author_id: row.author_id,
    body: row.body,
    created_at: row.created_at.toISOString(),
  };
}
