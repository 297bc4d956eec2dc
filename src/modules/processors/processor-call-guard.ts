import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import type { Logger } from 'pino';
import type { CircuitStateName, ErrorOutcome, ProcessorCallReport, ProcessorOperation, QueryUnavailable } from './processor-port.js';

/**
 * What every adapter shares, whatever its wire: a circuit breaker around each call, and one report per call for
 * metrics. The same outcomes open the circuit for every processor, so dashboards and alerts read the same.
 */

export interface CallGuardOptions {
  circuitBreaker?: {
    /** Consecutive failed calls that open the circuit (default 5). */
    consecutiveFailures?: number;
    /** Time the circuit stays open before one trial call is let through (default 10000). */
    halfOpenAfterMs?: number;
  };
  /** Called after every port call, e.g. to feed Prometheus. Must not throw (errors are logged and ignored). */
  onCall?: (report: ProcessorCallReport) => void;
  onCircuitStateChange?: (state: CircuitStateName) => void;
}

export type AnyOutcome = { kind: string; code?: string; reason?: string; retryable?: boolean };

export interface GuardedCall<T> {
  operation: ProcessorOperation;
  idempotencyKey?: string;
  /** Performs the call; `attempts` is how many wire requests it made. */
  run: () => Promise<{ outcome: T; attempts: number }>;
  /** The answer when the circuit is open (nothing is sent). */
  whenOpen: T;
  /** The answer when `run` throws: a bug, not a processor answer, so we cannot tell whether the request left. */
  whenUnexpected: (message: string) => T;
}

export interface CallGuard {
  call<T extends AnyOutcome>(call: GuardedCall<T>): Promise<T>;
  circuitState(): CircuitStateName;
}

/** What opens the circuit: answers that say the processor is unwell, not declines or rejected requests. */
function countsAsFailure(outcome: AnyOutcome): boolean {
  if (outcome.kind === 'unknown') return true;
  if (outcome.kind === 'error') return outcome.retryable === true;
  if (outcome.kind === 'unavailable') return outcome.reason !== 'client_error' && outcome.reason !== 'not_yet_consistent';
  return false;
}

function toCircuitStateName(state: CircuitState): CircuitStateName {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half_open';
    case CircuitState.Open:
    case CircuitState.Isolated:
      return 'open';
  }
}

export const CIRCUIT_OPEN_ERROR: ErrorOutcome = {
  kind: 'error',
  code: 'processor_unavailable',
  message: 'The processor circuit is open; the request was not sent.',
  retryable: true,
  sent: false,
};

export const CIRCUIT_OPEN_QUERY: QueryUnavailable = {
  kind: 'unavailable',
  reason: 'circuit_open',
  message: 'The processor circuit is open; the query was not sent.',
  sent: false,
};

export function createCallGuard(options: CallGuardOptions, logger: Logger): CallGuard {
  const halfOpenAfterMs = options.circuitBreaker?.halfOpenAfterMs ?? 10_000;
  const breaker = circuitBreaker(
    handleAll.orWhenResult((value) => countsAsFailure((value as { outcome: AnyOutcome }).outcome)),
    {
      halfOpenAfter: halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.circuitBreaker?.consecutiveFailures ?? 5),
    },
  );
  // cockatiel moves from open to half-open only inside execute(). Callers ask circuitState() before writing
  // anything and skip the call while it says open, so circuitState() must say half_open once the delay has
  // passed, or the circuit, once open, would never see the trial call that closes it again.
  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = performance.now();
  });
  breaker.onStateChange((state) => {
    const name = toCircuitStateName(state);
    logger.warn({ circuit: name }, 'processor circuit state changed');
    try {
      options.onCircuitStateChange?.(name);
    } catch (err) {
      logger.error({ err }, 'onCircuitStateChange hook failed');
    }
  });

  function report(entry: ProcessorCallReport): void {
    try {
      options.onCall?.(entry);
    } catch (err) {
      logger.error({ err }, 'onCall hook failed');
    }
  }

  return {
    async call<T extends AnyOutcome>(call: GuardedCall<T>): Promise<T> {
      const started = performance.now();
      let outcome: T;
      let attempts = 0;
      try {
        const done = await breaker.execute(call.run);
        outcome = done.outcome;
        attempts = done.attempts;
      } catch (err) {
        if (err instanceof BrokenCircuitError) {
          outcome = call.whenOpen;
        } else {
          logger.error({ err, operation: call.operation, idempotencyKey: call.idempotencyKey }, 'processor call failed');
          outcome = call.whenUnexpected(err instanceof Error ? err.message : String(err));
        }
      }
      const code = outcome.code ?? outcome.reason;
      report({
        operation: call.operation,
        outcome: outcome.kind as ProcessorCallReport['outcome'],
        ...(code !== undefined ? { code } : {}),
        latencyMs: performance.now() - started,
        attempts,
      });
      return outcome;
    },
    circuitState() {
      switch (breaker.state) {
        case CircuitState.Closed:
          return 'closed';
        case CircuitState.Open:
          return performance.now() - openedAt >= halfOpenAfterMs ? 'half_open' : 'open';
        case CircuitState.HalfOpen:
        case CircuitState.Isolated:
          // cockatiel refuses every call but the trial in flight: a caller let through now would only be refused
          // after it had written its payment.
          return 'open';
      }
    },
  };
}
