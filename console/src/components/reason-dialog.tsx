import { useState, type ReactNode } from 'react';
import { Button, Group, Modal, Stack, Text, Textarea } from '@mantine/core';
import { ApiError } from '../api';
import { ErrorAlert } from './states';

const MIN_REASON = 5;
const MAX_REASON = 1000;

/**
 * Every support action needs a written reason (it goes into the audit log). `onConfirm` gets the reason and
 * performs the call; its error is shown in the dialog, which stays open.
 */
export function ReasonDialog({ opened, title, description, confirmLabel, onClose, onConfirm, children, extraValid = true }: {
  opened: boolean;
  title: string;
  description?: ReactNode;
  confirmLabel: string;
  onClose(): void;
  onConfirm(reason: string): Promise<void>;
  children?: ReactNode;
  extraValid?: boolean;
}) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const trimmed = reason.trim();
  const valid = trimmed.length >= MIN_REASON && trimmed.length <= MAX_REASON && extraValid;
  const close = () => {
    if (busy) return;
    setReason('');
    setError(undefined);
    onClose();
  };
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm(trimmed);
      setReason('');
      onClose();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, { type: 'api_error', code: 'client_error', message: String(e) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened={opened} onClose={close} title={title} centered>
      <form onSubmit={(e) => { e.preventDefault(); if (valid && !busy) void submit(); }}>
        <Stack>
          {description && <Text size="sm">{description}</Text>}
          {children}
          <Textarea
            label="Reason"
            description={`Recorded in the audit log (${MIN_REASON}–${MAX_REASON} characters).`}
            required
            autosize
            minRows={3}
            maxLength={MAX_REASON}
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
            data-autofocus
          />
          {error && <ErrorAlert error={error} title="The action failed" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={close} disabled={busy}>Cancel</Button>
            <Button type="submit" loading={busy} disabled={!valid}>{confirmLabel}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
