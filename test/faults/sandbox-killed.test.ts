import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort, roleProcessEnv, startTestPlatform, type TestPlatform, type TestResponse } from '../helpers/platform.js';
import { createTenant } from '../helpers/tenants.js';
import { CARDS, cardBody, ownerQuery, post, waitFor } from '../payments/helpers.js';
import { ACCOUNTS, createTransfer, getPayment, waitForTransfer } from '../bank/helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * Long enough that the rail events of the first transfers are still owed when the sandbox is killed, however slowly
 * a busy machine gets from their submission to the kill (3 s was not always enough).
 */
const SETTLEMENT_DELAY_MS = 10_000;

/** The sandbox processor as its own OS process (as in Kubernetes), so it can be killed with SIGKILL mid-traffic. */
async function spawnSandbox(platform: TestPlatform, sandboxDb: TestDatabase, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/cli.ts', 'sandbox-processor'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: roleProcessEnv(platform, {
      SANDBOX_PROCESSOR_PORT: String(port),
      SANDBOX_DATABASE_URL: sandboxDb.ownerUrl,
      SANDBOX_SETTLEMENT_DELAY_MS: String(SETTLEMENT_DELAY_MS),
      SANDBOX_LATE_RETURN_DELAY_MS: '200',
    }),
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`sandbox exited (${code}): ${output}`))));
  exited.catch(() => {});
  await Promise.race([exited, waitFor(async () => (await fetch(`http://127.0.0.1:${port}/_control`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.ok).catch(() => false)) || undefined, 90_000, 100)]);
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function control(url: string, knobs: Record<string, unknown>): Promise<{ held_requests: number }> {
  const res = await fetch(`${url}/_control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(knobs) });
  assert.equal(res.status, 200);
  return (await res.json()) as { held_requests: number };
}

async function sandboxQuery<T>(sandboxDb: TestDatabase, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: sandboxDb.ownerUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

test('sandbox processor killed with SIGKILL mid-traffic and restarted on its database: every payment converges, no debit or authorization twice', { timeout: 180_000 }, async (t) => {
  const sandboxPort = await freePort();
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const children: ChildProcess[] = [];
  let sandboxDb: TestDatabase | undefined;
  let platform: TestPlatform | undefined;
  // One hook, in order: no sandbox process outlives the test whatever happened, then the platform, then the databases.
  t.after(async () => {
    await Promise.all(children.map(killed));
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

  children.push(await spawnSandbox(platform, sandboxDb, sandboxPort));
  const firstPlan = [[ACCOUNTS.settles, 'succeeded'], [ACCOUNTS.settles, 'succeeded'], [ACCOUNTS.r01, 'failed']] as const;
  const submitted = await Promise.all(firstPlan.map(([account]) => createTransfer(platform!, tenant.token, account)));
  await Promise.all(submitted.map((p) => waitForTransfer(platform!, tenant.token, p.id, { rail: 'submitted' })));

  // Mid-traffic: the sandbox now holds every request it receives; kill it once it holds card authorizations.
  await control(sandboxUrl, { latency_ms: 60_000 });
  const cardRequests = [CARDS.visa, CARDS.mastercard, CARDS.visa].map((n) => post(platform, tenant.token, '/v1/payments', cardBody(n)));
  const latePlan = [[ACCOUNTS.settles, 'succeeded'], [ACCOUNTS.settles, 'succeeded']] as const;
  const lateTransfers = await Promise.all(latePlan.map(([account]) => createTransfer(platform!, tenant.token, account)));
  await waitFor(async () => ((await control(sandboxUrl, {})).held_requests >= 3 ? true : undefined), 60_000, 20);
  await killed(children[0]!);
  const cardAnswers = await Promise.all(cardRequests);
  assert.deepEqual(cardAnswers.map((r: TestResponse) => r.status), [201, 201, 201], 'a lost processor answer is an unknown outcome, not an error');
  const cards = cardAnswers.map((r) => r.body.id as string);

  // While it is down, the rail events it owed come due; they wait in its outbox.
  const owedDebits = await sandboxQuery<{ debit_id: string; due_at: Date }>(sandboxDb, "SELECT debit_id, due_at FROM sandbox_processor.notification_outbox WHERE state = 'pending'");
  assert.ok(owedDebits.length >= submitted.length, `events owed at the kill: ${owedDebits.length}`);
  const lastDueMs = Math.max(...owedDebits.map((e) => e.due_at.getTime()));
  await waitFor(async () => (Date.now() > lastDueMs ? true : undefined), SETTLEMENT_DELAY_MS + 30_000);

  children.push(await spawnSandbox(platform, sandboxDb, sandboxPort));

  // Every transfer ends in its account's status; no payment stays processing.
  const transfers = [...submitted.map((p, i) => [p.id as string, firstPlan[i]![1]] as const), ...lateTransfers.map((p, i) => [p.id as string, latePlan[i]![1]] as const)];
  for (const [id, status] of transfers) await waitForTransfer(platform, tenant.token, id, { status }, 60_000);
  await waitFor(async () => {
    const processing = await ownerQuery<{ id: string }>(platform!, "SELECT id FROM payments WHERE status = 'processing'");
    return processing.length === 0 ? true : undefined;
  }, 60_000, 100);

  // The new process pushed the events owed at the kill (NimbusPay accepted them), and no debit or authorization was
  // made twice for one payment.
  await waitFor(async () => {
    const states = await sandboxQuery<{ state: string }>(sandboxDb!, 'SELECT state FROM sandbox_processor.notification_outbox WHERE debit_id = ANY($1)', [owedDebits.map((e) => e.debit_id)]);
    return states.every((s) => s.state === 'sent') ? true : undefined;
  }, 30_000);
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
