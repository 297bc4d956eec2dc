import { AppError, notFound } from '../../platform/errors.js';
import type { Secret } from '../../platform/secret.js';
import { newsOfStripeEvent, verifyStripeNotification } from '../processors/index.js';
import { snapshotFromDebit, type BankTransfersDeps, type RailSnapshot } from './bank-rail.service.js';
import type { ProcessorNotificationAck } from './payments.schema.js';
import { applyRailNotification, recordOnly, refuseUnstorable, type NotificationRecord } from './processor-notifications.service.js';

// POST /v1/processor_notifications/stripe: Stripe's webhook events. Authenticated by `Stripe-Signature` alone
// (verified by the SDK over the exact bytes received, against every configured secret during a rotation); each
// event id is recorded once, in the transaction that applies it, and applied through the same convergence as the
// sandbox's notifications and the rail polls — so order, duplicates and lost events do not matter.

export interface StripeNotificationsDeps extends BankTransfersDeps {
  /** The webhook endpoint's signing secrets; empty when Stripe is not the configured processor (then 404). */
  stripeWebhookSecrets: readonly Secret<string>[];
  signatureToleranceSec?: number;
}

export async function receiveStripeNotification(
  deps: StripeNotificationsDeps,
  inbound: { rawBody: string; signatureHeader: string | undefined },
): Promise<ProcessorNotificationAck> {
  if (deps.stripeWebhookSecrets.length === 0) throw notFound('processor', 'stripe');
  const log = deps.logger.child({ processor: 'stripe' });
  const verified = verifyStripeNotification({
    rawBody: inbound.rawBody,
    header: inbound.signatureHeader,
    secrets: deps.stripeWebhookSecrets.map((s) => s.reveal()),
    nowMs: (deps.now ?? (() => new Date()))().getTime(),
    ...(deps.signatureToleranceSec !== undefined ? { toleranceSec: deps.signatureToleranceSec } : {}),
  });
  if (!verified.ok) {
    log.warn({ reason: verified.reason }, 'stripe notification refused: bad signature');
    throw new AppError('invalid_signature', 'The Stripe-Signature header is missing, malformed, expired or does not match the body.');
  }
  const event = verified.event;
  refuseUnstorable(event);
  const record: NotificationRecord = { processor: 'stripe', id: event.id, type: event.type, payload: event as unknown as Record<string, unknown> };
  const news = newsOfStripeEvent(event);

  const acknowledge = async (why: string): Promise<ProcessorNotificationAck> => {
    const fresh = await recordOnly(deps, record);
    log.info({ notification_id: event.id, type: event.type, why }, 'stripe event recorded, not acted on');
    return { received: true, duplicate: !fresh };
  };

  switch (news.kind) {
    case 'ignored':
      return acknowledge(news.why);
    case 'bank_debit': {
      // Declines are decided by the submission's own answer; an event never carries one for a debit Stripe took.
      const snapshot = snapshotFromDebit(news.debit);
      if (!snapshot) return acknowledge('a declined debit is the submission path\'s business');
      return applyRailNotification(deps, log, record, { idempotencyKey: news.attemptId, debitReference: news.debit.processorReference }, snapshot);
    }
    case 'dispute': {
      const ref = { idempotencyKey: undefined, debitReference: news.paymentIntentId };
      // A disputed ACH debit had settled: the money comes back after settlement, i.e. a late return.
      const snapshot: RailSnapshot = {
        debitReference: news.paymentIntentId,
        status: 'returned',
        settledAt: news.returnedAt,
        returnedAt: news.returnedAt,
        returnCode: news.returnCode,
        returnReason: news.returnReason,
      };
      // A dispute of a card payment finds no bank transfer: it is recorded, not handled automatically.
      return applyRailNotification(deps, log, record, ref, snapshot, 'dispute on a payment that is not a known bank transfer (card disputes are not handled automatically); recorded');
    }
  }
}
