import { Code } from '@mantine/core';

export function JsonView({ value, label }: { value: unknown; label?: string }) {
  if (value === null || value === undefined) return <Code aria-label={label}>—</Code>;
  return (
    <Code block aria-label={label} style={{ maxHeight: 260, overflow: 'auto', whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
      {JSON.stringify(value, null, 2)}
    </Code>
  );
}
