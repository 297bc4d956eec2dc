import { Anchor, Badge, NativeSelect, Paper, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { Link } from 'react-router';
import type { ListResponse } from '../api';
import type { RequestLogEntry } from '../types';
import { useApi, useFilterDraft, useUrlFilters } from '../hooks';
import { dateTime, statusClassColor, toUnixSeconds } from '../format';
import { FilterActions, ListStates } from '../components/states';
import { objectPath, TenantLink } from '../components/links';
import { Pager } from '../components/pager';

const FILTERS = ['tenant', 'route', 'method', 'status_class', 'request_id', 'object_id', 'created_gte', 'created_lte'] as const;

function RequestFilters({ values, onApply }: { values: Record<(typeof FILTERS)[number], string>; onApply(v: Record<string, string>): void }) {
  const { draft, field } = useFilterDraft(values);
  return (
    <form aria-label="Request filters" onSubmit={(e) => { e.preventDefault(); onApply(draft); }}>
      <SimpleGrid cols={{ base: 2, md: 4 }} spacing="sm">
        <TextInput label="Request id" {...field('request_id')} />
        <TextInput label="Tenant" placeholder="ten_…" {...field('tenant')} />
        <TextInput label="Route" placeholder="/v1/payments/:id" {...field('route')} />
        <NativeSelect label="Method" data={[{ value: '', label: 'any' }, 'GET', 'POST', 'PUT', 'PATCH', 'DELETE']} {...field('method')} />
        <NativeSelect label="Status class" data={[{ value: '', label: 'any' }, '2xx', '3xx', '4xx', '5xx']} {...field('status_class')} />
        <TextInput label="Object id" placeholder="pay_…" {...field('object_id')} />
        <TextInput label="From (UTC)" type="datetime-local" {...field('created_gte')} />
        <TextInput label="To (UTC)" type="datetime-local" {...field('created_lte')} />
      </SimpleGrid>
      <FilterActions onClear={() => onApply(Object.fromEntries(FILTERS.map((k) => [k, ''])))} />
    </form>
  );
}

export function RequestsPage() {
  const { values, set, cursor } = useUrlFilters(FILTERS);
  const list = useApi<ListResponse<RequestLogEntry>>('/v1/support/requests', {
    tenant: values.tenant || undefined,
    route: values.route || undefined,
    method: values.method || undefined,
    status_class: values.status_class || undefined,
    request_id: values.request_id || undefined,
    object_id: values.object_id || undefined,
    'created[gte]': toUnixSeconds(values.created_gte),
    'created[lte]': toUnixSeconds(values.created_lte),
    limit: '50',
    ...cursor,
  });
  return (
    <Stack>
      <Title order={2}>Request log</Title>
      <Paper withBorder p="md">
        <Stack>
          <RequestFilters values={values} onApply={(v) => set(v)} />
          <ListStates list={list} loadingLabel="Loading requests…" empty="No requests match these filters." />
          {list.data && list.data.data.length > 0 && (
            <>
              <Table striped highlightOnHover aria-label="Requests">
                <Table.Thead>
                  <Table.Tr><Table.Th>Time</Table.Th><Table.Th>Request id</Table.Th><Table.Th>Request</Table.Th><Table.Th>Status</Table.Th><Table.Th>Latency</Table.Th><Table.Th>Tenant / caller</Table.Th><Table.Th>Object</Table.Th><Table.Th>Logs</Table.Th></Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {list.data.data.map((r) => (
                    <Table.Tr key={r.id}>
                      <Table.Td><Text size="xs">{dateTime(r.created_at)}</Text></Table.Td>
                      <Table.Td><Anchor component={Link} to={`/requests?request_id=${encodeURIComponent(r.request_id)}`} ff="monospace" size="xs">{r.request_id}</Anchor></Table.Td>
                      <Table.Td><Text size="sm" ff="monospace">{r.method} {r.route}</Text></Table.Td>
                      <Table.Td>
                        <Badge color={statusClassColor(r.status_code)} variant="light">{r.status_code}</Badge>
                        {r.error_code && <Text size="xs" c="red">{r.error_code}</Text>}
                      </Table.Td>
                      <Table.Td><Text size="sm">{r.latency_ms} ms</Text></Table.Td>
                      <Table.Td>
                        <TenantLink id={r.tenant_id} />
                        <Text size="xs" c="dimmed" ff="monospace">{r.client_id ?? r.staff_id ?? ''}</Text>
                      </Table.Td>
                      <Table.Td>{r.object_id ? <Anchor component={Link} to={objectPath(r.object_id)} ff="monospace" size="xs">{r.object_id}</Anchor> : '—'}</Table.Td>
                      <Table.Td>{r.logs_insights_url ? <Anchor href={r.logs_insights_url} target="_blank" rel="noreferrer noopener" size="xs">Logs Insights ↗</Anchor> : '—'}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
              <Pager data={list.data.data} hasMore={list.data.has_more} cursor={cursor} onChange={(c) => set(c, { keepCursor: true })} />
            </>
          )}
        </Stack>
      </Paper>
    </Stack>
  );
}
