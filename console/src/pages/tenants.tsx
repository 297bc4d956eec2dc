import { Anchor, Badge, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { Link, useParams } from 'react-router';
import type { ListResponse } from '../api';
import type { TenantOverview, TenantSummary, VolumeWindow } from '../types';
import { useApi, useUrlFilters } from '../hooks';
import { dateTime, money, statusColor } from '../format';
import { EmptyRow, ErrorAlert, ListStates, LoadingBlock } from '../components/states';
import { Mono, PaymentLink } from '../components/links';
import { Pager } from '../components/pager';

export function TenantsPage() {
  const { set, cursor } = useUrlFilters([] as const);
  const list = useApi<ListResponse<TenantSummary>>('/v1/support/tenants', { limit: '50', ...cursor });
  return (
    <Stack>
      <Title order={2}>Tenants</Title>
      <Paper withBorder p="md">
        <ListStates list={list} loadingLabel="Loading tenants…" empty="No tenants yet." />
        {list.data && list.data.data.length > 0 && (
          <>
            <Table striped highlightOnHover aria-label="Tenants">
              <Table.Thead><Table.Tr><Table.Th>Name</Table.Th><Table.Th>Id</Table.Th><Table.Th>Status</Table.Th><Table.Th>Created</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {list.data.data.map((t) => (
                  <Table.Tr key={t.id}>
                    <Table.Td><Anchor component={Link} to={`/tenants/${encodeURIComponent(t.id)}`}>{t.name}</Anchor></Table.Td>
                    <Table.Td><Mono>{t.id}</Mono></Table.Td>
                    <Table.Td><Badge color={statusColor(t.status)} variant="light">{t.status}</Badge></Table.Td>
                    <Table.Td><Text size="sm">{dateTime(t.created_at)}</Text></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            <Pager data={list.data.data} hasMore={list.data.has_more} cursor={cursor} onChange={(c) => set(c, { keepCursor: true })} />
          </>
        )}
      </Paper>
    </Stack>
  );
}

function Volume({ title, v }: { title: string; v: VolumeWindow }) {
  const amounts = Object.entries(v.amount_by_currency ?? {});
  return (
    <Paper withBorder p="md">
      <Text size="xs" c="dimmed">{title}</Text>
      <Text fw={700} size="xl">{v.count} payment{v.count === 1 ? '' : 's'}</Text>
      <Text size="sm"><Text span c="green">{v.succeeded} succeeded</Text> · <Text span c="red">{v.failed} failed</Text></Text>
      <Text size="sm" c="dimmed">{amounts.length ? amounts.map(([cur, n]) => money(n, cur)).join(' · ') : 'no volume'}</Text>
    </Paper>
  );
}

export function TenantPage() {
  const { id = '' } = useParams();
  const overview = useApi<TenantOverview>(`/v1/support/tenants/${encodeURIComponent(id)}`);
  const o = overview.data;
  return (
    <Stack>
      <Title order={2}>{o ? o.tenant.name : 'Tenant'} <Text span c="dimmed" size="md" ff="monospace">{id}</Text></Title>
      {overview.loading && <LoadingBlock label="Loading tenant…" rows={6} />}
      {overview.error && <ErrorAlert error={overview.error} title="The tenant could not be loaded" onRetry={overview.reload} />}
      {o && (
        <>
          <Group gap="xs">
            <Badge color={statusColor(o.tenant.status)}>{o.tenant.status}</Badge>
            <Text size="sm" c="dimmed">created {dateTime(o.tenant.created_at)}</Text>
            <Anchor component={Link} size="sm" to={`/search?tenant=${encodeURIComponent(id)}`}>Payments</Anchor>
            <Anchor component={Link} size="sm" to={`/requests?tenant=${encodeURIComponent(id)}`}>Requests</Anchor>
            <Anchor component={Link} size="sm" to={`/webhooks?tenant=${encodeURIComponent(id)}`}>Webhook deliveries</Anchor>
            <Anchor component={Link} size="sm" to={`/audit?tenant=${encodeURIComponent(id)}`}>Audit log</Anchor>
          </Group>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <Volume title="Last 24 hours" v={o.volume.last_24h} />
            <Volume title="Last 7 days" v={o.volume.last_7d} />
          </SimpleGrid>
          <Paper withBorder p="md">
            <Title order={3} mb="sm">API clients</Title>
            {o.clients.length === 0 ? <EmptyRow>No clients.</EmptyRow> : (
              <Table aria-label="API clients">
                <Table.Thead><Table.Tr><Table.Th>Name</Table.Th><Table.Th>Client id</Table.Th><Table.Th>Scopes</Table.Th><Table.Th>Status</Table.Th><Table.Th>Created</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {o.clients.map((c) => (
                    <Table.Tr key={c.client_id}>
                      <Table.Td>{c.name}</Table.Td>
                      <Table.Td><Mono>{c.client_id}</Mono></Table.Td>
                      <Table.Td><Text size="xs">{c.scopes.join(' ')}</Text></Table.Td>
                      <Table.Td><Badge color={statusColor(c.status)} variant="light">{c.status}</Badge></Table.Td>
                      <Table.Td><Text size="sm">{dateTime(c.created_at)}</Text></Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Paper>
          <Paper withBorder p="md">
            <Title order={3} mb="sm">Webhook endpoints</Title>
            {o.webhook_endpoints.length === 0 ? <EmptyRow>No webhook endpoints.</EmptyRow> : (
              <Table aria-label="Webhook endpoints">
                <Table.Thead><Table.Tr><Table.Th>Endpoint</Table.Th><Table.Th>Status</Table.Th><Table.Th>Pending</Table.Th><Table.Th>Failed (24 h)</Table.Th><Table.Th>Failing since</Table.Th><Table.Th /></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {o.webhook_endpoints.map((e) => (
                    <Table.Tr key={e.id}>
                      <Table.Td><Text size="sm">{e.url}</Text><Text size="xs" c="dimmed" ff="monospace">{e.id}</Text></Table.Td>
                      <Table.Td>
                        <Badge color={statusColor(e.status)} variant="light">{e.status}</Badge>
                        {e.disabled_reason && <Text size="xs" c="dimmed">{e.disabled_reason}</Text>}
                      </Table.Td>
                      <Table.Td>{e.pending_deliveries ?? 0}{e.oldest_pending_at ? <Text size="xs" c="dimmed">oldest {dateTime(e.oldest_pending_at)}</Text> : null}</Table.Td>
                      <Table.Td>{e.failed_deliveries_24h ?? 0}</Table.Td>
                      <Table.Td><Text size="sm">{dateTime(e.failing_since)}</Text></Table.Td>
                      <Table.Td><Anchor component={Link} size="sm" to={`/webhooks?tenant=${encodeURIComponent(id)}&endpoint=${encodeURIComponent(e.id)}`}>Deliveries</Anchor></Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Paper>
          <Paper withBorder p="md">
            <Title order={3} mb="sm">Recent failures</Title>
            {o.recent_failures.length === 0 ? <EmptyRow>No recent failures.</EmptyRow> : (
              <Table aria-label="Recent failures">
                <Table.Thead><Table.Tr><Table.Th>Payment</Table.Th><Table.Th>Amount</Table.Th><Table.Th>Failure</Table.Th><Table.Th>Created</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {o.recent_failures.map((p) => (
                    <Table.Tr key={p.id}>
                      <Table.Td><PaymentLink id={p.id} /></Table.Td>
                      <Table.Td>{money(p.amount, p.currency)}</Table.Td>
                      <Table.Td><Text size="sm">{p.failure_code ?? p.status}</Text></Table.Td>
                      <Table.Td><Text size="sm">{dateTime(p.created_at)}</Text></Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Paper>
        </>
      )}
    </Stack>
  );
}
