import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isAlive, postgresProcesses, runningPostmaster } from '../helpers/processes.js';
import { startCommandLauncher, type StartedPlatform } from '../helpers/start-command.js';
import { CARDS, cardBody } from '../payments/helpers.js';
import { ACCOUNTS, bankBody } from '../bank/helpers.js';
import { sandboxControl, type ProcessorControlState } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';

// `nimbuspay start` (the whole platform in one Node process: embedded PostgreSQL, API, worker, processor) killed
// with SIGKILL while the processor holds requests, then started again on the same data directory: the new process
// stops the orphaned PostgreSQL, and every payment converges, with no money taken twice.

const ADMIN_SECRET = 'platform-killed-admin-secret-0123456789';
/**
 * Latency raised before the kill: far longer than the wait for the held requests, so they are still held at the kill
 * however slowly a busy machine brings the last of them in (they die with the process; the restart has none).
 */
const HELD_LATENCY_MS = 120_000;
/** Waits on the first platform's progress: generous, a busy machine is slow but these are states, not timings. */
const STEP_DEADLINE_MS = 60_000;
const CONVERGENCE_DEADLINE_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** The card whose authorization the processor records but whose answer NimbusPay never gets before the kill. */
const LOST_ANSWER_AMOUNT = 2_100;

type Processor = 'sandbox' | 'stripe-local';
interface Answer { status: number; body: any; text: string }
/** A request sent without awaiting it: its answer, or the error it died with (the platform was killed). */
type Outcome = Answer | { lost: unknown };

/** Environment of every start in this file: fast reconciliation, settlement and polling, so convergence is quick. */
const START_ENV: Record<string, string> = {
  PROCESSOR_TIMEOUT_MS: '1000',
  RECONCILE_INTERVALS_MS: '200,500,1000',
  SANDBOX_SETTLEMENT_DELAY_MS: '500',
  BANK_TRANSFER_SUBMIT_DELAY_MS: '100',
  BANK_EXPECTED_SETTLEMENT_MS: '1000',
  BANK_RAIL_POLL_INTERVAL_MS: '500',
  // No late-return polling of settled transfers: with the local Stripe server those polls are GETs under
  // /v1/payment_intents, which could draw the lost_answer fault meant for a card's PaymentIntent.
  BANK_RETURN_WINDOW_MS: '0',
  WORKER_POLL_INTERVAL_MS: '50',
  STRIPE_SEARCH_CONSISTENCY_MS: '1000',
};

/** The demo tenant's credentials from the banner's curl line (a new secret at each start). */
function demoCredentials(platform: StartedPlatform): { clientId: string; clientSecret: string } {
  const match = /curl -s -u '([^':]+):([^']+)'/.exec(platform.output());
  assert.ok(match, `the banner shows the demo tenant's credentials:\n${platform.output()}`);
  return { clientId: match[1]!, clientSecret: match[2]! };
}

async function call(url: string, method: string, pathname: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method === 'POST' && pathname.startsWith('/v1/')) headers['idempotency-key'] = randomUUID();
  const res = await fetch(`${url}${pathname}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

async function tokenFor(platform: StartedPlatform): Promise<string> {
  const { clientId, clientSecret } = demoCredentials(platform);
  const res = await fetch(`${platform.url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Card authorizations and bank debits the processor recorded (the local Stripe server: PaymentIntents, both kinds). */
function recordedAtProcessor(processor: Processor, state: ProcessorControlState): { authorizations?: number; debits?: number; total: number } {
  if (processor === 'sandbox') {
    const authorizations = Number(state.counts.authorizations ?? 0);
    const debits = Number(state.counts.bank_debits ?? 0);
    return { authorizations, debits, total: authorizations + debits };
  }
  return { total: Number(state.counts.payment_intent ?? 0) };
}

const isCard = (p: any): boolean => p.payment_method?.type === 'card';
const isTransfer = (p: any): boolean => p.payment_method?.type === 'bank_transfer';

async function platformKilledScenario(t: TestContext, processor: Processor): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `nimbuspay-killed-${processor}-`));
  // as root, initdb runs as a separate 'postgres' user that must be able to reach the data directory
  await chmod(dataDir, 0o755);
  const { startPlatform, stopStarted } = startCommandLauncher();
  const start = (ports?: StartedPlatform['ports']) => startPlatform({
    dataDir,
    // a start writes the CLI's "local" profile: into the data directory, never $HOME
    configDir: path.join(dataDir, 'cli-config'),
    adminSecret: ADMIN_SECRET,
    env: START_ENV,
    args: processor === 'stripe-local' ? ['--processor=stripe-local'] : [],
    ...(ports ? { ports } : {}),
  });
  const postmasters = new Set<number>();
  // Whatever happened: no `start` outlives the test, then no PostgreSQL on its data directory, then the directory.
  t.after(async () => {
    await stopStarted(dataDir, { signal: 'SIGKILL' });
    let left = postgresProcesses(dataDir, postmasters);
    if (left.length > 0) left = await eventually(async () => {
      const now = postgresProcesses(dataDir, postmasters);
      return now.length === 0 ? now : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 }).catch(() => postgresProcesses(dataDir, postmasters));
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* already gone */ }
    }
    await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 }).catch(() => {});
    if (left.length > 0) throw new Error(`postgres processes were left behind: ${left.map((p) => p.line).join('; ')}`);
  });
  // A start that lost a picked port to another test file's socket (EADDRINUSE) starts again on fresh ports, on the
  // same data directory: the next start stops any PostgreSQL the failed one left, which is itself what this file tests.
  const first = await start();
  t.diagnostic(`first start ready in ${first.readyAfterMs} ms`);
  const orphan = runningPostmaster(dataDir);
  assert.ok(orphan, 'the first start runs its PostgreSQL on the data directory');
  postmasters.add(orphan);
  const token = await tokenFor(first);
  const create = (body: Record<string, unknown>) => call(first.url, 'POST', '/v1/payments', { token, body });
  const inFlight = (body: Record<string, unknown>): Promise<Outcome> => create(body).catch((lost: unknown) => ({ lost }));

  // Some traffic completes: card payments succeed, bank transfers settle (a card answered `processing` because a
  // busy machine took longer than PROCESSOR_TIMEOUT_MS is reconciled meanwhile).
  const settledCards = await Promise.all([CARDS.visa, CARDS.mastercard, CARDS.amex, CARDS.visa].map((n) => create(cardBody(n))));
  const settledTransfers = await Promise.all([1, 2, 3, 4].map(() => create(bankBody(ACCOUNTS.settles))));
  for (const res of [...settledCards, ...settledTransfers]) assert.equal(res.status, 201, res.text);
  await eventually(async () => {
    const all = await Promise.all([...settledCards, ...settledTransfers].map((res) => call(first.url, 'GET', `/v1/payments/${res.body.id}`, { token })));
    return all.every((r) => r.body?.status === 'succeeded' && (isCard(r.body) || r.body.bank_transfer?.rail_status === 'settled')) ? true : undefined;
  }, { timeoutMs: STEP_DEADLINE_MS, intervalMs: 100 });

  // A card the processor authorizes and records, but whose answer NimbusPay never gets before the kill: after the
  // restart the reconciler must find that authorization, not make a second one nor fail a charged card.
  // Its amount tells it apart even if its create request dies unanswered.
  const before = await sandboxControl(first.processorUrl);
  let lostAnswerCard: Promise<Outcome>;
  if (processor === 'sandbox') {
    lostAnswerCard = inFlight(cardBody(CARDS.lostResponse, { amount: LOST_ANSWER_AMOUNT }));
  } else {
    await sandboxControl(first.processorUrl, { fail_next: { count: 1, mode: 'lost_answer', path_prefix: '/v1/payment_intents' } });
    lostAnswerCard = inFlight(cardBody(CARDS.visa, { amount: LOST_ANSWER_AMOUNT }));
  }
  await eventually(async () => {
    const state = await sandboxControl(first.processorUrl);
    const recorded = recordedAtProcessor(processor, state).total > recordedAtProcessor(processor, before).total;
    return recorded && (processor === 'sandbox' || state.fail_next === null) ? true : undefined;
  }, { timeoutMs: STEP_DEADLINE_MS, intervalMs: 10 });
  // From now on the processor holds every request before executing it (the reconciler's lookups too).
  const raised = await sandboxControl(first.processorUrl, { latency_ms: HELD_LATENCY_MS, ...(processor === 'stripe-local' ? { clear_requests: true } : {}) });

  // Mid-traffic: more payments, not awaited.
  const lateCards = [CARDS.visa, CARDS.mastercard, CARDS.visa].map((n) => inFlight(cardBody(n)));
  const lateTransfers = [1, 2, 3].map(() => inFlight(bankBody(ACCOUNTS.settles)));
  const heldWanted = lateCards.length + lateTransfers.length;
  if (processor === 'sandbox') {
    // Each card authorization and each bank debit submission is held by the sandbox (it counts latency holds).
    await eventually(async () => ((await sandboxControl(first.processorUrl)).held_requests >= raised.held_requests + heldWanted ? true : undefined), { timeoutMs: STEP_DEADLINE_MS, intervalMs: 10 });
  } else {
    // The local Stripe server counts only lost-answer holds in held_requests; a request it delays is in its
    // request log (written before the delay): a card starts with POST /v1/payment_methods, a debit is a POST
    // /v1/payment_intents.
    await eventually(async () => {
      const res = await fetch(`${first.processorUrl}/_control/requests`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const log = ((await res.json()) as { data: Array<{ method: string }> }).data;
      return log.filter((r) => r.method === 'POST').length >= heldWanted ? true : undefined;
    }, { timeoutMs: STEP_DEADLINE_MS, intervalMs: 10 });
  }

  await first.kill9();
  assert.ok(isAlive(orphan), 'the SIGKILLed start left its PostgreSQL running, orphaned');
  const outcomes = await Promise.all([lostAnswerCard, ...lateCards, ...lateTransfers]);
  const answered = (o: Outcome): o is Answer => !('lost' in o);
  const summary = (o: Outcome) => (answered(o) ? `${o.status} ${o.body?.status}` : 'lost');
  t.diagnostic(`creates in flight at the kill: lost-answer card ${summary(outcomes[0]!)}; cards ${outcomes.slice(1, 1 + lateCards.length).map(summary).join(', ')}; transfers ${outcomes.slice(1 + lateCards.length).map(summary).join(', ')}`);

  // The same data directory and ports: the new process must stop the orphan itself to come up.
  const restartedAt = Date.now();
  const second = await start(first.ports);
  t.diagnostic(`restart ready in ${second.readyAfterMs} ms`);
  const postmaster = runningPostmaster(dataDir);
  assert.ok(postmaster, 'the restarted platform runs PostgreSQL on the data directory');
  postmasters.add(postmaster);
  assert.notEqual(postmaster, orphan);
  assert.equal(isAlive(orphan), false, 'the restarted platform stopped the orphaned PostgreSQL');

  // Tokens are signed with keys kept in the database; the demo client's secret changes at each start.
  let tenantToken = token;
  const probe = await call(second.url, 'GET', '/v1/payments?limit=1', { token });
  if (probe.status !== 200) {
    t.diagnostic(`the token of the first run answered ${probe.status} after the restart; using the new demo credentials`);
    tenantToken = await tokenFor(second);
  }

  // No payment stays processing.
  let last: any[] = [];
  const listed = await eventually(async () => {
    const res = await call(second.url, 'GET', '/v1/payments?limit=100', { token: tenantToken }).catch(() => undefined);
    if (res?.status !== 200) return undefined;
    last = res.body.data;
    return last.some((p) => p.status === 'processing') ? undefined : res.body;
  }, { timeoutMs: CONVERGENCE_DEADLINE_MS, intervalMs: 200 }).catch(() => {
    assert.fail(`payments still processing ${CONVERGENCE_DEADLINE_MS} ms after the restart: ${JSON.stringify(last.filter((p) => p.status === 'processing').map((p) => ({ id: p.id, type: p.payment_method?.type, rail: p.bank_transfer?.rail_status })))}`);
  });
  t.diagnostic(`no payment processing ${Date.now() - restartedAt} ms after the restart began`);
  assert.equal(listed.has_more, false);
  const payments = listed.data as any[];
  const byId = new Map(payments.map((p) => [p.id as string, p]));

  // Every payment whose creation was answered is there; nothing else but the ones whose answer died with the process.
  const known = [...settledCards, ...settledTransfers, ...outcomes.filter(answered)];
  for (const res of known) {
    assert.equal(res.status, 201, res.text);
    assert.ok(byId.has(res.body.id), `payment ${res.body.id} is listed`);
  }
  assert.ok(payments.length <= settledCards.length + settledTransfers.length + outcomes.length, `${payments.length} payments listed`);

  // Bank transfers: settled (one whose create died unanswered may instead never have been submitted).
  const answeredIds = new Set(known.map((res) => res.body.id as string));
  for (const p of payments.filter(isTransfer)) {
    const settled = p.status === 'succeeded' && p.bank_transfer?.rail_status === 'settled' && p.amount_captured === 10_000;
    if (answeredIds.has(p.id)) assert.ok(settled, `transfer ${p.id}: ${p.status}/${p.bank_transfer?.rail_status}`);
    else assert.ok(settled || p.status === 'failed' || p.status === 'canceled', `transfer ${p.id}: ${p.status}/${p.bank_transfer?.rail_status}`);
  }
  assert.ok(payments.filter(isTransfer).length >= settledTransfers.length);

  // Cards: succeeded, or failed processor_timeout (the documented outcome of a request the processor never
  // recorded); the ones completed before the kill and the one the processor recorded are succeeded.
  for (const p of payments.filter(isCard)) {
    if (p.status === 'succeeded') assert.equal(p.amount_captured, p.amount, p.id);
    else assert.deepEqual([p.status, p.failure_code], ['failed', 'processor_timeout'], p.id);
  }
  for (const res of settledCards) assert.equal(byId.get(res.body.id).status, 'succeeded');
  const lostAnswerPayments = payments.filter((p) => p.amount === LOST_ANSWER_AMOUNT);
  assert.deepEqual(lostAnswerPayments.map((p) => p.status), ['succeeded'], 'the card the processor authorized before the kill');

  // Money not duplicated, nor taken without a payment to show for it: the processor's own records equal the payments
  // NimbusPay says it collected (declines and unrecorded requests leave no record at the processor).
  const succeededCards = payments.filter((p) => isCard(p) && p.status === 'succeeded').length;
  const succeededTransfers = payments.filter((p) => isTransfer(p) && p.status === 'succeeded').length;
  const recorded = recordedAtProcessor(processor, await sandboxControl(second.processorUrl));
  t.diagnostic(`cards succeeded ${succeededCards}, failed ${payments.filter((p) => isCard(p) && p.status === 'failed').length}; transfers settled ${succeededTransfers}; processor records ${JSON.stringify(recorded)}`);
  if (processor === 'sandbox') {
    assert.equal(recorded.authorizations, succeededCards, 'sandbox authorizations = succeeded card payments');
    assert.equal(recorded.debits, succeededTransfers, 'sandbox bank debits = settled transfers');
  } else {
    assert.equal(recorded.total, succeededCards + succeededTransfers, 'PaymentIntents at the local Stripe server = succeeded card payments + settled transfers');
  }

  // A clean stop of the restarted platform (the hook checks that no postgres is left either way).
  await second.stop({ graceMs: 30_000 });
}

test('platform killed with SIGKILL mid-traffic (sandbox), restarted on its data directory: the orphaned PostgreSQL is stopped, every payment converges, nothing charged twice', { timeout: 300_000 }, async (t) => {
  await platformKilledScenario(t, 'sandbox');
});

test('platform killed with SIGKILL mid-traffic (local Stripe server), restarted on its data directory: the orphaned PostgreSQL is stopped, every payment converges, nothing charged twice', { timeout: 300_000 }, async (t) => {
  await platformKilledScenario(t, 'stripe-local');
});
