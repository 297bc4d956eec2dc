import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import type { Logger } from 'pino';
import { createProcessorHttpTransport, type ProcessorHttpTransportOptions, type TransportRequest, type TransportResult } from './processor-http-transport.js';
import type {
  CircuitStateName,
  ErrorOutcome,
  FailedOutcome,
  PaymentProcessor,
  ProcessorCallReport,
  ProcessorOperation,
  QueryUnavailable,
} from './processor-port.js';
import {
  mapMutationResult,
  mapQueryResult,
  parseAuthorizeDecision,
  parseBankCreditDecision,
  parseBankDebitDecision,
  parseBankDebitSnapshot,
  parseCaptureDecision,
  parseRecordedOperation,
  parseRefundDecision,
  parseVoidDecision,
} from './sandbox-outcome-mapper.js';

/** The HTTP transport's options (timeouts, bounded same-key retries, pool) plus the circuit breaker and hooks. */
export interface SandboxProcessorAdapterOptions extends Omit<ProcessorHttpTransportOptions, 'random'> {
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

export interface SandboxProcessorAdapter extends PaymentProcessor {
  /** Closes the connection pool (waits for in-flight calls). */
  close(): Promise<void>;
}

type AnyOutcome = { kind: string; code?: string; reason?: string; retryable?: boolean };

/** What opens the circuit: answers that say the processor is unwell, not declines or rejected requests. */
function countsAsFailure(outcome: AnyOutcome): boolean {
  if (outcome.kind === 'unknown') return true;
  if (outcome.kind === 'error') return outcome.retryable === true;
  if (outcome.kind === 'unavailable') return outcome.reason !== 'client_error';
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

const CIRCUIT_OPEN_ERROR: ErrorOutcome = {
  kind: 'error',
  code: 'processor_unavailable',
  message: 'The processor circuit is open; the request was not sent.',
  retryable: true,
  sent: false,
};
const CIRCUIT_OPEN_QUERY: QueryUnavailable = {
  kind: 'unavailable',
  reason: 'circuit_open',
  message: 'The processor circuit is open; the query was not sent.',
  sent: false,
};

/** JSON numbers are exact only up to 2^53: a larger amount is refused before sending rather than rounded. */
function toWireAmount(amountMinor: bigint): number | undefined {
  if (amountMinor <= 0n || amountMinor > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(amountMinor);
}

function invalidAmount(amountMinor: bigint): ErrorOutcome {
  return {
    kind: 'error',
    code: 'processing_error',
    message: `Amount ${amountMinor} is outside the processor's range (1..${Number.MAX_SAFE_INTEGER}); not sent.`,
    retryable: false,
    sent: false,
  };
}

/**
 * The port over the sandbox acquirer's HTTP API: undici pool with strict timeouts, bounded retries with the same
 * idempotency key, a cockatiel circuit breaker around every call, and normalization of every answer.
 */
export function createSandboxProcessorAdapter(options: SandboxProcessorAdapterOptions): SandboxProcessorAdapter {
  let closing: Promise<void> | undefined;
  const logger = options.logger.child({ component: 'processor', processor: 'sandbox' });
  const { circuitBreaker: _breaker, onCall: _onCall, onCircuitStateChange: _onChange, ...transportOptions } = options;
  const transport = createProcessorHttpTransport({ ...transportOptions, logger });
  const breaker = circuitBreaker(
    handleAll.orWhenResult((value) => countsAsFailure((value as { outcome: AnyOutcome }).outcome)),
    {
      halfOpenAfter: options.circuitBreaker?.halfOpenAfterMs ?? 10_000,
      breaker: new ConsecutiveBreaker(options.circuitBreaker?.consecutiveFailures ?? 5),
    },
  );
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

  async function invoke<T extends AnyOutcome>(
    request: TransportRequest,
    map: (result: TransportResult) => T,
    whenOpen: T,
    whenUnexpected: (message: string) => T,
  ): Promise<T> {
    const started = performance.now();
    let outcome: T;
    let attempts = 0;
    try {
      const done = await breaker.execute(async () => {
        const result = await transport.send(request);
        return { outcome: map(result), attempts: result.attempts };
      });
      outcome = done.outcome;
      attempts = done.attempts;
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        outcome = whenOpen;
      } else {
        // A bug, not a processor answer: we cannot tell whether the request left, so it is treated as unknown.
        logger.error({ err, operation: request.operation, idempotencyKey: request.idempotencyKey }, 'processor call failed');
        outcome = whenUnexpected(err instanceof Error ? err.message : String(err));
      }
    }
    const code = outcome.code ?? outcome.reason;
    report({
      operation: request.operation,
      outcome: outcome.kind as ProcessorCallReport['outcome'],
      ...(code !== undefined ? { code } : {}),
      latencyMs: performance.now() - started,
      attempts,
    });
    return outcome;
  }

  function mutate<T extends AnyOutcome>(
    operation: ProcessorOperation,
    path: string,
    idempotencyKey: string,
    body: unknown,
    parse: (json: unknown) => T | undefined,
  ): Promise<T | FailedOutcome> {
    return invoke<T | FailedOutcome>(
      { operation, method: 'POST', path, idempotencyKey, body },
      (result) => mapMutationResult(result, parse),
      CIRCUIT_OPEN_ERROR,
      (message) => ({ kind: 'unknown', reason: 'connection_error', message }),
    );
  }

  function query<T extends AnyOutcome>(
    operation: ProcessorOperation,
    path: string,
    parse: (json: unknown) => T | undefined,
  ): Promise<T | { kind: 'not_found' } | QueryUnavailable> {
    return invoke<T | { kind: 'not_found' } | QueryUnavailable>(
      { operation, method: 'GET', path },
      (result) => mapQueryResult(result, parse),
      CIRCUIT_OPEN_QUERY,
      (message) => ({ kind: 'unavailable', reason: 'connection_error', message, sent: true }),
    );
  }

  return {
    async authorize(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      const body = {
        amount,
        currency: request.currency.toLowerCase(),
        capture: request.capture,
        card: {
          number: request.card.number,
          exp_month: request.card.expMonth,
          exp_year: request.card.expYear,
          cvc: request.card.cvc,
        },
      };
      return mutate('authorize', '/v1/authorizations', request.idempotencyKey, body, parseAuthorizeDecision);
    },

    async capture(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      const path = `/v1/authorizations/${encodeURIComponent(request.authorizationReference)}/capture`;
      return mutate('capture', path, request.idempotencyKey, { amount }, parseCaptureDecision);
    },

    async voidAuthorization(request) {
      const path = `/v1/authorizations/${encodeURIComponent(request.authorizationReference)}/void`;
      return mutate('void', path, request.idempotencyKey, {}, parseVoidDecision);
    },

    async refund(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      const body = { authorization_id: request.authorizationReference, amount };
      return mutate('refund', '/v1/refunds', request.idempotencyKey, body, parseRefundDecision);
    },

    async getOperationStatus(idempotencyKey) {
      const path = `/v1/operations/${encodeURIComponent(idempotencyKey)}`;
      return query('get_operation_status', path, parseRecordedOperation);
    },

    async createBankDebit(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      const body = {
        amount,
        currency: request.currency.toLowerCase(),
        account: {
          account_number: request.account.accountNumber,
          routing_number: request.account.routingNumber,
          account_type: request.account.accountType,
          holder_name: request.account.holderName,
        },
      };
      return mutate('create_bank_debit', '/v1/bank_debits', request.idempotencyKey, body, parseBankDebitDecision);
    },

    async getBankDebit(debitReference) {
      const path = `/v1/bank_debits/${encodeURIComponent(debitReference)}`;
      return query('get_bank_debit', path, (json) => {
        const debit = parseBankDebitSnapshot(json);
        return debit && { kind: 'found' as const, debit };
      });
    },

    async createBankCredit(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      const body = { debit_id: request.debitReference, amount };
      return mutate('create_bank_credit', '/v1/bank_credits', request.idempotencyKey, body, parseBankCreditDecision);
    },

    circuitState() {
      return toCircuitStateName(breaker.state);
    },

    async close() {
      // idempotent: several owners (API services, worker jobs) may close the same adapter at shutdown
      closing ??= transport.close();
      await closing;
    },
  };
}
