import type { Server } from 'node:http';
import { openSockets } from '../platform/open-sockets.js';
import type { FastifyRequest } from 'fastify';

/** Fault modes of `fail_next`; see the control API in stripe-local-app.ts. */
export const FAULT_MODES = ['server_error', 'rate_limit', 'lost_answer', 'connection_reset', 'lost_before'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface FailNext {
  count: number;
  mode: FaultMode;
  pathPrefix?: string;
}

/** Switches tests flip through `POST /_control`. */
export interface StripeLocalKnobs {
  latencyMs: number;
  dropWebhooks: boolean;
  searchLagMs: number;
  failNext: FailNext | null;
}

export interface RequestLogEntry {
  at: string;
  request_id: string;
  method: string;
  path: string;
  headers: { 'idempotency-key': string | null; 'stripe-version': string | null; 'content-type': string | null };
  /** Parsed params, card and account numbers masked to their last 4 digits, CVC masked whole. */
  params: Record<string, unknown>;
}

const REQUEST_LOG_LIMIT = 2_000;

/**
 * Everything about the server that is not in the database: switches, the request log, and the requests it holds
 * on purpose (latency, lost answers). `shutdown()` releases every held request and socket so `close()` is prompt.
 */
export interface StripeLocalRuntime {
  readonly knobs: StripeLocalKnobs;
  readonly requestLog: RequestLogEntry[];
  logRequest(entry: RequestLogEntry): void;
  /** The fault this request draws from `fail_next`, if any (each draw uses up one of `count`). */
  drawFault(path: string): FaultMode | undefined;
  faultOf(request: FastifyRequest): FaultMode | undefined;
  setFault(request: FastifyRequest, mode: FaultMode): void;
  /** Resolves true after `ms`, false as soon as the server starts closing. */
  sleep(ms: number): Promise<boolean>;
  /** Holds until the client closes its connection (it gave up) or the server closes; then the socket is destroyed. */
  holdUntilClientGone(request: FastifyRequest): Promise<void>;
  heldRequests(): number;
  isClosing(): boolean;
  trackSockets(server: Server): void;
  shutdown(): void;
}

export function createStripeLocalRuntime(): StripeLocalRuntime {
  const knobs: StripeLocalKnobs = { latencyMs: 0, dropWebhooks: false, searchLagMs: 0, failNext: null };
  const requestLog: RequestLogEntry[] = [];
  const faults = new WeakMap<FastifyRequest, FaultMode>();
  const waiters = new Set<() => void>();
  const sockets = openSockets();
  let held = 0;
  let closing = false;

  /** Races `work` against the server closing; the closing waiter is removed either way, so nothing accumulates. */
  async function unlessClosing<T>(work: Promise<T>, onClose: T): Promise<T> {
    if (closing) return onClose;
    let wake: (() => void) | undefined;
    const closed = new Promise<T>((resolve) => {
      wake = () => resolve(onClose);
      waiters.add(wake);
    });
    try {
      return await Promise.race([work, closed]);
    } finally {
      if (wake) waiters.delete(wake); // set: a promise's executor runs at once
    }
  }

  return {
    knobs,
    requestLog,
    logRequest(entry) {
      requestLog.push(entry);
      if (requestLog.length > REQUEST_LOG_LIMIT) requestLog.splice(0, requestLog.length - REQUEST_LOG_LIMIT);
    },
    drawFault(path) {
      const next = knobs.failNext;
      if (!next || next.count <= 0) return undefined;
      if (next.pathPrefix && !path.startsWith(next.pathPrefix)) return undefined;
      next.count -= 1;
      if (next.count <= 0) knobs.failNext = null;
      return next.mode;
    },
    faultOf: (request) => faults.get(request),
    setFault: (request, mode) => void faults.set(request, mode),
    async sleep(ms) {
      if (closing) return false;
      if (ms <= 0) return true;
      let timer: NodeJS.Timeout | undefined;
      const elapsed = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), ms);
      });
      // A request delayed by latency_ms is held too: fault tests wait on held_requests to act mid-request.
      held += 1;
      try {
        return await unlessClosing(elapsed, false);
      } finally {
        held -= 1;
        clearTimeout(timer);
      }
    },
    async holdUntilClientGone(request) {
      const socket = request.raw.socket;
      held += 1;
      try {
        if (!socket.destroyed) {
          await unlessClosing(new Promise<void>((resolve) => socket.once('close', () => resolve())), undefined);
        }
      } finally {
        held -= 1;
        socket.destroy();
      }
    },
    heldRequests: () => held,
    isClosing: () => closing,
    trackSockets: (server) => sockets.track(server),
    shutdown() {
      closing = true;
      for (const wake of waiters) wake();
      waiters.clear();
      sockets.destroyAll();
    },
  };
}
