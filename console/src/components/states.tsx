import { Alert, Button, Center, Group, Loader, Skeleton, Stack, Text } from '@mantine/core';
import type { ApiError } from '../api';
import type { ApiState } from '../hooks';

export function LoadingBlock({ label = 'Loading…', rows = 4 }: { label?: string; rows?: number }) {
  return (
    <Stack gap="xs" aria-busy="true" aria-label={label}>
      <Group gap="xs"><Loader size="sm" /><Text size="sm" c="dimmed">{label}</Text></Group>
      {Array.from({ length: rows }, (_, i) => <Skeleton key={i} height={28} radius="sm" />)}
    </Stack>
  );
}

export function PageLoader() {
  return <Center h="60vh"><Loader aria-label="Loading" /></Center>;
}

/** The API's own message and request id, so a colleague can find the failing request in the request log. */
export function ErrorAlert({ error, title = 'Something went wrong', onRetry }: { error: ApiError; title?: string; onRetry?: () => void }) {
  return (
    <Alert color="red" title={title} role="alert">
      <Stack gap={4}>
        <Text size="sm">{error.message}</Text>
        <Text size="xs" c="dimmed">
          {error.code}{error.status ? ` · HTTP ${error.status}` : ''}{error.requestId ? ` · request ${error.requestId}` : ''}
        </Text>
        {onRetry && <Group><Button size="xs" variant="light" color="red" onClick={onRetry}>Try again</Button></Group>}
      </Stack>
    </Alert>
  );
}

export function EmptyRow({ children }: { children: string }) {
  return <Text c="dimmed" size="sm" py="md">{children}</Text>;
}

/** A list's loading, error and empty states; the caller renders the rows once there are some. */
export function ListStates({ list, loadingLabel, empty }: { list: ApiState<{ data: unknown[] }>; loadingLabel: string; empty: string }) {
  return (
    <>
      {list.loading && <LoadingBlock label={loadingLabel} />}
      {list.error && <ErrorAlert error={list.error} onRetry={list.reload} />}
      {list.data && list.data.data.length === 0 && <EmptyRow>{empty}</EmptyRow>}
    </>
  );
}

/** Clear and Apply under a filter form (Apply is the form's submit). */
export function FilterActions({ onClear }: { onClear(): void }) {
  return (
    <Group justify="flex-end" mt="sm">
      <Button variant="default" onClick={onClear}>Clear</Button>
      <Button type="submit">Apply filters</Button>
    </Group>
  );
}
