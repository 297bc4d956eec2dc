import { useEffect, useState } from 'react';
import { Anchor, Badge, Button, Group, NativeSelect, Paper, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { Link, useNavigate } from 'react-router';
import type { ListResponse } from '../api';
import type { SearchHit, SupportPayment } from '../types';
import { useApi, useFilterDraft, useUrlFilters } from '../hooks';
import { dateTime, money, paymentMethodLabel, statusColor, toUnixSeconds } from '../format';
import { EmptyRow, ErrorAlert, FilterActions, ListStates, LoadingBlock } from '../components/states';
import { hitTarget, PaymentLink, TenantLink } from '../components/links';
import { Pager } from '../components/pager';

const FILTERS = ['status', 'method', 'tenant', 'amount_gte', 'amount_lte', 'currency', 'created_gte', 'created_lte', 'customer_reference', 'card_last4'] as const;
const STATUSES = ['', 'processing', 'requires_capture', 'succeeded', 'failed', 'canceled', 'reversed'];
const METHODS = ['', 'card', 'bank_transfer'];

function SearchBox() {
  const { values, set } = useUrlFilters(['q'] as const);
  const [text, setText] = useState(values.q);
  const navigate = useNavigate();
  useEffect(() => setText(values.q), [values.q]);
  const q = values.q.trim();
  const result = useApi<ListResponse<SearchHit>>(q ? '/v1/support/search' : null, { q });
  const hits = result.data?.data;
  // One payment: open it straight away (replacing the search in history, so Back does not bounce here again).
  useEffect(() => {
    const [only] = hits ?? [];
    if (hits?.length === 1 && only?.type === 'payment') void navigate(`/payments/${encodeURIComponent(only.id)}`, { replace: true });
  }, [hits, navigate]);

  return (
    <Paper withBorder p="md">
      <form role="search" onSubmit={(e) => { e.preventDefault(); set({ q: text.trim() }, { keepCursor: true }); }}>
        <Group align="flex-end" wrap="nowrap">
          <TextInput
            style={{ flex: 1 }}
            label="Search"
            description="Any id (pay_, re_, ten_, evt_, we_, whd_, att_, stf_, client id), a request id, a processor reference, a customer reference or card last4"
            placeholder="pay_… or req_…"
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            autoFocus
          />
          <Button type="submit">Search</Button>
        </Group>
      </form>
      {q && (
        <Stack mt="md" gap="xs" aria-label="Search results">
          {result.loading && <LoadingBlock label="Searching…" rows={2} />}
          {result.error && <ErrorAlert error={result.error} title="Search failed" onRetry={result.reload} />}
          {hits && hits.length === 0 && <EmptyRow>{`Nothing matches “${q}”.`}</EmptyRow>}
          {hits && hits.length > 0 && (
            <Table striped highlightOnHover>
              <Table.Thead><Table.Tr><Table.Th>Type</Table.Th><Table.Th>Id</Table.Th><Table.Th>Summary</Table.Th><Table.Th>Tenant</Table.Th><Table.Th /></Table.Tr></Table.Thead>
              <Table.Tbody>
                {hits.map((hit) => (
                  <Table.Tr key={`${hit.type}:${hit.id}`}>
                    <Table.Td><Badge variant="light" styles={{ root: { overflow: 'visible' }, label: { overflow: 'visible' } }}>{hit.type.replace('_', ' ')}</Badge></Table.Td>
                    <Table.Td><Text ff="monospace" size="sm">{hit.id}</Text></Table.Td>
                    <Table.Td><Text size="sm">{hit.summary}</Text></Table.Td>
                    <Table.Td><TenantLink id={hit.tenant_id} /></Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      <Group gap="xs" wrap="nowrap">
                        <Anchor component={Link} to={hitTarget(hit)} size="sm">Open</Anchor>
                        {hit.payment_id && hit.type === 'request' && (
                          <Anchor component={Link} to={`/payments/${encodeURIComponent(hit.payment_id)}`} size="sm">Open payment</Anchor>
                        )}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      )}
    </Paper>
  );
}

function PaymentFilters({ values, onApply }: { values: Record<(typeof FILTERS)[number], string>; onApply(v: Record<string, string>): void }) {
  const { draft, field } = useFilterDraft(values);
  return (
    <form aria-label="Payment filters" onSubmit={(e) => { e.preventDefault(); onApply(draft); }}>
      <SimpleGrid cols={{ base: 2, md: 5 }} spacing="sm">
        <NativeSelect label="Status" data={STATUSES.map((s) => ({ value: s, label: s || 'any' }))} {...field('status')} />
        <NativeSelect label="Method" data={METHODS.map((s) => ({ value: s, label: s || 'any' }))} {...field('method')} />
        <TextInput label="Tenant" placeholder="ten_…" {...field('tenant')} />
        <TextInput label="Customer reference" {...field('customer_reference')} />
        <TextInput label="Card last4" maxLength={4} inputMode="numeric" {...field('card_last4')} />
        <TextInput label="Amount from" description="minor units" inputMode="numeric" {...field('amount_gte')} />
        <TextInput label="Amount to" description="minor units" inputMode="numeric" {...field('amount_lte')} />
        <TextInput label="Currency" placeholder="usd" maxLength={3} {...field('currency')} />
        <TextInput label="Created from" description="UTC" type="date" {...field('created_gte')} />
        <TextInput label="Created to" description="UTC" type="date" {...field('created_lte')} />
      </SimpleGrid>
      <FilterActions onClear={() => onApply(Object.fromEntries(FILTERS.map((k) => [k, ''])))} />
    </form>
  );
}

function PaymentList() {
  const { values, set, cursor } = useUrlFilters(FILTERS);
  const query: Record<string, string | undefined> = {
    status: values.status || undefined,
    method: values.method || undefined,
    tenant: values.tenant || undefined,
    currency: values.currency || undefined,
    customer_reference: values.customer_reference || undefined,
    card_last4: values.card_last4 || undefined,
    'amount[gte]': values.amount_gte || undefined,
    'amount[lte]': values.amount_lte || undefined,
    'created[gte]': toUnixSeconds(values.created_gte),
    'created[lte]': toUnixSeconds(values.created_lte, true),
    limit: '20',
    ...cursor,
  };
  const list = useApi<ListResponse<SupportPayment>>('/v1/support/payments', query);
  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={3}>Payments</Title>
        <PaymentFilters values={values} onApply={(v) => set(v)} />
        <ListStates list={list} loadingLabel="Loading payments…" empty="No payments match these filters." />
        {list.data && list.data.data.length > 0 && (
          <>
            <Table striped highlightOnHover aria-label="Payments">
              <Table.Thead>
                <Table.Tr><Table.Th>Payment</Table.Th><Table.Th>Tenant</Table.Th><Table.Th>Amount</Table.Th><Table.Th>Status</Table.Th><Table.Th>Method</Table.Th><Table.Th>Customer reference</Table.Th><Table.Th>Created</Table.Th></Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.data.data.map((p) => (
                  <Table.Tr key={p.id}>
                    <Table.Td><PaymentLink id={p.id} /></Table.Td>
                    <Table.Td><TenantLink id={p.tenant_id} name={p.tenant_name} /></Table.Td>
                    <Table.Td>{money(p.amount, p.currency)}</Table.Td>
                    <Table.Td><Badge color={statusColor(p.status)} variant="light">{p.status}</Badge></Table.Td>
                    <Table.Td><Text size="sm">{paymentMethodLabel(p)}</Text></Table.Td>
                    <Table.Td><Text size="sm">{p.customer_reference ?? '—'}</Text></Table.Td>
                    <Table.Td><Text size="sm">{dateTime(p.created_at)}</Text></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            <Pager data={list.data.data} hasMore={list.data.has_more} cursor={cursor} onChange={(c) => set(c, { keepCursor: true })} />
          </>
        )}
      </Stack>
    </Paper>
  );
}

export function SearchPage() {
  return (
    <Stack>
      <Title order={2}>Search</Title>
      <SearchBox />
      <PaymentList />
    </Stack>
  );
}
