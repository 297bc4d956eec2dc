import { Anchor, Badge, Paper, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { Link } from 'react-router';
import type { ListResponse } from '../api';
import type { AuditEntry } from '../types';
import { useApi, useFilterDraft, useUrlFilters } from '../hooks';
import { dateTime, toUnixSeconds } from '../format';
import { FilterActions, ListStates } from '../components/states';
import { objectPath, TenantLink } from '../components/links';
import { JsonView } from '../components/json-view';
import { Pager } from '../components/pager';

const FILTERS = ['actor', 'action', 'tenant', 'target', 'created_gte', 'created_lte'] as const;

function AuditFilters({ values, onApply }: { values: Record<(typeof FILTERS)[number], string>; onApply(v: Record<string, string>): void }) {
  const { draft, field } = useFilterDraft(values);
  return (
    <form aria-label="Audit filters" onSubmit={(e) => { e.preventDefault(); onApply(draft); }}>
      <SimpleGrid cols={{ base: 2, md: 3 }} spacing="sm">
        <TextInput label="Actor" placeholder="stf_… or client id" {...field('actor')} />
        <TextInput label="Action" placeholder="support.webhook_delivery.retry" {...field('action')} />
        <TextInput label="Tenant" placeholder="ten_…" {...field('tenant')} />
        <TextInput label="Target" placeholder="pay_…, whd_…, we_…" {...field('target')} />
        <TextInput label="From (UTC)" type="datetime-local" {...field('created_gte')} />
        <TextInput label="To (UTC)" type="datetime-local" {...field('created_lte')} />
      </SimpleGrid>
      <FilterActions onClear={() => onApply(Object.fromEntries(FILTERS.map((k) => [k, ''])))} />
    </form>
  );
}

export function AuditPage() {
  const { values, set, cursor } = useUrlFilters(FILTERS);
  const list = useApi<ListResponse<AuditEntry>>('/v1/support/audit_log', {
    actor: values.actor || undefined,
    action: values.action || undefined,
    tenant: values.tenant || undefined,
    target: values.target || undefined,
    'created[gte]': toUnixSeconds(values.created_gte),
    'created[lte]': toUnixSeconds(values.created_lte),
    limit: '20',
    ...cursor,
  });
  return (
    <Stack>
      <Title order={2}>Audit log</Title>
      <Paper withBorder p="md">
        <Stack>
          <AuditFilters values={values} onApply={(v) => set(v)} />
          <ListStates list={list} loadingLabel="Loading audit log…" empty="No audit entries match these filters." />
          {list.data && list.data.data.length > 0 && (
            <>
              <Table aria-label="Audit entries" verticalSpacing="sm">
                <Table.Thead>
                  <Table.Tr><Table.Th>Time</Table.Th><Table.Th>Actor</Table.Th><Table.Th>Action</Table.Th><Table.Th>Target</Table.Th><Table.Th>Reason</Table.Th></Table.Tr>
                </Table.Thead>
                {list.data.data.map((a) => {
                  const changed = a.before !== null || a.after !== null;
                  const hasDetails = a.details !== null && a.details !== undefined && Object.keys(a.details as object).length > 0;
                  return (
                    // one tbody per entry: the entry's row, then what it changed (before → after) beneath it
                    <Table.Tbody key={a.id} style={{ borderBottom: '2px solid var(--mantine-color-gray-3)' }}>
                      <Table.Tr style={{ verticalAlign: 'top' }}>
                        <Table.Td><Text size="xs">{dateTime(a.created_at)}</Text>{a.request_id && <Anchor component={Link} size="xs" ff="monospace" to={`/requests?request_id=${encodeURIComponent(a.request_id)}`}>{a.request_id}</Anchor>}</Table.Td>
                        <Table.Td><Badge size="xs" variant="light">{a.actor_type}</Badge><Text size="xs" ff="monospace">{a.actor_id}</Text></Table.Td>
                        <Table.Td><Text size="sm" ff="monospace">{a.action}</Text>{a.tenant_id && <TenantLink id={a.tenant_id} />}</Table.Td>
                        <Table.Td>{a.target_id ? <Anchor component={Link} to={objectPath(a.target_id)} ff="monospace" size="xs">{a.target_id}</Anchor> : '—'}</Table.Td>
                        <Table.Td><Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>{a.reason ?? '—'}</Text></Table.Td>
                      </Table.Tr>
                      {(changed || hasDetails) && (
                        <Table.Tr>
                          <Table.Td colSpan={5} pt={0}>
                            <SimpleGrid cols={{ base: 1, md: hasDetails && changed ? 3 : changed ? 2 : 1 }} spacing="xs">
                              {changed && <div><Text size="xs" c="dimmed">Before</Text><JsonView value={a.before} label="Before" /></div>}
                              {changed && <div><Text size="xs" c="dimmed">After</Text><JsonView value={a.after} label="After" /></div>}
                              {hasDetails && <div><Text size="xs" c="dimmed">Details</Text><JsonView value={a.details} label="Details" /></div>}
                            </SimpleGrid>
                          </Table.Td>
                        </Table.Tr>
                      )}
                    </Table.Tbody>
                  );
                })}
              </Table>
              <Pager data={list.data.data} hasMore={list.data.has_more} cursor={cursor} onChange={(c) => set(c, { keepCursor: true })} />
            </>
          )}
        </Stack>
      </Paper>
    </Stack>
  );
}
