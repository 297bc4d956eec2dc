import { Button, Group } from '@mantine/core';

/**
 * Cursor paging as the API does it (newest first): "Older" continues after the last row, "Newer" goes back before
 * the first row. The cursor goes into the URL with the filters.
 */
export function Pager({ data, hasMore, cursor, onChange }: {
  data: Array<{ id: string }>;
  hasMore: boolean;
  cursor: { starting_after?: string; ending_before?: string };
  onChange(next: { starting_after?: string; ending_before?: string }): void;
}) {
  const onFirstPage = !cursor.starting_after && !cursor.ending_before;
  // Going back with ending_before, has_more says whether there are newer rows still.
  const hasNewer = cursor.ending_before ? hasMore : !onFirstPage;
  const hasOlder = cursor.ending_before ? true : hasMore;
  const first = data[0];
  const last = data[data.length - 1];
  return (
    <Group justify="flex-end" mt="sm">
      <Button variant="default" size="xs" disabled={!hasNewer || !first} onClick={() => first && onChange({ ending_before: first.id, starting_after: undefined })}>
        ← Newer
      </Button>
      <Button variant="default" size="xs" disabled={!hasOlder || !last} onClick={() => last && onChange({ starting_after: last.id, ending_before: undefined })}>
        Older →
      </Button>
    </Group>
  );
}
