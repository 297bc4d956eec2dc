import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Stripe from 'stripe';
import type { Logger } from 'pino';
import { CIRCUIT_OPEN_ERROR, CIRCUIT_OPEN_QUERY, createCallGuard, type AnyOutcome, type CallGuardOptions } from '../processor-call-guard.js';
import type {
  FailedOutcome,
  NotFound,
  OperationLookup,
  OperationStatusResult,
  ProcessorAdapter,
  ProcessorOperation,
  QueryUnavailable,
} from '../processor-port.js';
import { invalidAmount, toWireAmount } from '../wire-amount.js';
import { ATTEMPT_METADATA_KEY, OPERATION_METADATA_KEY } from './stripe-codes.js';
import {
  authorizeDecisionOf,
  bankCreditDecisionOf,
  bankDebitDecisionOf,
  bankDebitSnapshotOf,
  captureDecisionOf,
  classifyStripeError,
  queryFailureOf,
  refundDecisionOf,
  voidDecisionOf,
  type PaymentIntent,
} from './stripe-outcome-mapper.js';

/**
 * The port over Stripe's API, through the official SDK. Cards are PaymentIntents (a PaymentMethod made from the
 * card, then a confirmed intent with automatic or manual capture); ACH debits are confirmed `us_bank_account`
 * PaymentIntents; refunds and ACH credits are Refunds. Every mutating request carries the attempt id as Stripe's
 * `Idempotency-Key`, and every object NimbusPay creates carries it in its metadata, so the reconciler can find it.
 */

export interface StripeProcessorAdapterOptions extends CallGuardOptions {
  secretKey: string;
  /** Base URL of a Stripe-compatible server (tests, local development); unset = api.stripe.com. */
  apiBase?: string | undefined;
  /** Deadline of one request. Past it the outcome is unknown and reconciled. */
  timeoutMs: number;
  /** Extra attempts, with the same key, after answers that prove nothing was done (429, lock timeout, refused connection). */
  maxRetries: number;
  retryBaseDelayMs: number;
  /**
   * How long after an attempt a search that finds nothing is believed. Stripe's search is eventually consistent
   * ("under a minute" in normal operation); until then "not found" may only mean "not indexed yet".
   */
  searchConsistencyMs?: number;
  logger: Logger;
  now?: () => Date;
}

const DEFAULT_SEARCH_CONSISTENCY_MS = 5 * 60_000;

type Mutation<T> = T | FailedOutcome;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sdkFor(options: StripeProcessorAdapterOptions, agent: HttpAgent): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  return new Stripe(options.secretKey, {
    httpAgent: agent,
    // NimbusPay retries (with the same key) and reconciles itself: the SDK's own retries would hide what happened.
    maxNetworkRetries: 0,
    timeout: options.timeoutMs,
    telemetry: false,
    appInfo: { name: 'NimbusPay' },
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? '443' : '80'),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}

function metadataFor(idempotencyKey: string, operation: string): Record<string, string> {
  return { [ATTEMPT_METADATA_KEY]: idempotencyKey, [OPERATION_METADATA_KEY]: operation };
}

export function createStripeProcessorAdapter(options: StripeProcessorAdapterOptions): ProcessorAdapter {
  const logger = options.logger.child({ component: 'processor', processor: 'stripe' });
  const secure = !options.apiBase || options.apiBase.startsWith('https:');
  // Our own keep-alive agent, so that close() can release its sockets at shutdown.
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const stripe = sdkFor(options, agent);
  const now = options.now ?? (() => new Date());
  const searchConsistencyMs = options.searchConsistencyMs ?? DEFAULT_SEARCH_CONSISTENCY_MS;
  const guard = createCallGuard(options, logger);

  /** One logical call: bounded retries of answers that prove nothing was done, then a classified outcome. */
  async function attempts<T>(
    operation: ProcessorOperation,
    send: () => Promise<T>,
    idempotencyKey?: string,
  ): Promise<{ value: T; attempts: number } | { failure: ReturnType<typeof classifyStripeError>; attempts: number }> {
    const max = 1 + Math.max(0, options.maxRetries);
    for (let n = 1; ; n++) {
      try {
        return { value: await send(), attempts: n };
      } catch (err) {
        const failure = classifyStripeError(err);
        const log = { operation, idempotencyKey, attempt: n, failure: failure.kind, code: (err as { code?: unknown }).code };
        if (failure.kind !== 'retry' || n >= max) {
          if (failure.kind === 'unknown' || failure.kind === 'final') logger.warn({ ...log, err }, 'stripe request failed');
          return { failure, attempts: n };
        }
        logger.warn(log, 'stripe refused the request; retrying with the same idempotency key');
        await sleep(options.retryBaseDelayMs * 2 ** (n - 1) * (0.5 + Math.random() / 2));
      }
    }
  }

  function mutate<T extends AnyOutcome>(
    operation: ProcessorOperation,
    idempotencyKey: string,
    send: () => Promise<T | undefined>,
  ): Promise<Mutation<T>> {
    return guard.call<Mutation<T>>({
      operation,
      idempotencyKey,
      run: async () => {
        const result = await attempts(operation, send, idempotencyKey);
        if ('value' in result) {
          const outcome: Mutation<T> = result.value ?? { kind: 'unknown', reason: 'bad_response', message: 'Stripe answered with an object in a state that does not settle the operation.' };
          return { outcome, attempts: result.attempts };
        }
        const failure = result.failure;
        const outcome: Mutation<T> = failure.kind === 'missing'
          ? { kind: 'error', code: 'processing_error', message: 'Stripe does not know the object the operation acts on.', retryable: false, sent: true, httpStatus: 404, processorCode: 'resource_missing' }
          : (failure.outcome as Mutation<T>);
        return { outcome, attempts: result.attempts };
      },
      whenOpen: CIRCUIT_OPEN_ERROR,
      whenUnexpected: (message) => ({ kind: 'unknown', reason: 'connection_error', message }),
    });
  }

  function query<T extends AnyOutcome>(operation: ProcessorOperation, send: () => Promise<T | NotFound | QueryUnavailable>): Promise<T | NotFound | QueryUnavailable> {
    return guard.call<T | NotFound | QueryUnavailable>({
      operation,
      run: async () => {
        const result = await attempts(operation, send);
        return { outcome: 'value' in result ? result.value : queryFailureOf(result.failure), attempts: result.attempts };
      },
      whenOpen: CIRCUIT_OPEN_QUERY,
      whenUnexpected: (message) => ({ kind: 'unavailable', reason: 'connection_error', message, sent: true }),
    });
  }

  const notYet = (what: string): QueryUnavailable => ({ kind: 'unavailable', reason: 'not_yet_consistent', message: what, sent: true });
  const odd = (what: string): QueryUnavailable => ({ kind: 'unavailable', reason: 'bad_response', message: what, sent: true });

  /** The PaymentIntent NimbusPay created for an attempt, found by the attempt id in its metadata. */
  async function findIntentByAttempt(lookup: OperationLookup): Promise<{ kind: 'intent'; pi: PaymentIntent } | NotFound | QueryUnavailable> {
    const found = await stripe.paymentIntents.search({
      query: `metadata['${ATTEMPT_METADATA_KEY}']:'${lookup.idempotencyKey.replace(/'/g, "\\'")}'`,
      expand: ['data.payment_method', 'data.latest_charge'],
    });
    if (found.data.length > 1) return odd(`${found.data.length} PaymentIntents carry attempt ${lookup.idempotencyKey}`);
    const [pi] = found.data;
    if (pi) return { kind: 'intent', pi };
    if (now().getTime() - lookup.createdAt.getTime() < searchConsistencyMs) return notYet('Stripe search found nothing yet; it may not have indexed the PaymentIntent.');
    return { kind: 'not_found' };
  }

  async function lookupOperation(lookup: OperationLookup): Promise<OperationStatusResult> {
    const key = lookup.idempotencyKey;
    switch (lookup.operation) {
      case 'authorize':
      case 'bank_debit': {
        const found = await findIntentByAttempt(lookup);
        if (found.kind !== 'intent') return found;
        const pi = found.pi;
        if (lookup.operation === 'bank_debit') {
          const outcome = bankDebitDecisionOf(pi, now(), key);
          return outcome ? { kind: 'found', operation: 'bank_debit', outcome } : notYet(`PaymentIntent ${pi.id} is ${pi.status}`);
        }
        const outcome = authorizeDecisionOf(pi, { last4: '' });
        return outcome ? { kind: 'found', operation: 'authorize', outcome } : notYet(`PaymentIntent ${pi.id} is ${pi.status}`);
      }
      case 'capture':
      case 'void': {
        if (!lookup.targetReference) return { kind: 'unavailable', reason: 'client_error', message: 'A capture or void lookup needs the PaymentIntent id.', sent: false };
        // Retrieving a PaymentIntent is strongly consistent: if it is still `requires_capture`, neither happened.
        const pi = await stripe.paymentIntents.retrieve(lookup.targetReference);
        if (lookup.operation === 'capture') {
          const outcome = captureDecisionOf(pi);
          return outcome ? { kind: 'found', operation: 'capture', outcome } : { kind: 'not_found' };
        }
        const outcome = voidDecisionOf(pi);
        return outcome ? { kind: 'found', operation: 'void', outcome } : { kind: 'not_found' };
      }
      case 'refund':
      case 'bank_credit': {
        if (!lookup.targetReference) return { kind: 'unavailable', reason: 'client_error', message: 'A refund lookup needs the PaymentIntent id.', sent: false };
        for await (const refund of stripe.refunds.list({ payment_intent: lookup.targetReference, limit: 100 })) {
          if (refund.metadata?.[ATTEMPT_METADATA_KEY] !== key) continue;
          if (lookup.operation === 'refund') {
            const outcome = refundDecisionOf(refund);
            return outcome ? { kind: 'found', operation: 'refund', outcome } : odd(`refund ${refund.id} is ${refund.status}`);
          }
          const outcome = bankCreditDecisionOf(refund);
          return outcome ? { kind: 'found', operation: 'bank_credit', outcome } : odd(`refund ${refund.id} is ${refund.status}`);
        }
        return { kind: 'not_found' };
      }
    }
  }

  return {
    async authorize(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      const key = request.idempotencyKey;
      const last4 = request.card.number.slice(-4);
      return mutate('authorize', key, async () => {
        // The PaymentMethod moves no money; its own key makes a resumed attempt reuse it.
        const pm = await stripe.paymentMethods.create(
          { type: 'card', card: { number: request.card.number, exp_month: request.card.expMonth, exp_year: request.card.expYear, cvc: request.card.cvc } },
          { idempotencyKey: `${key}:pm` },
        );
        const pi = await stripe.paymentIntents.create({
          amount,
          currency: request.currency.toLowerCase(),
          payment_method: pm.id,
          allowed_payment_method_types: ['card'],
          capture_method: request.capture ? 'automatic' : 'manual',
          confirm: true,
          // No customer is present to complete 3-D Secure: fail instead of parking the intent in requires_action.
          error_on_requires_action: true,
          metadata: metadataFor(key, 'authorize'),
          expand: ['payment_method'],
        }, { idempotencyKey: key });
        return authorizeDecisionOf(pi, { last4 });
      });
    },

    async capture(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      return mutate('capture', request.idempotencyKey, async () =>
        captureDecisionOf(await stripe.paymentIntents.capture(request.authorizationReference, { amount_to_capture: amount }, { idempotencyKey: request.idempotencyKey })));
    },

    async voidAuthorization(request) {
      return mutate('void', request.idempotencyKey, async () =>
        voidDecisionOf(await stripe.paymentIntents.cancel(request.authorizationReference, {}, { idempotencyKey: request.idempotencyKey })));
    },

    async refund(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      return mutate('refund', request.idempotencyKey, async () =>
        refundDecisionOf(await stripe.refunds.create({
          payment_intent: request.authorizationReference,
          amount,
          metadata: metadataFor(request.idempotencyKey, 'refund'),
        }, { idempotencyKey: request.idempotencyKey })));
    },

    async getOperationStatus(lookup) {
      return query('get_operation_status', () => lookupOperation(lookup));
    },

    async createBankDebit(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      const key = request.idempotencyKey;
      return mutate('create_bank_debit', key, async () => {
        const pi = await stripe.paymentIntents.create({
          amount,
          currency: request.currency.toLowerCase(),
          allowed_payment_method_types: ['us_bank_account'],
          payment_method_data: {
            type: 'us_bank_account',
            us_bank_account: {
              account_number: request.account.accountNumber,
              routing_number: request.account.routingNumber,
              account_type: request.account.accountType,
            },
            billing_details: { name: request.account.holderName },
          },
          // The tenant collected the debit authorization; Stripe records it as an offline mandate.
          mandate_data: { customer_acceptance: { type: 'offline' } },
          confirm: true,
          metadata: metadataFor(key, 'bank_debit'),
          expand: ['payment_method'],
        }, { idempotencyKey: key });
        return bankDebitDecisionOf(pi, now(), key);
      });
    },

    async getBankDebit(debitReference) {
      return query('get_bank_debit', async () => {
        const pi = await stripe.paymentIntents.retrieve(debitReference, { expand: ['payment_method', 'latest_charge'] });
        const key = pi.metadata?.[ATTEMPT_METADATA_KEY] ?? '';
        const debit = bankDebitSnapshotOf(pi, now(), key);
        return debit ? { kind: 'found' as const, debit } : odd(`PaymentIntent ${pi.id} is ${pi.status}`);
      });
    },

    async createBankCredit(request) {
      const amount = toWireAmount(request.amountMinor);
      if (amount === undefined) return invalidAmount(request.amountMinor);
      return mutate('create_bank_credit', request.idempotencyKey, async () =>
        bankCreditDecisionOf(await stripe.refunds.create({
          payment_intent: request.debitReference,
          amount,
          metadata: metadataFor(request.idempotencyKey, 'bank_credit'),
        }, { idempotencyKey: request.idempotencyKey })));
    },

    circuitState() {
      return guard.circuitState();
    },

    async close() {
      agent.destroy();
    },
  };
}
