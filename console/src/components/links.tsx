import { Anchor, Code } from '@mantine/core';
import { Link } from 'react-router';
import type { SearchHit } from '../types';

export function Mono({ children }: { children: string | null | undefined }) {
  return <Code style={{ whiteSpace: 'nowrap' }}>{children ?? '—'}</Code>;
}

export function PaymentLink({ id }: { id: string }) {
  return <Anchor component={Link} to={`/payments/${encodeURIComponent(id)}`} ff="monospace" size="sm">{id}</Anchor>;
}

export function TenantLink({ id, name }: { id: string | null | undefined; name?: string | null | undefined }) {
  if (!id) return <>—</>;
  return <Anchor component={Link} to={`/tenants/${encodeURIComponent(id)}`} size="sm">{name ?? id}</Anchor>;
}

/** Where an object id (an audit target, a request's object) opens in the console. */
export function objectPath(id: string): string {
  if (id.startsWith('pay_')) return `/payments/${encodeURIComponent(id)}`;
  if (id.startsWith('whd_')) return `/webhooks/deliveries/${encodeURIComponent(id)}`;
  if (id.startsWith('we_')) return `/webhooks?endpoint=${encodeURIComponent(id)}`;
  if (id.startsWith('ten_')) return `/tenants/${encodeURIComponent(id)}`;
  return `/search?q=${encodeURIComponent(id)}`;
}

/** Where a search hit opens in the console. */
export function hitTarget(hit: SearchHit): string {
  const q = (k: string, v: string) => `${k}=${encodeURIComponent(v)}`;
  if (hit.payment_id && hit.type !== 'request') return `/payments/${encodeURIComponent(hit.payment_id)}`;
  switch (hit.type) {
    case 'payment': return `/payments/${encodeURIComponent(hit.id)}`;
    case 'tenant': return `/tenants/${encodeURIComponent(hit.id)}`;
    case 'client': return hit.tenant_id ? `/tenants/${encodeURIComponent(hit.tenant_id)}` : `/audit?${q('actor', hit.id)}`;
    case 'webhook_endpoint': return `/webhooks?${q('endpoint', hit.id)}${hit.tenant_id ? `&${q('tenant', hit.tenant_id)}` : ''}`;
    case 'webhook_delivery': return `/webhooks/deliveries/${encodeURIComponent(hit.id)}`;
    case 'request': return `/requests?${q('request_id', hit.id)}`;
    case 'staff_user': case 'staff': return `/audit?${q('actor', hit.id)}`;
    case 'event': return `/webhooks?${q('event', hit.id)}`;
    default: return hit.tenant_id ? `/tenants/${encodeURIComponent(hit.tenant_id)}` : '/search';
  }
}
