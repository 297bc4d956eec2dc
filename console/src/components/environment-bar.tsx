import { Box, Text } from '@mantine/core';

// Always on screen: an action in production must never be mistaken for one in staging. Production is a solid red
// bar in capitals; staging amber; development blue.
const STYLES: Record<string, { bg: string; fg: string; text: string }> = {
  production: { bg: '#c92a2a', fg: '#ffffff', text: 'PRODUCTION — live customer data; every action is real and audited' },
  staging: { bg: '#f59f00', fg: '#1a1b1e', text: 'STAGING' },
  development: { bg: '#1c7ed6', fg: '#ffffff', text: 'DEVELOPMENT' },
};

export function EnvironmentBar({ environment }: { environment: string }) {
  const style = STYLES[environment] ?? { bg: '#495057', fg: '#ffffff', text: environment.toUpperCase() };
  return (
    <Box
      role="status"
      aria-label={`Environment: ${environment}`}
      data-environment={environment}
      style={{ background: style.bg, color: style.fg, textAlign: 'center', padding: environment === 'production' ? '6px 0' : '2px 0' }}
    >
      <Text fw={800} size={environment === 'production' ? 'md' : 'xs'} style={{ letterSpacing: '0.08em' }}>{style.text}</Text>
    </Box>
  );
}
