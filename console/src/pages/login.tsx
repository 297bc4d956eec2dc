import { useEffect, useState } from 'react';
import { Alert, Box, Button, Center, Code, Divider, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { api, ApiError, type StaffSession } from '../api';
import { useSession } from '../session';
import { EnvironmentBar } from '../components/environment-bar';
import { ErrorAlert, PageLoader } from '../components/states';

interface LoginOptions {
  local: boolean;
  sso: boolean;
  environment: string;
}

const SSO_ERRORS: Record<string, string> = {
  sso_failed: 'Single sign-on did not complete. Try again, or ask your identity provider administrator.',
  no_role: 'Your identity provider account has no support console role. Ask an administrator to grant one.',
  account_conflict: 'Your SSO identity conflicts with an existing staff account (same email, different login). Ask an administrator.',
  disabled: 'Your staff account is disabled.',
};

/** A console path to return to after login: same-origin, inside the console, never a scheme-relative URL. */
function safeReturnTo(value: string | null): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || value.startsWith('/login')) return '/search';
  return value;
}

export function LoginPage() {
  const { state, signedIn } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const returnTo = safeReturnTo(params.get('return_to'));
  const ssoError = params.get('error');
  const [options, setOptions] = useState<LoginOptions | undefined>();
  const [optionsError, setOptionsError] = useState<ApiError | undefined>();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [totpAsked, setTotpAsked] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  useEffect(() => {
    api.publicGet<LoginOptions>('/v1/staff/login_options').then(setOptions, (e: unknown) => {
      setOptionsError(e instanceof ApiError ? e : new ApiError(0, { type: 'api_error', code: 'client_error', message: String(e) }));
    });
  }, []);

  if (state.status === 'signed_in') return <Navigate to={returnTo} replace />;
  if (!options && !optionsError) return <PageLoader />;

  const environment = options?.environment ?? 'unknown';
  // Outside development every local account has a second factor, so the field is always there.
  const showTotp = totpAsked || environment !== 'development';

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const session = await api.publicPost<StaffSession>('/v1/staff/login', {
        email: email.trim(),
        password,
        ...(totp.trim() ? { totp_code: totp.trim() } : {}),
      });
      signedIn(session);
      void navigate(returnTo, { replace: true }); // a promise only under a data router; this app uses <BrowserRouter>
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(0, { type: 'api_error', code: 'client_error', message: String(e) });
      if (err.code === 'totp_required') {
        setTotpAsked(true);
        setError(totpAsked ? err : undefined);
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  const ssoHref = `/v1/staff/sso/start?return_to=${encodeURIComponent(`/console${returnTo}`)}`;

  return (
    <Box>
      <EnvironmentBar environment={environment} />
      <Center mih="85vh" p="md">
        <Paper withBorder shadow="sm" p="xl" w={420} component="main">
          <Stack>
            <div>
              <Title order={2}>NimbusPay support console</Title>
              <Text size="sm" c="dimmed">Staff sign-in · {environment}</Text>
            </div>
            {state.status === 'signed_out' && state.reason && !ssoError && <Alert color="blue">{state.reason}</Alert>}
            {ssoError && (
              <Alert color="red" title="Single sign-on failed" role="alert">{SSO_ERRORS[ssoError] ?? `Single sign-on failed (${ssoError}).`}</Alert>
            )}
            {optionsError && <ErrorAlert error={optionsError} title="The API could not be reached" />}
            {options?.sso && (
              <Button component="a" href={ssoHref} size="md" variant="filled">Sign in with SSO</Button>
            )}
            {options?.sso && options.local && <Divider label="or with a local staff account" labelPosition="center" />}
            {options?.local && (
              <form aria-label="Local sign-in" onSubmit={(e) => { e.preventDefault(); if (!busy) void submit(); }}>
                <Stack>
                  <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
                  <PasswordInput label="Password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
                  {showTotp && (
                    <TextInput
                      label="Authentication code"
                      description="The 6-digit code from your authenticator app."
                      inputMode="numeric"
                      autoComplete="one-time-code"
                      maxLength={8}
                      value={totp}
                      onChange={(e) => setTotp(e.currentTarget.value)}
                      autoFocus={totpAsked}
                    />
                  )}
                  {totpAsked && !error && <Alert color="blue">This account has two-factor authentication: enter the code from your authenticator app.</Alert>}
                  {error && <ErrorAlert error={error} title="Sign-in failed" />}
                  <Button type="submit" loading={busy}>Sign in</Button>
                </Stack>
              </form>
            )}
            {options && !options.local && !options.sso && (
              <Alert color="yellow">No staff login method is configured on this deployment.</Alert>
            )}
            <Text size="xs" c="dimmed">
              No account? Ask a platform admin: local accounts are created with <Code>nimbuspay staff create</Code>; with SSO, your
              identity provider group grants the role.
            </Text>
          </Stack>
        </Paper>
      </Center>
    </Box>
  );
}
