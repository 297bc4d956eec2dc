import { randomBytes } from 'node:crypto';
import { NimbusPayError, webhooks, type Event } from '@nimbuspay/sdk';
import { EXIT } from '../../main/admin-cli.js';
import { CliError, pause, requiredFlag, stringFlag, toCliError, usageError, type Command } from '../command-kit.js';

const USAGE = `listen --forward-to URL [--events TYPE,TYPE] [--wait SECONDS]
  Receive your events through the API (no public URL needed) and POST each one to URL, signed with Standard
  Webhooks headers and a signing secret made for this session (printed at start: verify with it as with an
  endpoint's secret). One line per event with the receiver's status. Resumes where it left off after a lost
  connection; Ctrl-C stops it. TYPE: e.g. payment.succeeded, payment.*, refund.* (default: every event).`;

interface FeedPage { data: Event[]; has_more: boolean; next_cursor: string }

const FORWARD_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 10_000;

const matches = (filter: string, type: string) =>
  filter === '*' || (filter.endsWith('.*') ? type.startsWith(filter.slice(0, -1)) : filter === type);

/** POSTs one event as a webhook delivery would; returns what to print after the arrow. */
async function forward(target: string, event: Event, secret: string, signal: AbortSignal): Promise<string> {
  const body = JSON.stringify(event);
  const headers = webhooks.sign(body, secret, { id: event.id, timestamp: new Date() });
  try {
    const res = await fetch(target, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'nimbuspay-cli-listen' },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(FORWARD_TIMEOUT_MS)]),
    });
    await res.arrayBuffer().catch(() => undefined);
    return `${res.status}`;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : (err as Error).message;
    return `failed (${cause})`;
  }
}

export const listenCommand: Command = {
  usage: USAGE,
  options: { 'forward-to': { type: 'string' }, events: { type: 'string' }, wait: { type: 'string' } },
  async run({ io, flags, client, json }) {
    const target = requiredFlag(flags, 'forward-to', USAGE);
    try {
      const u = new URL(target);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    } catch {
      throw usageError(`--forward-to must be an http(s) URL (got '${target}')`, `Usage: nimbuspay ${USAGE}`);
    }
    const filters = (stringFlag(flags, 'events') ?? '*').split(',').map((s) => s.trim()).filter(Boolean);
    const wait = Number(stringFlag(flags, 'wait') ?? 25);
    if (!Number.isInteger(wait) || wait < 1 || wait > 25) throw usageError('--wait is 1 to 25 seconds', `Usage: nimbuspay ${USAGE}`);
    const np = client();
    // A fresh secret per session, as `stripe listen` does: nothing to configure, and nothing reusable once it stops.
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    let cursor: string | undefined;
    // Start at the feed's current end, so only events from now on are forwarded.
    cursor = (await np.request<FeedPage>('GET', '/v1/events/feed', { query: { wait: 0, limit: 1 } })).next_cursor;
    io.out(json
      ? `${JSON.stringify({ object: 'listen_session', secret, forward_to: target, events: filters })}\n`
      : `Ready! Forwarding events to ${target}\nYour webhook signing secret is ${secret} (Ctrl-C to quit)\n`);
    let failures = 0;
    while (!io.signal.aborted) {
      let page: FeedPage;
      try {
        const query = { cursor, wait, limit: 100, ...(filters.length === 1 ? { type: filters[0] } : {}) };
        page = await Promise.race([
          np.request<FeedPage>('GET', '/v1/events/feed', { query }),
          new Promise<never>((_, reject) => io.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true })),
        ]);
        if (failures > 0) io.err('Connection restored; resuming where it left off.\n');
        failures = 0;
      } catch (err) {
        if (io.signal.aborted) break;
        if (err instanceof NimbusPayError && err.status === 404 && err.param === 'cursor') {
          io.err(`The feed no longer holds ${cursor}; resuming from the newest events.\n`);
          cursor = undefined;
          continue;
        }
        const mapped = toCliError(err);
        if (!(mapped instanceof CliError) || mapped.exitCode !== EXIT.unavailable) throw mapped;
        const delayMs = Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures++);
        io.err(`Lost the connection to the API (${mapped.message.split('\n')[0]}); retrying in ${Math.round(delayMs / 100) / 10} s\n`);
        await pause(delayMs, io.signal);
        continue;
      }
      for (const event of page.data) {
        if (!filters.some((f) => matches(f, event.type))) continue;
        const status = await forward(target, event, secret, io.signal);
        io.out(json
          ? `${JSON.stringify({ object: 'forwarded_event', id: event.id, type: event.type, status })}\n`
          : `${new Date().toISOString()}  --> ${event.type} [${event.id}]  <-- ${status}\n`);
      }
      cursor = page.next_cursor;
    }
  },
};
