import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort, roleProcessEnv, startTestPlatform, type TestPlatform, type TestResponse } from '../helpers/platform.js';
import { createTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, ownerQuery, post } from '../payments/helpers.js';
import { ACCOUNTS, createTransfer, getPayment, waitForTransfer } from '../bank/helpers.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';
import { Launcher, type LaunchedProcess } from '../helpers/launcher.js';
import { sandboxQuery } from '../helpers/sandbox-processor-fixture.js';

/**
 * Long enough that the rail events of the first transfers are still owed when the sandbox is killed, however slowly
 * a busy machine gets from their submission to the kill (3 s was not always enough).
 */
const SETTLEMENT_DELAY_MS = 10_000;

/** The sandbox processor as its own OS process (as in Kubernetes), so it can be killed with SIGKILL mid-traffic. */
async function startSandbox(launcher: Launcher, platform: TestPlatform, sandboxDb: TestDatabase, port: number): Promise<LaunchedProcess> {
  return launcher.start({
    name: 'sandbox processor',
    command: 'sandbox-processor',
    ports: { sandbox: port },
    env: (ports) => roleProcessEnv(platform, {
      SANDBOX_PROCESSOR_PORT: String(ports.sandbox),
      SANDBOX_DATABASE_URL: sandboxDb.ownerUrl,
      SANDBOX_SETTLEMENT_DELAY_MS: String(SETTLEMENT_DELAY_MS),
      SANDBOX_LATE_RETURN_DELAY_MS: '200',
    }),
    ready: (ports) => ({ url: `http://127.0.0.1:${ports.sandbox}/_control` }),
  });
}

test('sandbox processor killed with SIGKILL mid-traffic and restarted on its database: every payment converges, no debit or authorization twice', { timeout: 180_000 }, async (t) => {
  const sandboxPort = await freePort();
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const sandboxes = new Launcher();
  let sandboxDb: TestDatabase | undefined;
  let platform: TestPlatform | undefined;
  // One hook, in order: no sandbox process outlives the test whatever happened, then the platform, then the databases.
  t.after(async () => {
    await sandboxes.stopAll({ signal: 'SIGKILL' });
    await platform?.close();
    await sandboxDb?.drop();
  });
  // The sandbox process gets a database of its own: the platform's in-process sandbox (idle here) shares the
  // platform's, and a second replica on the sandbox's database would push its events while it is down.
  sandboxDb = await createTestDatabase();
  platform = await startTestPlatform({
    worker: true,
    env: { SANDBOX_PROCESSOR_URL: sandboxUrl, BANK_EXPECTED_SETTLEMENT_MS: '300', BANK_RAIL_POLL_INTERVAL_MS: '100' },
  });
  const tenant = await createTenant(platform);

  const first = await startSandbox(sandboxes, platform, sandboxDb, sandboxPort);
  const firstPlan = [[ACCOUNTS.settles, 'succeeded'], [ACCOUNTS.settles, 'succeeded'], [ACCOUNTS.r01, 'failed']] as const;
  const submitted = await Promise.all(firstPlan.map(([account]) => createTransfer(platform!, tenant.token, account)));
  await Promise.all(submitted.map((p) => waitForTransfer(platform!, tenant.token, p.id, { rail: 'submitted' })));

  // Mid-traffic: the sandbox now holds every request it receives; kill it once it holds card authorizations.
  await sandboxControl(sandboxUrl, { latency_ms: 60_000 });
  const cardRequests = [CARDS.visa, CARDS.mastercard, CARDS.visa].map((n) => post(platform, tenant.token, '/v1/payments', cardBody(n)));
  const latePlan = [[ACCOUNTS.settles, 'succeeded'], [ACCOUNTS.settles, 'succeeded']] as const;
  const lateTransfers = await Promise.all(latePlan.map(([account]) => createTransfer(platform!, tenant.token, account)));
  await eventually(async () => ((await sandboxControl(sandboxUrl)).held_requests >= 3 ? true : undefined), { timeoutMs: 60_000, intervalMs: 20 });
  await first.kill9();
  const cardAnswers = await Promise.all(cardRequests);
  assert.deepEqual(cardAnswers.map((r: TestResponse) => r.status), [201, 201, 201], 'a lost processor answer is an unknown outcome, not an error');
  const cards = cardAnswers.map((r) => r.body.id as string);

  // While it is down, the rail events it owed come due; they wait in its outbox.
  const owedDebits = await sandboxQuery<{ debit_id: string; due_at: Date }>(sandboxDb, "SELECT debit_id, due_at FROM sandbox_processor.notification_outbox WHERE state = 'pending'");
  assert.ok(owedDebits.length >= submitted.length, `events owed at the kill: ${owedDebits.length}`);
  const lastDueMs = Math.max(...owedDebits.map((e) => e.due_at.getTime()));
  await eventually(async () => (Date.now() > lastDueMs ? true : undefined), { timeoutMs: SETTLEMENT_DELAY_MS + 30_000 });

  await startSandbox(sandboxes, platform, sandboxDb, sandboxPort);

  // Every transfer ends in its account's status; no payment stays processing.
  const transfers = [...submitted.map((p, i) => [p.id as string, firstPlan[i]![1]] as const), ...lateTransfers.map((p, i) => [p.id as string, latePlan[i]![1]] as const)];
  for (const [id, status] of transfers) await waitForTransfer(platform, tenant.token, id, { status }, 60_000);
  await eventually(async () => {
    const processing = await ownerQuery<{ id: string }>(platform!, "SELECT id FROM payments WHERE status = 'processing'");
    return processing.length === 0 ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100 });

  // The new process pushed the events owed at the kill (NimbusPay accepted them), and no debit or authorization was
  // made twice for one payment.
  await eventually(async () => {
    const states = await sandboxQuery<{ state: string }>(sandboxDb!, 'SELECT state FROM sandbox_processor.notification_outbox WHERE debit_id = ANY($1)', [owedDebits.map((e) => e.debit_id)]);
    return states.every((s) => s.state === 'sent') ? true : undefined;
  }, { timeoutMs: 30_000 });
  for (const [id, kind] of [...transfers.map(([id]) => [id, 'debits'] as const), ...cards.map((id) => [id, 'authorizations'] as const)]) {
    const attempts = (await getPayment(platform, tenant.token, id)).attempts as Array<{ id: string }>;
    const [records] = await sandboxQuery<{ debits: number; authorizations: number }>(
      sandboxDb,
      `SELECT (SELECT count(*)::int FROM sandbox_processor.bank_debits WHERE idempotency_key = ANY($1)) AS debits,
              (SELECT count(*)::int FROM sandbox_processor.authorizations WHERE idempotency_key = ANY($1)) AS authorizations`,
      [attempts.map((a) => a.id)],
    );
    assert.ok(kind === 'debits' ? records!.debits === 1 : records!.authorizations <= 1, `payment ${id}: ${JSON.stringify(records)}`);
  }
});
