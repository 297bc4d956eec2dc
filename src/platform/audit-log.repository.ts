import type { Tx } from './db.js';
import { newId } from './ids.js';

/**
 * One entry of the audit log: who acted (an API client or a staff member), on what, why, and what changed. Written
 * in the transaction of the change it records, so the entry exists exactly when the change committed. The table is
 * append-only for the application role (migration 0007).
 */
export interface AuditEntry {
  actor: { readonly type: 'client' | 'staff'; readonly id: string };
  action: string;
  tenantId?: string | null;
  targetId?: string | null;
  reason?: string | null;
  details?: Record<string, unknown>;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
  /** when it happened; the database's clock unless the caller runs on an injected one */
  at?: Date;
}

// Money columns are bigint in code; JSON has no bigint.
const json = (v: unknown): string | null =>
  v === undefined || v === null ? null : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));

export async function recordAudit(tx: Tx, entry: AuditEntry): Promise<void> {
  await tx
    .insertInto('audit_log')
    .values({
      id: newId('audit', entry.at?.getTime()),
      actor_type: entry.actor.type,
      actor_id: entry.actor.id,
      tenant_id: entry.tenantId ?? null,
      action: entry.action,
      target_id: entry.targetId ?? null,
      reason: entry.reason ?? null,
      details: json(entry.details) ?? '{}',
      before: json(entry.before),
      after: json(entry.after),
      request_id: entry.requestId ?? null,
      ...(entry.at ? { created_at: entry.at } : {}),
    })
    .execute();
}
