// Display helpers. Money arrives as integer minor units; currencies with no minor unit are the exception.

const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);

export function money(amount: number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined) return '—';
  const cur = (currency ?? '').toLowerCase();
  const digits = ZERO_DECIMAL.has(cur) ? 0 : 2;
  const value = amount / 10 ** digits;
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: cur.toUpperCase(), minimumFractionDigits: digits }).format(value);
  } catch {
    return `${value.toFixed(digits)} ${cur.toUpperCase()}`;
  }
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // UTC on purpose: support staff in several time zones quote the same time to each other and to the logs.
  return `${d.toISOString().replace('T', ' ').slice(0, 23)} UTC`;
}

export function statusColor(status: string): string {
  switch (status) {
    case 'succeeded': case 'delivered': case 'settled': case 'enabled': case 'closed': case 'ok': case 'active':
      return 'green';
    case 'failed': case 'returned': case 'disabled': case 'open': case 'reversed': case 'revoked':
      return 'red';
    case 'processing': case 'pending': case 'half_open': case 'requires_capture': case 'submitted': case 'failing':
      return 'yellow';
    default:
      return 'gray';
  }
}

export function statusClassColor(code: number): string {
  if (code >= 500) return 'red';
  if (code >= 400) return 'orange';
  if (code >= 300) return 'blue';
  return 'green';
}

/** `2026-12-01` or `2026-12-01T10:00` from a date input → Unix seconds (the API's `created[…]` filters), UTC. */
export function toUnixSeconds(value: string | null, endOfDay = false): string | undefined {
  if (!value) return undefined;
  const isDateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const iso = isDateOnly ? `${value}T${endOfDay ? '23:59:59' : '00:00:00'}Z` : /Z|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : String(Math.floor(ms / 1000));
}

export function paymentMethodLabel(p: { payment_method: { type: string; card?: { brand: string; last4: string }; bank_account?: { last4: string } } }): string {
  if (p.payment_method.card) return `${p.payment_method.card.brand} •••• ${p.payment_method.card.last4}`;
  if (p.payment_method.bank_account) return `bank •••• ${p.payment_method.bank_account.last4}`;
  return p.payment_method.type;
}
