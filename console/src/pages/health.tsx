import { Anchor, Badge, Button, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import type { SystemHealth } from '../types';
import { useApi } from '../hooks';
import { dateTime, statusColor } from '../format';
import { EmptyRow, ErrorAlert, LoadingBlock } from '../components/states';
import { PaymentLink, TenantLink } from '../components/links';

function Tile({ title, ok, children }: { title: string; ok: boolean | undefined; children: React.ReactNode }) {
  return (
    <Paper withBorder p="md" aria-label={title} style={{ borderLeft: `4px solid ${ok === undefined ? '#adb5bd' : ok ? '#2f9e44' : '#e03131'}` }}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>{title}</Text>
      {children}
    </Paper>
  );
}

export function HealthPage() {
  const health = useApi<SystemHealth>('/v1/support/health');
  const h = health.data;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>System health</Title>
        <Group gap="xs">
          {h && <Text size="xs" c="dimmed">checked {dateTime(h.checked_at)}</Text>}
          <Button size="xs" variant="default" onClick={health.reload}>Refresh</Button>
        </Group>
      </Group>
      {health.loading && <LoadingBlock label="Checking health…" rows={6} />}
      {health.error && <ErrorAlert error={health.error} title="Health could not be loaded" onRetry={health.reload} />}
      {h && (
        <>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }}>
            <Tile title="Environment" ok={undefined}>
              <Text fw={700} size="xl">{h.environment}</Text>
              <Text size="xs" c="dimmed">API version {h.api.version}</Text>
            </Tile>
            <Tile title="API" ok={h.api.ready}>
              <Text fw={700} size="xl">{h.api.ready ? 'Ready' : 'Not ready'}</Text>
            </Tile>
            <Tile title="Workers" ok={h.workers.ready}>
              <Text fw={700} size="xl">{h.workers.ready ? 'Ready' : 'Not ready'}</Text>
              <Text size="xs" c="dimmed">{h.workers.instances.length} instance(s)</Text>
            </Tile>
            <Tile title="Processor" ok={h.processor.circuit_state === 'closed'}>
              <Group gap="xs"><Text fw={700} size="xl">{h.processor.name}</Text><Badge color={statusColor(h.processor.circuit_state)}>circuit {h.processor.circuit_state}</Badge></Group>
              <Text size="xs" c="dimmed">
                {h.processor.errors_15m} error(s) in {h.processor.attempts_15m} call(s), 15 min ({(h.processor.error_rate_15m * 100).toFixed(1)}%)
              </Text>
            </Tile>
            <Tile title="Stuck payments" ok={h.stuck_payments.count === 0}>
              <Text fw={700} size="xl">{h.stuck_payments.count}</Text>
              {h.stuck_payments.oldest_created_at && <Text size="xs" c="dimmed">oldest {dateTime(h.stuck_payments.oldest_created_at)}</Text>}
              <Group gap={4}>{h.stuck_payments.sample.map((id) => <PaymentLink key={id} id={id} />)}</Group>
            </Tile>
            <Tile title="Bank transfers waiting" ok={undefined}>
              <Text fw={700} size="xl">{h.bank_transfers_waiting.count}</Text>
              {h.bank_transfers_waiting.oldest_created_at && <Text size="xs" c="dimmed">oldest {dateTime(h.bank_transfers_waiting.oldest_created_at)}</Text>}
            </Tile>
            {h.payments_needing_attention && (
              <Tile title="Payments needing attention" ok={h.payments_needing_attention.count === 0}>
                <Text fw={700} size="xl">{h.payments_needing_attention.count}</Text>
              </Tile>
            )}
            <Tile title="Migrations" ok={h.migrations.applied === h.migrations.expected}>
              <Text fw={700} size="xl">{h.migrations.applied} / {h.migrations.expected}</Text>
              <Text size="xs" c="dimmed">applied / expected by this build</Text>
            </Tile>
          </SimpleGrid>
          <Paper withBorder p="md">
            <Group justify="space-between" mb="sm">
              <Title order={3}>Webhook backlog</Title>
              <Text size="sm">{h.webhooks.pending} pending{h.webhooks.oldest_pending_at ? `, oldest ${dateTime(h.webhooks.oldest_pending_at)}` : ''}</Text>
            </Group>
            {h.webhooks.endpoints.length === 0 ? <EmptyRow>No endpoint is disabled, failing or backlogged.</EmptyRow> : (
              <Table aria-label="Webhook endpoints needing attention">
                <Table.Thead><Table.Tr><Table.Th>Endpoint</Table.Th><Table.Th>Tenant</Table.Th><Table.Th>Status</Table.Th><Table.Th>Pending</Table.Th><Table.Th>Oldest pending</Table.Th><Table.Th>Failing since</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {h.webhooks.endpoints.map((e) => (
                    <Table.Tr key={e.id}>
                      <Table.Td>
                        <Anchor component={Link} size="sm" to={`/webhooks?tenant=${encodeURIComponent(e.tenant_id)}&endpoint=${encodeURIComponent(e.id)}`}>{e.url}</Anchor>
                        <Text size="xs" c="dimmed" ff="monospace">{e.id}</Text>
                      </Table.Td>
                      <Table.Td><TenantLink id={e.tenant_id} /></Table.Td>
                      <Table.Td><Badge color={statusColor(e.status)} variant="light">{e.status}</Badge></Table.Td>
                      <Table.Td>{e.pending}</Table.Td>
                      <Table.Td><Text size="sm">{dateTime(e.oldest_pending_at)}</Text></Table.Td>
                      <Table.Td><Text size="sm">{dateTime(e.failing_since)}</Text></Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Paper>
          <Paper withBorder p="md">
            <Title order={3} mb="sm">Worker instances</Title>
            {h.workers.instances.length === 0 ? <EmptyRow>No worker has reported recently.</EmptyRow> : (
              <Table aria-label="Worker instances">
                <Table.Thead><Table.Tr><Table.Th>Worker</Table.Th><Table.Th>Host</Table.Th><Table.Th>Started</Table.Th><Table.Th>Last heartbeat</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {h.workers.instances.map((w) => (
                    <Table.Tr key={w.worker_id}>
                      <Table.Td><Text size="sm" ff="monospace">{w.worker_id}</Text></Table.Td>
                      <Table.Td>{w.hostname}</Table.Td>
                      <Table.Td><Text size="sm">{dateTime(w.started_at)}</Text></Table.Td>
                      <Table.Td><Text size="sm">{dateTime(w.last_beat_at)}</Text></Table.Td>
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
