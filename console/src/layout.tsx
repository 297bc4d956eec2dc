import { AppShell, Badge, Button, Group, NavLink, Text, Title } from '@mantine/core';
import { Link, Outlet, useLocation } from 'react-router';
import { useSession, useSignedInSession } from './session';
import { EnvironmentBar } from './components/environment-bar';

const NAV = [
  { to: '/search', label: 'Search' },
  { to: '/health', label: 'Health' },
  { to: '/requests', label: 'Requests' },
  { to: '/webhooks', label: 'Webhooks' },
  { to: '/audit', label: 'Audit log' },
  { to: '/tenants', label: 'Tenants' },
] as const;

const ROLE_LABEL: Record<string, string> = {
  support_agent: 'Support agent',
  support_operator: 'Support operator',
  platform_admin: 'Platform admin',
};

export function Layout() {
  const session = useSignedInSession();
  const { logout } = useSession();
  const location = useLocation();
  const production = session.environment === 'production';
  return (
    <AppShell header={{ height: production ? 96 : 84 }} navbar={{ width: 200, breakpoint: 'sm' }} padding="md">
      <AppShell.Header>
        <EnvironmentBar environment={session.environment} />
        <Group h={60} px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm">
            <Title order={4}>NimbusPay support</Title>
            <Badge color={production ? 'red' : session.environment === 'staging' ? 'yellow' : 'blue'} variant="filled">
              {session.environment}
            </Badge>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" aria-label="Signed in as" data-testid="staff-email">{session.staff.email}</Text>
            <Badge variant="light" aria-label="Role">{ROLE_LABEL[session.staff.role] ?? session.staff.role}</Badge>
            <Button size="xs" variant="default" onClick={() => void logout()}>Log out</Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Main navigation">
        {NAV.map((item) => (
          <NavLink
            key={item.to}
            component={Link}
            to={item.to}
            label={item.label}
            active={location.pathname.startsWith(item.to) || (item.to === '/search' && location.pathname.startsWith('/payments'))}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
