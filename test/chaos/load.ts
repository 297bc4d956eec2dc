import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CARDS, cardBody } from '../payments/helpers.js';
import { ACCOUNTS, bankBody } from '../bank/helpers.js';

/** One money-moving POST a client wants done: its Idempotency-Key and body never change across its tries. */
export interface Op {
  kind: 'create' | 'capture' | 'refund';
  scenario: Scenario;
  key: string;
  path: string;
  body: Record<string, unknown>;
  tries: Array<{ at: number; status?: number; code?: string; error?: string }>;
  /** The answer the client got and acted on: a 2xx, or a 4xx that says the request itself was refused. */
  answer?: { at: number; status: number; body: any };
}

export type Scenario = 'card' | 'card_refund' | 'auth_capture' | 'declined' | 'bank_transfer';
const SCENARIOS: readonly Scenario[] = ['card', 'card_refund', 'auth_capture', 'auth_capture', 'declined', 'bank_transfer', 'bank_transfer'];

/** Answers that tell the client nothing about the outcome, so it must retry with the same key. */
export function isDefinitive(status: number, code: string | undefined): boolean {
  if (status >= 200 && status < 300) return true;
  if (status >= 500 || status === 429) return false;
  return !(status === 409 && code === 'idempotency_key_in_use');
}

/** A small seeded generator (mulberry32): the same CHAOS_SEED picks the same scenarios and amounts. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface LoadOptions {
  apiUrl: string;
  token: string;
  clients: number;
  /** pause between two scenarios of one client: a steady rate, not a flood */
  pauseMs: number;
  /** pause after a request got no definitive answer (connection lost, 5xx, key in use) */
  backOffMs: number;
  seed: number;
  requestTimeoutMs: number;
}

/**
 * Steady traffic from `clients` concurrent integrators: card payments (some refunded), authorizations then
 * captures, declines and bank transfers. Each request is tried once while faults happen; one without a definitive
 * answer (connection lost, 5xx, key in use) is left for `retryUnanswered`, which retries it with the same key as a
 * client would once the platform is back. Every try and answer stays in `ops` for the checks.
 */
export class SteadyLoad {
  readonly ops: Op[] = [];
  private inFlightCount = 0;
  private stopped = false;
  private loops: Array<Promise<void>> = [];
  private readonly random: () => number;

  constructor(private readonly options: LoadOptions) {
    this.random = seededRandom(options.seed);
  }

  start(): void {
    this.loops = Array.from({ length: this.options.clients }, () => this.client());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  inFlight(): number {
    return this.inFlightCount;
  }

  /** Creates answered 2xx after `since` (ms epoch): proof that traffic flows again after a fault. */
  answeredSince(since: number): number {
    return this.ops.filter((op) => op.kind === 'create' && op.answer && op.answer.status < 300 && op.answer.at > since).length;
  }

  unanswered(): Op[] {
    return this.ops.filter((op) => !op.answer);
  }

  /** Retries every request still without a definitive answer, with its own key and body, until each has one. */
  async retryUnanswered(deadlineMs: number, pauseMs = 250): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const pending = this.unanswered();
      if (pending.length === 0) return;
      if (Date.now() > deadline) {
        const last = pending.slice(0, 5).map((op) => `${op.kind} ${op.key}: ${JSON.stringify(op.tries.at(-1))}`);
        throw new Error(`${pending.length} request(s) still without a definitive answer after ${deadlineMs} ms of retries: ${last.join('; ')}`);
      }
      // as many at once as there are clients: a retry storm would only measure the pool's queue
      const queue = [...pending];
      await Promise.all(Array.from({ length: this.options.clients }, async () => {
        for (let op = queue.shift(); op; op = queue.shift()) await this.send(op);
      }));
      if (this.unanswered().length > 0) await sleep(pauseMs);
    }
  }

  private async client(): Promise<void> {
    while (!this.stopped) {
      const scenario = SCENARIOS[Math.floor(this.random() * SCENARIOS.length)]!;
      const before = this.ops.length;
      await this.run(scenario);
      // A client backs off after an answer that was no answer, as integrators are told to.
      const backOff = this.ops.slice(before).some((op) => !op.answer);
      await sleep(backOff ? this.options.backOffMs : this.options.pauseMs);
    }
  }

  private async run(scenario: Scenario): Promise<void> {
    const amount = 1_000 + Math.floor(this.random() * 90) * 100;
    switch (scenario) {
      case 'card':
        await this.op('create', scenario, '/v1/payments', cardBody(CARDS.visa, { amount }));
        return;
      case 'declined':
        await this.op('create', scenario, '/v1/payments', cardBody(CARDS.declined, { amount }));
        return;
      case 'bank_transfer':
        await this.op('create', scenario, '/v1/payments', bankBody(ACCOUNTS.settles, { amount }));
        return;
      case 'card_refund': {
        const created = await this.op('create', scenario, '/v1/payments', cardBody(CARDS.mastercard, { amount }));
        if (created?.status !== 201 || created.body.status !== 'succeeded') return;
        const refund = this.random() < 0.5 ? {} : { amount: amount / 2 };
        await this.op('refund', scenario, `/v1/payments/${created.body.id}/refunds`, refund);
        return;
      }
      case 'auth_capture': {
        const created = await this.op('create', scenario, '/v1/payments', cardBody(CARDS.visa, { amount, capture_method: 'manual' }));
        if (created?.status !== 201 || created.body.status !== 'requires_capture') return;
        const capture = this.random() < 0.5 ? {} : { amount: amount - 500 };
        await this.op('capture', scenario, `/v1/payments/${created.body.id}/capture`, capture);
      }
    }
  }

  private async op(kind: Op['kind'], scenario: Scenario, path: string, body: Record<string, unknown>): Promise<Op['answer']> {
    const op: Op = { kind, scenario, key: randomUUID(), path, body, tries: [] };
    this.ops.push(op);
    await this.send(op);
    return op.answer;
  }

  private async send(op: Op): Promise<void> {
    this.inFlightCount++;
    try {
      const res = await fetch(`${this.options.apiUrl}${op.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json', 'idempotency-key': op.key },
        body: JSON.stringify(op.body),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
      const text = await res.text();
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        body = { unparsed: text.slice(0, 200) };
      }
      const code = body?.error?.code as string | undefined;
      const at = Date.now();
      op.tries.push({ at, status: res.status, ...(code ? { code } : {}) });
      if (isDefinitive(res.status, code)) op.answer = { at, status: res.status, body };
    } catch (err) {
      op.tries.push({ at: Date.now(), error: (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).name });
    } finally {
      this.inFlightCount--;
    }
  }
}

/** How the tries went, for the test's diagnostics: `201: 340, 503 processor_unavailable: 12, ECONNREFUSED: 9…`. */
export function tryHistogram(ops: readonly Op[]): string {
  const counts = new Map<string, number>();
  for (const op of ops) {
    for (const t of op.tries) {
      const key = t.error ?? `${t.status}${t.code ? ` ${t.code}` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');
}
