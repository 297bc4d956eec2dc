import { useState } from 'react';
import { Alert, Button, Group, SimpleGrid, TextInput } from '@mantine/core';
import { api } from '../api';
import { toUnixSeconds } from '../format';
import { ReasonDialog } from './reason-dialog';

/** Replay an endpoint's events over a time range, and re-enable a disabled endpoint (support_operator). */
/** `status` when known: Re-enable is offered only for a disabled endpoint then. */
export function EndpointActions({ endpointId, status, onDone }: { endpointId: string; status?: string | undefined; onDone?(): void }) {
  const [replayOpen, setReplayOpen] = useState(false);
  const [enableOpen, setEnableOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [notice, setNotice] = useState<string | undefined>();
  const gte = toUnixSeconds(from);
  const lte = toUnixSeconds(to);
  const range = gte !== undefined && lte !== undefined && Number(gte) <= Number(lte) ? { gte, lte } : undefined;
  return (
    <>
      <Group gap="xs">
        <Button size="xs" variant="light" onClick={() => setReplayOpen(true)}>Replay events…</Button>
        {(status === undefined || status === 'disabled') && (
          <Button size="xs" variant="light" color="green" onClick={() => setEnableOpen(true)}>Re-enable endpoint…</Button>
        )}
      </Group>
      {notice && <Alert color="green" mt="xs" withCloseButton onClose={() => setNotice(undefined)} role="status">{notice}</Alert>}
      <ReasonDialog
        opened={replayOpen}
        title={`Replay events to ${endpointId}`}
        description="Sends again every event of this endpoint's subscriptions created in the range (UTC). The receiver gets the same event ids."
        confirmLabel="Replay"
        extraValid={range !== undefined}
        onClose={() => setReplayOpen(false)}
        onConfirm={async (reason) => {
          if (!range) throw new Error('Give a valid time range.'); // the dialog confirms only with one (extraValid)
          const res = await api.post<{ replayed: number }>(`/v1/support/webhook_endpoints/${encodeURIComponent(endpointId)}/replay`, {
            reason,
            created: range,
          });
          setNotice(`Replay scheduled: ${res.replayed} event(s) queued for delivery.`);
          onDone?.();
        }}
      >
        <SimpleGrid cols={2}>
          <TextInput label="From (UTC)" type="datetime-local" required value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
          <TextInput label="To (UTC)" type="datetime-local" required value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        </SimpleGrid>
      </ReasonDialog>
      <ReasonDialog
        opened={enableOpen}
        title={`Re-enable ${endpointId}`}
        description="Deliveries to this endpoint resume at once; make sure the tenant has fixed their receiver."
        confirmLabel="Re-enable"
        onClose={() => setEnableOpen(false)}
        onConfirm={async (reason) => {
          const res = await api.post<{ status?: string }>(`/v1/support/webhook_endpoints/${encodeURIComponent(endpointId)}/enable`, { reason });
          setNotice(`Endpoint re-enabled${res?.status ? `: status is now ${res.status}` : ''}.`);
          onDone?.();
        }}
      />
    </>
  );
}
