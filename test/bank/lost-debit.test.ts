import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { ownerQuery } from '../payments/helpers.js';
import { ACCOUNTS, createTransfer, getPayment, history, waitForTransfer } from './helpers.js';
import { bankTransfersDeps, createProcessor, keyRingFor, paymentsDeps } from '../../src/main/modules.js';
import { pollBankRailJob, reconcileJob, submitBankTransfersJob } from '../../src/modules/payments/index.js';
import { planLostDebitPoll, type BankRailSettings } from '../../src/modules/payments/bank-rail.service.js';
import { createMetrics, type Metrics } from '../../src/platform/metrics.js';
import { runWorkerJobs, type RunningJobs } from '../../src/platform/worker-loop.js';
import { sandboxControl } from '../helpers/sandbox-control.js';
import { eventually } from '../helpers/eventually.js';

// A bank debit the rail accepted, then forgot (a sandbox that lost its state, a processor incident). The worker's
// processor URL points at a loopback rail in front of the real sandbox that can answer the sandbox's own
// `404 {"error":"not_found"}` for GET /v1/bank_debits/:id, and records every such lookup. Notifications are dropped,
// so only polls tell NimbusPay anything.

const POLL_INTERVAL_MS = 100;
const GRACE_MS = 600;
const BACKOFF_CAP_MS = 1_600;

interface Lookup {
  debitId: string;
  atMs: number;
  answer: 'not_found' | 'forwarded';
}

interface ForgetfulRail {
  url: string;
  forgetting: boolean;
  lookups: Lookup[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Forwards everything to `target()` except, while `forgetting`, bank debit lookups, which it answers not_found. */
async function startForgetfulRail(target: () => string): Promise<ForgetfulRail> {
  const rail: Omit<ForgetfulRail, 'url' | 'close'> = { forgetting: false, lookups: [] };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const path = req.url ?? '/';
      const lookup = req.method === 'GET' ? /^\/v1\/bank_debits\/([^/?]+)$/.exec(path) : null;
      if (lookup && rail.forgetting) {
        rail.lookups.push({ debitId: decodeURIComponent(lookup[1]!), atMs: Date.now(), answer: 'not_found' });
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found', message: 'No such bank debit.' }));
        return;
      }
      if (lookup) rail.lookups.push({ debitId: decodeURIComponent(lookup[1]!), atMs: Date.now(), answer: 'forwarded' });
      const body = await readBody(req);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(name)) headers[name] = value;
      }
      const upstream = await fetch(`${target()}${path}`, { method: req.method ?? 'GET', headers, ...(body.length > 0 ? { body } : {}) });
      const answer = Buffer.from(await upstream.arrayBuffer());
      const out: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!['connection', 'content-length', 'transfer-encoding', 'content-encoding', 'keep-alive'].includes(name)) out[name] = value;
      });
      res.writeHead(upstream.status, out).end(answer);
    })().catch((err: unknown) => {
      res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'proxy_error', message: String(err) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(rail, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
}

/** The samples of one metric as the worker's /metrics serves them: labels (default labels included) and value. */
async function exported(metrics: Metrics, name: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const text = await metrics.registry.metrics();
  const samples: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of m[2]!.matchAll(/([a-z_]+)="([^"]*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ labels, value: Number(m[3]) });
  }
  return samples;
}

interface AttentionRow {
  status: string;
  rail_status: string;
  rail_reference: string | null;
  submitted_at: Date | null;
  attention_reason: string | null;
  attention_since: Date | null;
  step: number;
  updated_at: Date;
}

describe('a bank debit the rail forgets: status kept, flagged for attention, polls backed off, cleared when known again', () => {
  let platform: TestPlatform;
  let tenant: TestTenant;
  let rail: ForgetfulRail;
  let metrics: Metrics;
  let running: RunningJobs | undefined;
  let closeProcessor: (() => Promise<void>) | undefined;

  before(async () => {
    let sandboxUrl = '';
    rail = await startForgetfulRail(() => sandboxUrl);
    platform = await startTestPlatform({
      env: {
        SANDBOX_SETTLEMENT_DELAY_MS: '200',
        BANK_EXPECTED_SETTLEMENT_MS: '100',
        BANK_RAIL_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
        BANK_RETURN_WINDOW_MS: '60000',
      },
    });
    sandboxUrl = platform.sandboxUrl;
    await sandboxControl(platform, { drop_notifications: true });
    tenant = await createTenant(platform);

    // The worker as src/main/worker.ts builds it, with its processor behind the forgetful rail and short lost-debit
    // timings injected through the deps (production uses LOST_DEBIT_GRACE_MS and LOST_DEBIT_BACKOFF_CAP_MS).
    const config = { ...platform.config, sandboxProcessorUrl: rail.url };
    metrics = createMetrics({ role: 'worker', collectDefaults: false });
    const moduleDeps = { config, logger: platform.logger.child({ role: 'worker' }), db: platform.database.db, metrics };
    const processor = createProcessor(config, moduleDeps.logger, metrics);
    closeProcessor = () => processor.close();
    const base = bankTransfersDeps(moduleDeps, paymentsDeps(moduleDeps, keyRingFor(config), processor));
    const deps = { ...base, bank: { ...base.bank, lostDebitGraceMs: GRACE_MS, lostDebitBackoffCapMs: BACKOFF_CAP_MS } };
    const idle = config.workerPollIntervalMs;
    running = runWorkerJobs(
      [reconcileJob(deps, { idleDelayMs: idle }), submitBankTransfersJob(deps, { idleDelayMs: idle }), pollBankRailJob(deps, { idleDelayMs: idle })],
      moduleDeps.logger,
    );
  });
  after(async () => {
    await running?.stop();
    await closeProcessor?.();
    await platform?.close();
    await rail?.close();
  });

  async function row(id: string): Promise<AttentionRow> {
    const [r] = await ownerQuery<AttentionRow>(platform, `
      SELECT status, rail_status, rail_reference, submitted_at, attention_reason, attention_since,
             rail_poll_backoff_step AS step, updated_at
      FROM payments WHERE id = $1`, [id]);
    return r!;
  }

  async function gauge(): Promise<number | undefined> {
    const samples = await exported(metrics, 'nimbuspay_payments_needing_attention');
    // The alert selects exactly these labels: reason (the closed set) plus the registry's role.
    for (const s of samples) assert.deepEqual(Object.keys(s.labels).sort(), ['reason', 'role']);
    return samples.find((s) => s.labels.reason === 'processor_lost_debit' && s.labels.role === 'worker')?.value;
  }

  it('never guesses a status, backs off, alerts through the gauge, and converges once the rail knows the debit again', async () => {
    rail.forgetting = true;
    const created = await createTransfer(platform, tenant.token, ACCOUNTS.settles);

    const flagged = await eventually(async () => {
      const r = await row(created.id);
      return r.attention_reason !== null ? r : undefined;
    }, { timeoutMs: 15_000 });
    assert.equal(flagged.attention_reason, 'processor_lost_debit');
    assert.ok(flagged.rail_reference && flagged.submitted_at && flagged.attention_since);
    assert.ok(
      flagged.attention_since.getTime() >= flagged.submitted_at.getTime() + GRACE_MS,
      'not flagged inside the grace window',
    );
    const debitId = flagged.rail_reference;

    // Let it take a few backoff steps, up to the cap (200, 400, 800, 1600 ms).
    const backedOff = await eventually(async () => {
      const r = await row(created.id);
      return r.step >= 5 ? r : undefined;
    }, { timeoutMs: 20_000 });
    assert.equal(backedOff.status, 'processing', 'no status is guessed from "not found"');
    assert.equal(backedOff.rail_status, 'submitted');
    assert.equal(backedOff.attention_since!.getTime(), flagged.attention_since.getTime(), 'attention_since is when it was first flagged');
    const seen = await getPayment(platform, tenant.token, created.id);
    assert.equal(seen.status, 'processing');
    assert.equal(seen.bank_transfer.rail_status, 'submitted');
    assert.deepEqual(history(seen), ['processing/pending', 'processing/submitted']);
    assert.equal(backedOff.updated_at.getTime(), flagged.updated_at.getTime(), 'flagging and backing off do not move updated_at');

    assert.equal(await eventually(async () => ((await gauge()) === 1 ? 1 : undefined), { timeoutMs: 15_000 }), 1);

    rail.forgetting = false;
    const done = await waitForTransfer(platform, tenant.token, created.id, { status: 'succeeded' }, 20_000);
    assert.equal(done.bank_transfer.rail_status, 'settled');
    assert.deepEqual(history(done), ['processing/pending', 'processing/submitted', 'succeeded/settled']);
    assert.match(done.status_history[2].reason, /\(poll\)/);
    const cleared = await row(created.id);
    assert.equal(cleared.attention_reason, null);
    assert.equal(cleared.attention_since, null);
    assert.equal(cleared.step, 0);
    assert.equal(await eventually(async () => ((await gauge()) === 0 ? 0 : undefined), { timeoutMs: 15_000 }), 0);

    // ---- the polls the rail saw, and the log lines they caused ----
    const lookups = rail.lookups.filter((l) => l.debitId === debitId);
    const missed = lookups.filter((l) => l.answer === 'not_found');
    const firstKnown = lookups.find((l) => l.answer === 'forwarded');
    assert.ok(firstKnown, 'the rail was asked again once it knew the debit');

    const steps = platform.logs.records().filter((r) => r.payment_id === created.id && typeof r.backoff_step === 'number' && r.level === 'warn');
    assert.ok(steps.length >= 5);
    assert.deepEqual(steps.map((r) => r.backoff_step), steps.map((_, i) => i + 1), 'one warning per backoff step');
    for (const line of steps) {
      assert.equal(line.tenant_id, tenant.tenantId);
      assert.equal(line.rail_reference, debitId);
      assert.equal(line.attention_reason, 'processor_lost_debit');
      assert.equal(typeof line.next_poll_at, 'string');
    }
    // Every "not found" after the grace window is one step; the ones before it were ordinary polls.
    const withinGrace = missed.length - steps.length;
    assert.ok(withinGrace >= 1, 'polled normally within the grace window');
    for (const l of missed.slice(0, withinGrace)) assert.ok(l.atMs < flagged.submitted_at.getTime() + GRACE_MS + 1_000);
    // Each poll after step n waited for its due time: at least min(cap, interval × 2^n) after the previous one.
    const afterSteps = [...missed.slice(withinGrace + 1), firstKnown];
    steps.forEach((line, i) => {
      const due = Date.parse(line.next_poll_at as string);
      const next = afterSteps[i]!;
      assert.ok(next.atMs >= due - 5, `poll after step ${i + 1} came ${due - next.atMs} ms before it was due`);
      const gapMs = next.atMs - missed[withinGrace + i]!.atMs;
      assert.ok(gapMs >= Math.min(BACKOFF_CAP_MS, POLL_INTERVAL_MS * 2 ** (i + 1)) - 5, `gap after step ${i + 1} was ${gapMs} ms`);
    });

    // the move to succeeded is counted once, by the worker that committed it (after its commit)
    const moved = await exported(metrics, 'nimbuspay_payments_total');
    assert.deepEqual(moved, [{ labels: { method: 'bank_transfer', status: 'succeeded', failure_code: '', role: 'worker' }, value: 1 }]);
    const notFound = await exported(metrics, 'nimbuspay_processor_not_found_total');
    assert.deepEqual(notFound, [{ labels: { operation: 'get_bank_debit', role: 'worker' }, value: missed.length }]);
    const errors = platform.logs.records().filter((r) => r.payment_id === created.id && (r.level === 'error' || r.level === 'fatal'));
    assert.deepEqual(errors, [], 'a lost debit is not an error line per poll any more');
    assert.equal(platform.logs.records().filter((r) => r.payment_id === created.id && r.msg === 'the rail knows the debit again; attention cleared').length, 1);
  });
});

describe('planLostDebitPoll: the grace window, then doubling from the poll interval up to the cap', () => {
  const bank: BankRailSettings = { expectedSettlementMs: 0, pollIntervalMs: 1_000, returnWindowMs: 0, lostDebitGraceMs: 60_000, lostDebitBackoffCapMs: 10_000 };
  const submittedAt = new Date('2026-01-01T00:00:00Z');
  const at = (ms: number) => new Date(submittedAt.getTime() + ms);
  const payment = (step: number) => ({ submitted_at: submittedAt, created_at: at(-5_000), rail_poll_backoff_step: step });

  it('keeps polling normally inside the grace window after submission', () => {
    assert.deepEqual(planLostDebitPoll(payment(0), bank, at(59_999)), { kind: 'within_grace', graceEndsAt: at(60_000) });
  });

  it('doubles from the poll interval and stops at the cap', () => {
    const delays = [0, 1, 2, 3, 4, 50].map((previous) => {
      const plan = planLostDebitPoll(payment(previous), bank, at(60_000));
      assert.equal(plan.kind, 'backoff');
      return plan.kind === 'backoff' ? [plan.step, plan.delayMs, plan.nextPollAt.getTime() - at(60_000).getTime()] : [];
    });
    assert.deepEqual(delays, [[1, 2_000, 2_000], [2, 4_000, 4_000], [3, 8_000, 8_000], [4, 10_000, 10_000], [5, 10_000, 10_000], [51, 10_000, 10_000]]);
  });

  it('defaults to a ten-minute grace and a one-day cap', () => {
    const defaults: BankRailSettings = { expectedSettlementMs: 0, pollIntervalMs: 3_600_000, returnWindowMs: 0 };
    assert.equal(planLostDebitPoll(payment(0), defaults, at(9 * 60_000)).kind, 'within_grace');
    const late = planLostDebitPoll(payment(10), defaults, at(10 * 60_000));
    assert.deepEqual(late.kind === 'backoff' ? late.delayMs : undefined, 24 * 3_600_000);
  });
});
