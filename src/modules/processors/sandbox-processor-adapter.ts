import type { Logger } from 'pino';
import { CIRCUIT_OPEN_ERROR, CIRCUIT_OPEN_QUERY, createCallGuard, type AnyOutcome, type CallGuardOptions } from './processor-call-guard.js';
import { createProcessorHttpTransport, type ProcessorHttpTransportOptions, type TransportRequest, type TransportResult } from './processor-http-transport.js';
import type { FailedOutcome, ProcessorAdapter, ProcessorOperation, QueryUnavailable } from './processor-port.js';
import { invalidAmount, toWireAmount } from './wire-amount.js';
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
export interface SandboxProcessorAdapterOptions extends Omit<ProcessorHttpTransportOptions, 'random'>, CallGuardOptions {}

export type SandboxProcessorAdapter = ProcessorAdapter;

/**
 * The port over the sandbox acquirer's HTTP API: undici pool with strict timeouts, bounded retries with the same
 * idempotency key, a cockatiel circuit breaker around every call, and normalization of every answer.
 */
export function createSandboxProcessorAdapter(options: SandboxProcessorAdapterOptions): SandboxProcessorAdapter {
  let closing: Promise<void> | undefined;
  const logger: Logger = options.logger.child({ component: 'processor', processor: 'sandbox' });
  const { circuitBreaker, onCall, onCircuitStateChange, ...transportOptions } = options;
  const transport = createProcessorHttpTransport({ ...transportOptions, logger });
  const guard = createCallGuard({ ...(circuitBreaker ? { circuitBreaker } : {}), ...(onCall ? { onCall } : {}), ...(onCircuitStateChange ? { onCircuitStateChange } : {}) }, logger);

  function invoke<T extends AnyOutcome>(
    request: TransportRequest,
    map: (result: TransportResult) => T,
    whenOpen: T,
    whenUnexpected: (message: string) => T,
  ): Promise<T> {
    return guard.call<T>({
      operation: request.operation,
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
      run: async () => {
        const result = await transport.send(request);
        return { outcome: map(result), attempts: result.attempts };
      },
      whenOpen,
      whenUnexpected,
    });
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

    // The sandbox records every operation under its idempotency key, so the key alone finds it.
    async getOperationStatus({ idempotencyKey }) {
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
      return guard.circuitState();
    },

    async close() {
      // idempotent: several owners (API services, worker jobs) may close the same adapter at shutdown
      closing ??= transport.close();
      await closing;
    },
  };
}
