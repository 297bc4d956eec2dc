import { withCrossTenantTx } from '../../platform/db.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { Secret } from '../../platform/secret.js';
import { newsOfStripeEvent, verifyStripeNotification, type BankDebitSnapshot } from '../processors/index.js';
import * as bankRepo from './bank-transfers.repository.js';
import { snapshotFromDebit, type BankTransfersDeps, type RailSnapshot } from './bank-transfers.service.js';
import type { ProcessorNotificationAck } from './payments.schema.js';
import { applyRailNotification, recordOnly, type NotificationRecord } from './processor-notifications.service.js';

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
  const record: NotificationRecord = { processor: 'stripe', id: event.id, type: event.type, payload: event as unknown as Record<string, unknown> };
  const news = newsOfStripeEvent(event);

  switch (news.kind) {
    case 'ignored': {
      const fresh = await recordOnly(deps, record);
      log.info({ notification_id: event.id, type: event.type, why: news.why }, 'stripe event recorded, not acted on');
      return { received: true, duplicate: !fresh };
    }
    case 'bank_debit': {
      const snapshot = snapshotFromDebit(news.debit);
      if (!snapshot) return ignoreDeclined(deps, log, record, news.debit);
      return applyRailNotification(deps, log, record, { idempotencyKey: news.attemptId, debitReference: news.debit.processorReference }, snapshot);
    }
    case 'dispute': {
      const ref = { idempotencyKey: undefined, debitReference: news.paymentIntentId };
      const target = await withCrossTenantTx(deps.db, (tx) => bankRepo.findBankDebitTarget(tx, ref));
      if (!target) {
        const fresh = await recordOnly(deps, record);
        log.warn({ notification_id: event.id, payment_intent: news.paymentIntentId }, 'dispute on a payment that is not a known bank transfer (card disputes are not handled automatically); recorded');
        return { received: true, duplicate: !fresh };
      }
      // A disputed ACH debit had settled: the money comes back after settlement, i.e. a late return.
      const snapshot: RailSnapshot = {
        debitReference: news.paymentIntentId,
        status: 'returned',
        settledAt: news.returnedAt,
        returnedAt: news.returnedAt,
        returnCode: news.returnCode,
        returnReason: news.returnReason,
      };
      return applyRailNotification(deps, log, record, ref, snapshot);
    }
  }
}

async function ignoreDeclined(deps: StripeNotificationsDeps, log: StripeNotificationsDeps['logger'], record: NotificationRecord, debit: BankDebitSnapshot): Promise<ProcessorNotificationAck> {
  const fresh = await recordOnly(deps, record);
  log.warn({ notification_id: record.id, debit_id: debit.processorReference }, 'stripe reports a debit as declined in an event; recorded, the submission path decides declines');
  return { received: true, duplicate: !fresh };
}
