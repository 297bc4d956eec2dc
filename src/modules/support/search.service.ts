import { withCrossTenantTx, type Tx } from '../../platform/db.js';
import { ID_PREFIXES, isId, type IdKind } from '../../platform/ids.js';
import type { PaymentRow, RefundRow } from '../payments/index.js';
import * as repo from './search.repository.js';
import { auditSearch, type Caller, type ReadDeps } from './support.service.js';
import type { SearchHit } from './support.schema.js';

// The one search box: an id of any prefix goes straight to its object; anything else is tried as a request id,
// a client id, a processor reference, a customer reference and (four digits) a card's last4.

const money = (amount: bigint, currency: string): string => `${Number(amount)} ${currency.toUpperCase()}`;

function paymentHit(p: PaymentRow): SearchHit {
  const method = p.method === 'card' ? `${p.card_brand ?? 'card'} ••••${p.card_last4 ?? ''}` : `bank ••••${p.bank_account_last4 ?? ''}`;
  return { type: 'payment', id: p.id, tenant_id: p.tenant_id, summary: `${money(p.amount, p.currency)} ${p.status}, ${method}, ${p.created_at.toISOString()}`, payment_id: p.id };
}

function refundHit(r: RefundRow): SearchHit {
  return { type: 'refund', id: r.id, tenant_id: r.tenant_id, summary: `Refund of ${money(r.amount, r.currency)} ${r.status} on ${r.payment_id}`, payment_id: r.payment_id };
}

const prefixOf = (q: string): IdKind | undefined =>
  (Object.keys(ID_PREFIXES) as IdKind[]).find((kind) => kind !== 'request' && isId(kind, q));

async function byId(tx: Tx, kind: IdKind, id: string): Promise<SearchHit[]> {
  switch (kind) {
    case 'payment': {
      const p = await repo.paymentById(tx, id);
      return p ? [paymentHit(p)] : [];
    }
    case 'refund': {
      const r = await repo.refundById(tx, id);
      return r ? [refundHit(r)] : [];
    }
    case 'tenant': {
      const t = await repo.tenantById(tx, id);
      return t ? [{ type: 'tenant', id: t.id, tenant_id: t.id, summary: `${t.name} (${t.status})` }] : [];
    }
    case 'event': {
      const e = await repo.eventById(tx, id);
      if (!e) return [];
      const paymentId = await paymentOfObject(tx, e.object_id);
      return [{ type: 'event', id: e.id, tenant_id: e.tenant_id, summary: `${e.type} about ${e.object_id}, ${e.created_at.toISOString()}`, ...(paymentId ? { payment_id: paymentId } : {}) }];
    }
    case 'webhookEndpoint': {
      const e = await repo.endpointById(tx, id);
      return e ? [{ type: 'webhook_endpoint', id: e.id, tenant_id: e.tenant_id, summary: `${e.url} (${e.status}${e.disabled_reason ? `: ${e.disabled_reason}` : ''})` }] : [];
    }
    case 'webhookDelivery': {
      const d = await repo.deliveryById(tx, id);
      if (!d) return [];
      const paymentId = await paymentOfObject(tx, d.object_id);
      return [{
        type: 'webhook_delivery', id: d.id, tenant_id: d.tenant_id,
        summary: `${d.event_type} to ${d.endpoint_id}: ${d.status} after ${d.attempt_count} attempt(s)`,
        ...(paymentId ? { payment_id: paymentId } : {}),
      }];
    }
    case 'attempt': {
      const a = await repo.attemptById(tx, id);
      return a ? [{ type: 'payment', id: a.payment_id, tenant_id: a.tenant_id, summary: `Processor attempt ${a.id}: ${a.operation} ${a.status}`, payment_id: a.payment_id }] : [];
    }
    case 'client': {
      const c = await repo.clientById(tx, id);
      return c ? [clientHit(c)] : [];
    }
    case 'staffUser': {
      const s = await repo.staffById(tx, id);
      return s ? [{ type: 'staff_user', id: s.id, tenant_id: null, summary: `${s.display_name} <${s.email}> (${s.role}, ${s.status})` }] : [];
    }
    default:
      return [];
  }
}

function clientHit(c: { id: string; tenant_id: string | null; name: string; status: string; scopes: string[] }): SearchHit {
  return { type: 'client', id: c.id, tenant_id: c.tenant_id, summary: `API client "${c.name}" (${c.status}; ${c.scopes.join(' ')})` };
}

/** The payment an event or delivery is about (directly, or through a refund). */
async function paymentOfObject(tx: Tx, objectId: string): Promise<string | undefined> {
  if (isId('payment', objectId)) return objectId;
  if (isId('refund', objectId)) return (await repo.refundById(tx, objectId))?.payment_id;
  return undefined;
}

async function byText(tx: Tx, q: string): Promise<SearchHit[]> {
  const hits: SearchHit[] = [];
  for (const r of await repo.requestsByRequestId(tx, q)) {
    const paymentId = r.object_id ? await paymentOfObject(tx, r.object_id) : undefined;
    hits.push({
      type: 'request', id: r.request_id, tenant_id: r.tenant_id,
      summary: `${r.method} ${r.route} → ${r.status_code}${r.error_code ? ` ${r.error_code}` : ''} (${r.latency_ms} ms), ${r.created_at.toISOString()}`,
      ...(paymentId ? { payment_id: paymentId } : {}),
    });
  }
  const client = await repo.clientById(tx, q);
  if (client) hits.push(clientHit(client));
  for (const p of await repo.paymentsByReference(tx, 'processor_reference', q)) hits.push(paymentHit(p));
  for (const r of await repo.refundsByProcessorReference(tx, q)) hits.push(refundHit(r));
  for (const p of await repo.paymentsByReference(tx, 'customer_reference', q)) hits.push(paymentHit(p));
  if (/^[0-9]{4}$/.test(q)) for (const p of await repo.paymentsByReference(tx, 'card_last4', q)) hits.push(paymentHit(p));
  return hits;
}

export async function search(deps: ReadDeps, caller: Caller, q: string) {
  const query = q.trim();
  const data = await withCrossTenantTx(deps.db, async (tx) => {
    const kind = prefixOf(query);
    const hits = [...(kind ? await byId(tx, kind, query) : []), ...(await byText(tx, query))];
    await auditSearch(tx, caller, 'search', { q: query });
    const seen = new Set<string>();
    return hits.filter((h) => !seen.has(`${h.type}:${h.id}`) && seen.add(`${h.type}:${h.id}`)).slice(0, 50);
  });
  return { object: 'list' as const, data, has_more: false };
}
