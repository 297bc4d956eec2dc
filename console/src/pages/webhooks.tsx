import { useEffect, useState } from 'react';
import { Alert, Anchor, Badge, Button, Group, Loader, NativeSelect, Paper, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { Link, useParams } from 'react-router';
import { api, type ListResponse } from '../api';
import type { EndpointHealth, TenantOverview, WebhookDelivery } from '../types';
import { useApi, useFilterDraft, useUrlFilters } from '../hooks';
import { useSession } from '../session';
import { dateTime, statusColor } from '../format';
import { EmptyRow, ErrorAlert, FilterActions, ListStates, LoadingBlock } from '../components/states';
import { Mono, TenantLink } from '../components/links';
import { Pager } from '../components/pager';
import { ReasonDialog } from '../components/reason-dialog';
import { EndpointActions } from '../components/endpoint-actions';

const FILTERS = ['tenant', 'endpoint', 'status', 'event'] as const;

function DeliveryFilters({ values, onApply }: { values: Record<(typeof FILTERS)[number], string>; onApply(v: Record<string, string>): void }) {
  const { draft, field } = useFilterDraft(values);
  return (
    <form aria-label="Delivery filters" onSubmit={(e) => { e.preventDefault(); onApply(draft); }}>
      <SimpleGrid cols={{ base: 2, md: 4 }} spacing="sm">
        <TextInput label="Tenant" placeholder="ten_…" {...field('tenant')} />
        <TextInput label="Endpoint" placeholder="we_…" {...field('endpoint')} />
        <NativeSelect label="Status" data={[{ value: '', label: 'any' }, 'pending', 'succeeded', 'failed']} {...field('status')} />
        <TextInput label="Event" placeholder="evt_…" {...field('event')} />
      </SimpleGrid>
      <FilterActions onClear={() => onApply({ tenant: '', endpoint: '', status: '', event: '' })} />
    </form>
  );
}

function EndpointStatus({ endpoint }: { endpoint: EndpointHealth }) {
  return (
    <Group gap={6}>
      <Badge color={statusColor(endpoint.status)} variant="light" aria-label="Endpoint status">{endpoint.status}</Badge>
      {endpoint.disabled_reason && <Text size="xs" c="dimmed">{endpoint.disabled_reason}</Text>}
      {endpoint.failing_since && <Text size="xs" c="red">failing since {dateTime(endpoint.failing_since)}</Text>}
    </Group>
  );
}

export function DeliveriesPage() {
  const { values, set, cursor } = useUrlFilters(FILTERS);
  const { can } = useSession();
  const overview = useApi<TenantOverview>(values.tenant && values.endpoint ? `/v1/support/tenants/${encodeURIComponent(values.tenant)}` : null);
  const endpoint = overview.data?.webhook_endpoints.find((e) => e.id === values.endpoint);
  const list = useApi<ListResponse<WebhookDelivery>>('/v1/support/webhook_deliveries', {
    tenant: values.tenant || undefined,
    endpoint: values.endpoint || undefined,
    status: values.status || undefined,
    event: values.event || undefined,
    limit: '20',
    ...cursor,
  });
  return (
    <Stack>
      <Title order={2}>Webhook deliveries</Title>
      <Paper withBorder p="md">
        <Stack>
          <DeliveryFilters values={values} onApply={(v) => set(v)} />
          {values.endpoint && can('support:write') && (
            <Group justify="space-between">
              <Group gap="xs">
                <Text size="sm">Endpoint <Text span ff="monospace">{values.endpoint}</Text></Text>
                {endpoint && <EndpointStatus endpoint={endpoint} />}
              </Group>
              <EndpointActions endpointId={values.endpoint} status={endpoint?.status} onDone={() => { list.reload(); overview.reload(); }} />
            </Group>
          )}
          <ListStates list={list} loadingLabel="Loading deliveries…" empty="No deliveries match these filters." />
          {list.data && list.data.data.length > 0 && (
            <>
              <Table striped highlightOnHover aria-label="Webhook deliveries">
                <Table.Thead>
                  <Table.Tr><Table.Th>Delivery</Table.Th><Table.Th>Event</Table.Th><Table.Th>Endpoint</Table.Th><Table.Th>Status</Table.Th><Table.Th>Attempts</Table.Th><Table.Th>Last result</Table.Th><Table.Th>Created</Table.Th></Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {list.data.data.map((d) => (
                    <Table.Tr key={d.id}>
                      <Table.Td><Anchor component={Link} to={`/webhooks/deliveries/${encodeURIComponent(d.id)}`} ff="monospace" size="sm">{d.id}</Anchor></Table.Td>
                      <Table.Td><Text size="sm">{d.event_type}</Text><Text size="xs" c="dimmed" ff="monospace">{d.event_id}</Text></Table.Td>
                      <Table.Td><Text size="sm">{d.endpoint_url}</Text><Text size="xs" c="dimmed" ff="monospace">{d.endpoint_id}</Text></Table.Td>
                      <Table.Td><Badge color={statusColor(d.status)} variant="light">{d.status}</Badge></Table.Td>
                      <Table.Td>{d.attempt_count}</Table.Td>
                      <Table.Td><Text size="sm">{d.last_status_code ? `HTTP ${d.last_status_code}` : ''} {d.last_error ?? ''}</Text></Table.Td>
                      <Table.Td><Text size="sm">{dateTime(d.created_at)}</Text></Table.Td>
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

export function DeliveryPage() {
  const { id = '' } = useParams();
  const { can } = useSession();
  const delivery = useApi<WebhookDelivery>(`/v1/support/webhook_deliveries/${encodeURIComponent(id)}`);
  const overview = useApi<TenantOverview>(delivery.data ? `/v1/support/tenants/${encodeURIComponent(delivery.data.tenant_id)}` : null);
  const endpoint = overview.data?.webhook_endpoints.find((e) => e.id === delivery.data?.endpoint_id);
  const [retryOpen, setRetryOpen] = useState(false);
  const [notice, setNotice] = useState<string | undefined>();
  const d = delivery.data;
  // While an attempt is due, follow it: the worker delivers within seconds of a retry.
  const pending = d?.status === 'pending';
  const { reload } = delivery;
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [pending, reload]);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Delivery {id}</Title>
        {d && can('support:write') && <Button onClick={() => setRetryOpen(true)}>Retry delivery</Button>}
      </Group>
      {notice && <Alert color="green" withCloseButton onClose={() => setNotice(undefined)} role="status">{notice}</Alert>}
      {delivery.loading && <LoadingBlock label="Loading delivery…" rows={5} />}
      {delivery.error && <ErrorAlert error={delivery.error} title="The delivery could not be loaded" onRetry={delivery.reload} />}
      {d && (
        <>
          <Paper withBorder p="md" aria-label="Delivery summary">
            <SimpleGrid cols={{ base: 2, md: 4 }} spacing="sm">
              <div><Text size="xs" c="dimmed">Status</Text><Badge color={statusColor(d.status)} data-testid="delivery-status">{d.status}</Badge></div>
              <div><Text size="xs" c="dimmed">Attempts</Text><Text size="sm">{d.attempt_count}</Text></div>
              <div><Text size="xs" c="dimmed">Next attempt</Text><Text size="sm">{dateTime(d.next_attempt_at)}</Text></div>
              <div><Text size="xs" c="dimmed">Delivered</Text><Text size="sm">{dateTime(d.delivered_at)}</Text></div>
              <div><Text size="xs" c="dimmed">Event</Text><Text size="sm">{d.event_type}</Text><Mono>{d.event_id}</Mono></div>
              <div><Text size="xs" c="dimmed">Endpoint</Text><Text size="sm">{d.endpoint_url}</Text><Mono>{d.endpoint_id}</Mono></div>
              <div><Text size="xs" c="dimmed">Tenant</Text><TenantLink id={d.tenant_id} /></div>
              <div><Text size="xs" c="dimmed">Created</Text><Text size="sm">{dateTime(d.created_at)}</Text></div>
            </SimpleGrid>
            <Group mt="sm" gap="md">
              <Anchor component={Link} size="sm" to={`/webhooks?endpoint=${encodeURIComponent(d.endpoint_id)}&tenant=${encodeURIComponent(d.tenant_id)}`}>All deliveries to this endpoint</Anchor>
              <Anchor component={Link} size="sm" to={`/audit?target=${encodeURIComponent(d.id)}`}>Audit entries</Anchor>
            </Group>
          </Paper>
          <Paper withBorder p="md">
            <Group justify="space-between">
              <Group gap="xs">
                <Text size="sm" fw={500}>Endpoint</Text>
                {endpoint ? <EndpointStatus endpoint={endpoint} /> : overview.loading ? <Loader size="xs" aria-label="Loading endpoint status" /> : null}
              </Group>
              {can('support:write') && (
                <EndpointActions endpointId={d.endpoint_id} status={endpoint?.status} onDone={() => { delivery.reload(); overview.reload(); }} />
              )}
            </Group>
          </Paper>
          <Paper withBorder p="md">
            <Title order={3} mb="sm">Attempts</Title>
            {(d.attempts ?? []).length === 0 ? <EmptyRow>No attempts yet.</EmptyRow> : (
              <Table aria-label="Attempts">
                <Table.Thead><Table.Tr><Table.Th>Attempted</Table.Th><Table.Th>Outcome</Table.Th><Table.Th>Status code</Table.Th><Table.Th>Latency</Table.Th><Table.Th>Error</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {(d.attempts ?? []).map((a) => (
                    <Table.Tr key={a.id}>
                      <Table.Td><Text size="sm">{dateTime(a.attempted_at)}</Text></Table.Td>
                      <Table.Td><Badge color={a.outcome === 'delivered' || a.outcome === 'succeeded' ? 'green' : 'red'} variant="light">{a.outcome}</Badge></Table.Td>
                      <Table.Td>{a.status_code ?? '—'}</Table.Td>
                      <Table.Td>{a.latency_ms !== null ? `${a.latency_ms} ms` : '—'}</Table.Td>
                      <Table.Td><Text size="sm">{a.error ?? ''}</Text></Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Paper>
        </>
      )}
      <ReasonDialog
        opened={retryOpen}
        title="Retry this delivery"
        description="Schedules one more attempt now, with the same event id and a fresh signature."
        confirmLabel="Retry"
        onClose={() => setRetryOpen(false)}
        onConfirm={async (reason) => {
          const updated = await api.post<WebhookDelivery>(`/v1/support/webhook_deliveries/${encodeURIComponent(id)}/retry`, { reason });
          setNotice(`Retry scheduled. The delivery is now ${updated.status}${updated.next_attempt_at ? `, next attempt ${dateTime(updated.next_attempt_at)}` : ''}.`);
          delivery.reload();
        }}
      />
    </Stack>
  );
}
