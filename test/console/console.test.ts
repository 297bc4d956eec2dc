import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as OTPAuth from 'otpauth';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant } from '../helpers/tenants.js';
import { createStaffUser } from '../helpers/staff.js';
import { startOidcProvider } from '../helpers/oidc-provider.js';
import { createEndpoint, startReceiver } from '../webhooks/helpers.js';
import { CARDS, cardBody, post, waitForPaymentStatus } from '../payments/helpers.js';
import { ensureConsoleBuilt } from '../../scripts/build-console.js';
import { eventually } from '../helpers/eventually.js';

// The support console end to end: Debian's Chromium (scripts/ensure-chromium.sh installs it) driven by
// playwright-core against the real platform (API + worker), a real webhook receiver, and a real OpenID Connect
// provider on loopback. Assertions wait on what is visible on the page (Playwright's auto-waiting locators), never
// on time.

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve(import.meta.dirname, '../../test-results/console');
const STEP_TIMEOUT_MS = 20_000;

/** Every URL a browser context requested, and the page errors (CSP violations are console errors). */
function watch(context: BrowserContext): { urls: string[]; problems: string[] } {
  const seen = { urls: [] as string[], problems: [] as string[] };
  context.on('request', (request) => seen.urls.push(request.url()));
  context.on('page', (page) => watchPage(page, seen.problems));
  return seen;
}

function watchPage(page: Page, problems: string[]): void {
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A 401 on GET /v1/staff/session is how the console learns nobody is signed in; Chromium logs every non-2xx.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(`console error: ${message.text()}`);
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const origin = (url: string) => new URL(url).origin;

async function totpFromUri(uri: string): Promise<string> {
  const otp = OTPAuth.URI.parse(uri);
  assert.ok(otp instanceof OTPAuth.TOTP, 'the account has a TOTP (RFC 6238) second factor');
  return otp.generate();
}

interface Fixture {
  platform: TestPlatform;
  paymentId: string;
  requestId: string;
  failedDeliveryId: string;
  endpointId: string;
  receiver: Awaited<ReturnType<typeof startReceiver>>;
}

test('support console: local login with TOTP, search, timeline, delivery retry with audit, health, and SSO', { timeout: 240_000 }, async (t) => {
  // Everything started here is closed in reverse order, whatever fails, registered before anything can fail.
  const closers: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch((error: unknown) => t.diagnostic(`close failed: ${String(error)}`));
  });

  await ensureConsoleBuilt((line) => t.diagnostic(line));
  await mkdir(SHOTS, { recursive: true });

  const idp = await startOidcProvider();
  closers.push(() => idp.close());
  const receiver = await startReceiver();
  closers.push(() => receiver.close());
  receiver.respond((_req, res) => { res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver down'); });

  const platform = await startTestPlatform({
    worker: true,
    env: {
      ...idp.platformEnv({ roleMap: 'support-ops=support_operator,support-team=support_agent' }),
      // one retry, 100 ms after the first attempt: the delivery fails within the test's first second
      WEBHOOK_RETRY_SCHEDULE_MS: '100',
    },
  });
  closers.push(() => platform.close());
  idp.allowRedirect(`${platform.baseUrl}/v1/staff/sso/callback`);

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  closers.push(() => browser.close());

  // ---- data, through the tenant API as an integrator makes it ----
  const tenant = await createTenant(platform, { name: 'Console Test Tenant' });
  const endpoint = await createEndpoint(platform, tenant.token, { url: receiver.url, enabled_events: ['payment.*'] });
  const created = await post(platform, tenant.token, '/v1/payments', cardBody(CARDS.visa, { customer_reference: 'cus_console_e2e' }));
  assert.equal(created.status, 201, created.text);
  const paymentId = created.body.id as string;
  const requestId = created.headers.get('x-request-id')!;
  assert.ok(requestId, 'the API answered with its request id');
  await waitForPaymentStatus(platform, tenant.token, paymentId, 'succeeded');
  let failedDeliveryId = '';
  await eventually(async () => {
    const res = await platform.request('GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries?limit=100`, { token: tenant.token });
    const deliveries = (res.body?.data ?? []) as Array<{ id: string; status: string }>;
    if (deliveries.length === 0 || deliveries.some((d) => d.status === 'pending')) return false;
    failedDeliveryId = deliveries.find((d) => d.status === 'failed')?.id ?? '';
    return failedDeliveryId !== '';
  }, { timeoutMs: 30_000, what: 'a webhook delivery failed (receiver answers 500)' });
  const fx: Fixture = { platform, paymentId, requestId, failedDeliveryId, endpointId: endpoint.id, receiver };

  // ---- (a)–(d): a support operator with a local account and TOTP ----
  const operator = await createStaffUser(platform, { role: 'support_operator', totp: true });
  assert.ok(operator.totpUri, 'the account has a TOTP secret');
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  closers.push(() => context.close());
  const seen = watch(context);
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);

  await t.test('(a) local login through the real login page, with the TOTP code the API asks for', async () => {
    await page.goto(`${platform.baseUrl}/console/`);
    await page.waitForURL(/\/console\/login\?return_to=/);
    await page.getByRole('status', { name: 'Environment: development' }).waitFor();
    await page.getByLabel(/^Email/).fill(operator.email);
    await page.getByLabel(/^Password/).fill(operator.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // development shows the code field only once the API says totp_required
    const code = page.getByLabel('Authentication code');
    await code.waitFor();
    await shot(page, 'login');
    await code.fill(await totpFromUri(operator.totpUri!));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/console\/search$/);
    await page.getByTestId('staff-email').filter({ hasText: operator.email }).waitFor();
    await page.getByText('Support operator').waitFor();
  });

  await t.test('(b) finds the payment by its id and by the request id, and opens its timeline', async () => {
    await searchFor(page, fx.paymentId);
    // one payment hit: straight to the payment
    await page.waitForURL(new RegExp(`/console/payments/${fx.paymentId}$`));
    await page.getByRole('heading', { name: `Payment ${fx.paymentId}` }).waitFor();
    await page.getByLabel('Payment summary').getByText('succeeded').first().waitFor();
    await page.getByLabel('Payment summary').getByText('Console Test Tenant').waitFor();
    await page.getByText(`request ${fx.requestId}`).first().waitFor();
    await page.getByText('POST /v1/payments', { exact: false }).first().waitFor();
    await page.getByText(`delivery ${fx.failedDeliveryId}`).first().waitFor();

    // operator actions on the payment: an internal note and a reconciliation request, both land on the timeline
    await page.getByRole('button', { name: 'Add note' }).click();
    const noteDialog = page.getByRole('dialog', { name: 'Add internal note' });
    await noteDialog.getByLabel(/^Note/).fill('Customer asked about this charge on the phone.');
    await noteDialog.getByRole('button', { name: 'Add note' }).click();
    await page.getByText('Note added.').waitFor();
    await page.getByLabel('Timeline').getByText('Customer asked about this charge on the phone.').waitFor();
    await page.getByRole('button', { name: 'Reconcile now' }).click();
    const reconcileDialog = page.getByRole('dialog', { name: 'Reconcile this payment now' });
    await reconcileDialog.getByLabel('Reason').fill('Customer says the bank shows a different amount');
    await reconcileDialog.getByRole('button', { name: 'Reconcile now' }).click();
    await page.getByText(/Reconciliation requested: \d+ attempt\(s\) scheduled/).waitFor();
    await page.getByLabel('Timeline').getByText('support.payment.reconcile', { exact: false }).first().waitFor();
    await shot(page, 'payment');

    await page.getByRole('link', { name: 'Search', exact: true }).click();
    await searchFor(page, fx.requestId);
    const results = page.getByLabel('Search results');
    await results.getByText(fx.requestId).first().waitFor();
    await shot(page, 'search');
    await results.getByRole('link', { name: 'Open payment' }).first().click();
    await page.waitForURL(new RegExp(`/console/payments/${fx.paymentId}$`));
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
  });

  await t.test('(c) retries the failed delivery with a reason and sees the audit entry', async () => {
    await page.getByRole('link', { name: `delivery ${fx.failedDeliveryId}` }).first().click();
    await page.waitForURL(new RegExp(`/console/webhooks/deliveries/${fx.failedDeliveryId}$`));
    await page.getByTestId('delivery-status').filter({ hasText: 'failed' }).waitFor();
    await page.getByRole('table', { name: 'Attempts' }).getByText('500').first().waitFor();
    await shot(page, 'delivery');

    fx.receiver.respond((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'); });
    const before = fx.receiver.requests.length;
    await page.getByRole('button', { name: 'Retry delivery' }).click();
    const dialog = page.getByRole('dialog', { name: 'Retry this delivery' });
    await dialog.waitFor();
    const reason = `Customer fixed their receiver (ticket ${Date.now()})`;
    await dialog.getByLabel('Reason').fill(reason);
    await dialog.getByRole('button', { name: 'Retry', exact: true }).click();
    await page.getByText('Retry scheduled.', { exact: false }).waitFor();
    // the page follows the pending delivery until the worker has delivered it
    await page.getByTestId('delivery-status').filter({ hasText: 'succeeded' }).waitFor();
    assert.ok(fx.receiver.requests.length > before, 'the receiver got the retried delivery');
    await page.getByLabel('Endpoint status').filter({ hasText: 'enabled' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Re-enable endpoint…' }).count(), 0, 'an enabled endpoint is not offered re-enabling');
    await shot(page, 'delivery-retried');

    // replay the endpoint's events of the last hour (UTC, as the dialog says)
    await page.getByRole('button', { name: 'Replay events…' }).click();
    const replay = page.getByRole('dialog', { name: `Replay events to ${fx.endpointId}` });
    await replay.waitFor();
    const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16);
    await replay.getByLabel(/^From \(UTC\)/).fill(minute(Date.now() - 3_600_000));
    await replay.getByLabel(/^To \(UTC\)/).fill(minute(Date.now() + 3_600_000));
    await replay.getByLabel('Reason').fill('Receiver was down for an hour; resend what it missed');
    await replay.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.getByText(/Replay scheduled: [1-9]\d* event\(s\) queued/).waitFor();

    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.waitForURL(/\/console\/audit/);
    await page.getByLabel('Action', { exact: true }).fill('support.webhook_delivery.retry');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/action=support\.webhook_delivery\.retry/);
    const entries = page.getByRole('table', { name: 'Audit entries' });
    await entries.getByText('support.webhook_delivery.retry').first().waitFor();
    await entries.getByText(reason).waitFor();
    await entries.getByText(fx.failedDeliveryId).first().waitFor();
    await entries.getByText(operator.id).first().waitFor();
    await shot(page, 'audit');
  });

  await t.test('(d) opens the health page', async () => {
    await page.getByRole('link', { name: 'Health', exact: true }).click();
    await page.waitForURL(/\/console\/health$/);
    await page.getByRole('heading', { name: 'System health' }).waitFor();
    await page.getByLabel('Environment', { exact: true }).getByText('development').waitFor();
    await page.getByLabel('Processor', { exact: true }).getByText('sandbox').waitFor();
    await page.getByLabel('Migrations', { exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Webhook backlog' }).waitFor();
    await shot(page, 'health');

    // the other pages render too (shared links keep their filters in the URL)
    await page.goto(`${platform.baseUrl}/console/requests?request_id=${encodeURIComponent(fx.requestId)}`);
    await page.getByRole('table', { name: 'Requests' }).getByText('/v1/payments').first().waitFor();
    await shot(page, 'requests');
    await page.goto(`${platform.baseUrl}/console/tenants/${tenant.tenantId}`);
    await page.getByRole('table', { name: 'Webhook endpoints' }).getByText(fx.endpointId).waitFor();
    await page.getByRole('table', { name: 'API clients' }).getByText(tenant.clientId).waitFor();
    await shot(page, 'tenant');
    await page.goto(`${platform.baseUrl}/console/webhooks?endpoint=${fx.endpointId}`);
    await page.getByRole('table', { name: 'Webhook deliveries' }).getByText(fx.failedDeliveryId).waitFor();
    await shot(page, 'webhooks');
  });

  await t.test('the console made no request outside the API origin and hit no CSP violation or page error', () => {
    const apiOrigin = origin(platform.baseUrl);
    const foreign = seen.urls.filter((u) => !u.startsWith('data:') && origin(u) !== apiOrigin);
    assert.deepEqual(foreign, [], 'requests to another origin');
    assert.ok(seen.urls.some((u) => u.includes('/v1/support/')), 'the console talked to the support API');
    assert.deepEqual(seen.problems, []);
  });

  // ---- (e): single sign-on, in a fresh browser context ----
  await t.test('(e) signs in with SSO against the OpenID Connect provider and lands in the console', async () => {
    // a support agent this time: reads everything, and the console offers no action
    idp.addAccount({ sub: 'idp|sam', email: 'sam@corp.test', name: 'Sam Support', roles: ['support-team'] });
    idp.setNextLogin('idp|sam');
    const ssoContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    closers.push(() => ssoContext.close());
    const ssoSeen = watch(ssoContext);
    const ssoPage = await ssoContext.newPage();
    ssoPage.setDefaultTimeout(STEP_TIMEOUT_MS);
    const target = `/console/webhooks/deliveries/${fx.failedDeliveryId}`;
    await ssoPage.goto(`${platform.baseUrl}${target}`);
    await ssoPage.waitForURL(/\/console\/login\?return_to=/);
    await shot(ssoPage, 'sso-login');
    await ssoPage.getByRole('link', { name: 'Sign in with SSO' }).click();
    // provider → its login and consent interactions → /v1/staff/sso/callback → back where the person was going
    await ssoPage.waitForURL(`${platform.baseUrl}${target}`);
    await ssoPage.getByTestId('staff-email').filter({ hasText: 'sam@corp.test' }).waitFor();
    await ssoPage.getByText('Support agent').waitFor();
    await ssoPage.getByTestId('delivery-status').filter({ hasText: 'succeeded' }).waitFor();
    assert.equal(await ssoPage.getByRole('button', { name: 'Retry delivery' }).count(), 0, 'no Retry button for a support agent');
    assert.equal(await ssoPage.getByRole('button', { name: 'Replay events…' }).count(), 0, 'no Replay button for a support agent');
    await shot(ssoPage, 'sso-landing');
    const allowed = new Set([origin(platform.baseUrl), origin(idp.issuer)]);
    assert.deepEqual(ssoSeen.urls.filter((u) => !u.startsWith('data:') && !allowed.has(origin(u))), []);
    assert.ok(ssoSeen.urls.some((u) => origin(u) === origin(idp.issuer)), 'the browser went through the identity provider');
    assert.deepEqual(ssoSeen.problems, []);

    // logout revokes the session: the console goes back to the login page
    await ssoPage.getByRole('button', { name: 'Log out' }).click();
    await ssoPage.waitForURL(/\/console\/login/);
    await ssoPage.getByText('You are signed out.').waitFor();
  });
});

async function searchFor(page: Page, q: string): Promise<void> {
  const box = page.getByRole('search').getByLabel('Search', { exact: true });
  await box.fill(q);
  await page.getByRole('search').getByRole('button', { name: 'Search', exact: true }).click();
}
