import { useState } from 'react';
import { Alert, Anchor, Badge, Button, Group, Modal, Paper, SimpleGrid, Stack, Text, Textarea, Timeline, Title } from '@mantine/core';
import { Link, useParams } from 'react-router';
import { api, ApiError } from '../api';
import type { PaymentTimeline, SupportPayment, TimelineEntry } from '../types';
import { useApi } from '../hooks';
import { useSession } from '../session';
import { dateTime, money, paymentMethodLabel, statusClassColor, statusColor } from '../format';
import { ErrorAlert, LoadingBlock } from '../components/states';
import { ReasonDialog } from '../components/reason-dialog';
import { Mono, TenantLink } from '../components/links';

const KIND: Record<string, { label: string; color: string }> = {
  transition: { label: 'Status', color: 'indigo' },
  processor_attempt: { label: 'Processor', color: 'violet' },
  refund: { label: 'Refund', color: 'grape' },
  event: { label: 'Event', color: 'cyan' },
  webhook_delivery: { label: 'Webhook delivery', color: 'teal' },
  webhook_attempt: { label: 'Webhook attempt', color: 'teal' },
  request: { label: 'API request', color: 'blue' },
  note: { label: 'Internal note', color: 'yellow' },
  audit: { label: 'Support action', color: 'orange' },
};

const str = (v: unknown): string | undefined => (v === null || v === undefined || v === '' ? undefined : String(v));

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">{label}</Text>
      <Text size="sm" component="div">{children}</Text>
    </div>
  );
}

function Summary({ payment }: { payment: SupportPayment }) {
  return (
    <Paper withBorder p="md" aria-label="Payment summary">
      <Group justify="space-between" mb="sm">
        <Group gap="sm">
          <Title order={3}>{money(payment.amount, payment.currency)}</Title>
          <Badge color={statusColor(payment.status)} size="lg">{payment.status}</Badge>
        </Group>
        <Mono>{payment.id}</Mono>
      </Group>
      <SimpleGrid cols={{ base: 2, md: 4 }} spacing="sm">
        <Field label="Tenant"><TenantLink id={payment.tenant_id} name={payment.tenant_name} /></Field>
        <Field label="Payment method">{paymentMethodLabel(payment)}</Field>
        <Field label="Customer reference">{payment.customer_reference ?? '—'}</Field>
        <Field label="Created">{dateTime(payment.created_at)}</Field>
        {payment.amount_refunded !== undefined && <Field label="Refunded">{money(payment.amount_refunded, payment.currency)}</Field>}
        {payment.capture_method && <Field label="Capture">{payment.capture_method}</Field>}
        {payment.description && <Field label="Description">{payment.description}</Field>}
        {payment.bank_transfer && <Field label="Bank rail">{payment.bank_transfer.rail_status}</Field>}
        {payment.failure_code && <Field label="Failure">{payment.failure_code}{payment.failure_message ? ` — ${payment.failure_message}` : ''}</Field>}
      </SimpleGrid>
    </Paper>
  );
}

function EntryDetails({ entry, paymentId }: { entry: TimelineEntry; paymentId: string }) {
  const d = entry.data ?? {};
  switch (entry.kind) {
    case 'request': {
      const requestId = str(d.request_id);
      const status = typeof d.status_code === 'number' ? d.status_code : undefined;
      return (
        <Group gap="xs" wrap="wrap">
          <Text size="xs" ff="monospace">{str(d.method)} {str(d.route)}</Text>
          {status !== undefined && <Badge size="xs" color={statusClassColor(status)}>{status}</Badge>}
          {str(d.latency_ms) && <Text size="xs" c="dimmed">{str(d.latency_ms)} ms</Text>}
          {str(d.error_code) && <Badge size="xs" color="red" variant="light">{str(d.error_code)}</Badge>}
          {requestId && <Anchor component={Link} size="xs" to={`/requests?request_id=${encodeURIComponent(requestId)}`}>request {requestId}</Anchor>}
          {str(d.logs_insights_url) && (
            <Anchor size="xs" href={str(d.logs_insights_url)} target="_blank" rel="noreferrer noopener">Logs Insights ↗</Anchor>
          )}
        </Group>
      );
    }
    case 'webhook_attempt':
    case 'webhook_delivery': {
      const deliveryId = str(d.delivery_id) ?? (entry.kind === 'webhook_delivery' ? entry.id : undefined);
      const code = typeof d.status_code === 'number' ? d.status_code : undefined;
      return (
        <Group gap="xs" wrap="wrap">
          {str(d.outcome) && <Badge size="xs" color={d.outcome === 'delivered' || d.outcome === 'succeeded' ? 'green' : 'red'} variant="light">{str(d.outcome)}</Badge>}
          {str(d.status) && <Badge size="xs" color={statusColor(String(d.status))} variant="light">{str(d.status)}</Badge>}
          {code !== undefined && <Text size="xs">HTTP {code}</Text>}
          {str(d.latency_ms) && <Text size="xs" c="dimmed">{str(d.latency_ms)} ms</Text>}
          {str(d.error) && <Text size="xs" c="red">{str(d.error)}</Text>}
          {deliveryId && <Anchor component={Link} size="xs" to={`/webhooks/deliveries/${encodeURIComponent(deliveryId)}`}>delivery {deliveryId}</Anchor>}
        </Group>
      );
    }
    case 'processor_attempt':
      return (
        <Group gap="xs" wrap="wrap">
          {str(d.operation) && <Text size="xs">{str(d.operation)}</Text>}
          {str(d.status) && <Badge size="xs" color={statusColor(String(d.status))} variant="light">{str(d.status)}</Badge>}
          {str(d.latency_ms) && <Text size="xs" c="dimmed">{str(d.latency_ms)} ms</Text>}
          {str(d.failure_code) && <Badge size="xs" color="red" variant="light">{str(d.failure_code)}</Badge>}
          {typeof d.reconcile_count === 'number' && d.reconcile_count > 0 && <Text size="xs">reconciled {d.reconcile_count}×</Text>}
          {str(d.next_reconcile_at) && <Text size="xs" c="dimmed">next check {dateTime(str(d.next_reconcile_at))}</Text>}
          {str(d.processor_reference) && <Text size="xs" ff="monospace">{str(d.processor_reference)}</Text>}
        </Group>
      );
    case 'note':
      return (
        <Stack gap={2}>
          <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>{str(d.body)}</Text>
          <Text size="xs" c="dimmed">by {str(d.author_id) ?? 'unknown'}</Text>
        </Stack>
      );
    case 'audit':
      return (
        <Group gap="xs">
          {str(d.actor_id) && <Text size="xs">by {str(d.actor_id)}</Text>}
          {str(d.reason) && <Text size="xs" c="dimmed">reason: {str(d.reason)}</Text>}
          <Anchor component={Link} size="xs" to={`/audit?target=${encodeURIComponent(paymentId)}`}>audit log</Anchor>
        </Group>
      );
    default:
      return null;
  }
}

function PaymentTimelineView({ entries, paymentId }: { entries: TimelineEntry[]; paymentId: string }) {
  const sorted = [...entries].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  if (sorted.length === 0) return <Text c="dimmed" size="sm">No timeline entries.</Text>;
  return (
    <Timeline bulletSize={16} lineWidth={2} aria-label="Timeline">
      {sorted.map((entry, i) => {
        const kind = KIND[entry.kind] ?? { label: entry.kind, color: 'gray' };
        return (
          <Timeline.Item
            key={`${entry.kind}:${entry.id}:${i}`}
            color={kind.color}
            data-kind={entry.kind}
            title={
              <Group gap="xs">
                <Badge size="sm" color={kind.color} variant="light">{kind.label}</Badge>
                <Text size="sm" fw={500}>{entry.summary}</Text>
              </Group>
            }
          >
            <Text size="xs" c="dimmed">{dateTime(entry.at)}</Text>
            <EntryDetails entry={entry} paymentId={paymentId} />
          </Timeline.Item>
        );
      })}
    </Timeline>
  );
}

function NoteDialog({ opened, onClose, paymentId, onDone }: { opened: boolean; onClose(): void; paymentId: string; onDone(): void }) {
  const [body, setBody] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/v1/support/payments/${encodeURIComponent(paymentId)}/notes`, { body: body.trim() });
      setBody('');
      onDone();
      onClose();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, { type: 'api_error', code: 'client_error', message: String(e) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened={opened} onClose={() => !busy && onClose()} title="Add internal note" centered>
      <form onSubmit={(e) => { e.preventDefault(); if (body.trim() && !busy) void submit(); }}>
        <Stack>
          <Textarea label="Note" description="Visible to support staff only, never to the tenant." required autosize minRows={3} maxLength={4000} value={body} onChange={(e) => setBody(e.currentTarget.value)} data-autofocus />
          {error && <ErrorAlert error={error} title="The note was not saved" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose} disabled={busy}>Cancel</Button>
            <Button type="submit" loading={busy} disabled={!body.trim()}>Add note</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export function PaymentPage() {
  const { id = '' } = useParams();
  const { can } = useSession();
  const timeline = useApi<PaymentTimeline>(`/v1/support/payments/${encodeURIComponent(id)}/timeline`);
  const [reconcileOpen, setReconcileOpen] = useState(false);
  const [noteOpen, setNoteOpen] = useState(false);
  const [notice, setNotice] = useState<string | undefined>();
  const canWrite = can('support:write');

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Payment {id}</Title>
        {canWrite && timeline.data && (
          <Group>
            <Button variant="light" onClick={() => setNoteOpen(true)}>Add note</Button>
            <Button onClick={() => setReconcileOpen(true)}>Reconcile now</Button>
          </Group>
        )}
      </Group>
      {notice && <Alert color="green" withCloseButton onClose={() => setNotice(undefined)} role="status">{notice}</Alert>}
      {timeline.loading && <LoadingBlock label="Loading payment…" rows={6} />}
      {timeline.error && <ErrorAlert error={timeline.error} title="The payment could not be loaded" onRetry={timeline.reload} />}
      {timeline.data && (
        <>
          <Summary payment={timeline.data.payment} />
          <Paper withBorder p="md">
            <Group justify="space-between" mb="md">
              <Title order={3}>Timeline</Title>
              <Group gap="xs">
                <Anchor component={Link} size="sm" to={`/requests?object_id=${encodeURIComponent(id)}`}>All requests for this payment</Anchor>
                <Anchor component={Link} size="sm" to={`/audit?target=${encodeURIComponent(id)}`}>Audit entries</Anchor>
              </Group>
            </Group>
            <PaymentTimelineView entries={timeline.data.entries} paymentId={timeline.data.payment.id} />
          </Paper>
        </>
      )}
      <ReasonDialog
        opened={reconcileOpen}
        title="Reconcile this payment now"
        description="Asks the reconciler to check this payment's pending processor attempts with the processor now, instead of waiting for its next scheduled check."
        confirmLabel="Reconcile now"
        onClose={() => setReconcileOpen(false)}
        onConfirm={async (reason) => {
          const res = await api.post<{ payment: SupportPayment; attempts_scheduled: number }>(`/v1/support/payments/${encodeURIComponent(id)}/reconcile`, { reason });
          setNotice(`Reconciliation requested: ${res.attempts_scheduled} attempt(s) scheduled. Status is ${res.payment.status}.`);
          timeline.reload();
        }}
      />
      <NoteDialog opened={noteOpen} onClose={() => setNoteOpen(false)} paymentId={id} onDone={() => { setNotice('Note added.'); timeline.reload(); }} />
    </Stack>
  );
}
