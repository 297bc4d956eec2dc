import { Value } from '@sinclair/typebox/value';
import { withCrossTenantTx, withTenantTx } from '../../platform/db.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Secret } from '../../platform/secret.js';
import { findUnstorable } from '../../platform/storable-text.js';
import { DEFAULT_SIGNATURE_TOLERANCE_SEC, verifyProcessorNotification } from '../processors/index.js';
import * as bankRepo from './bank-transfers.repository.js';
import { convergeBankTransfer, type BankTransfersDeps, type RailSnapshot } from './bank-rail.service.js';
import {
  BankDebitNotificationData, ProcessorNotificationEnvelope, type ProcessorNotificationAck,
} from './payments.schema.js';

// POST /v1/processor_notifications/{processor}: the rail pushing news about debits. Authenticated by the HMAC
// signature alone (no bearer token); nothing is read from the body before the signature over the exact bytes
// received has been verified. Each notification id is recorded in processor_notifications in the transaction
// that applies it, so a redelivery (or a concurrent duplicate, which waits on the primary key) changes nothing.
// A notification is applied as a snapshot (see bank-rail.service.ts), never as "the next step", so the
// order of delivery does not matter.

export interface ProcessorNotificationsDeps extends BankTransfersDeps {
  /** Shared secret per processor that may notify us; a processor not listed here is unknown (404). */
  notificationSecrets: ReadonlyMap<string, Secret<string>>;
  signatureToleranceSec?: number;
}

export interface InboundNotification {
  processor: string;
  rawBody: string;
  signatureHeader: string | undefined;
}

function invalid(message: string): AppError {
  return new AppError('invalid_request', message);
}

/** 9999-12-31T23:59:59.999Z */
const LATEST_TIME_MS = 253_402_300_799_999;

function parseTime(value: string | null | undefined, field: string): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = new Date(value);
  // PostgreSQL's timestamptz and our own filters stop at the end of year 9999; a rail's time is after 1970
  if (Number.isNaN(date.getTime()) || date.getTime() < 0 || date.getTime() > LATEST_TIME_MS) throw invalid(`data.${field} is not a valid time.`);
  return date;
}

/**
 * The body is stored as it came (jsonb), which refuses NUL and unpaired surrogates: refused here with a 400 rather
 * than by PostgreSQL with a 500. The HTTP input guard never sees a notification's body, which is read as raw bytes
 * for the signature.
 */
export function refuseUnstorable(body: unknown): void {
  const at = findUnstorable(body);
  if (at) throw invalid(`The notification has a NUL character or an unpaired UTF-16 surrogate at ${at.map((k) => JSON.stringify(k)).join('.') || 'its root'}.`);
}

function snapshotOf(data: BankDebitNotificationData): RailSnapshot {
  const snapshot: RailSnapshot = {
    debitReference: data.debit_id,
    status: data.status,
    settledAt: parseTime(data.settled_at, 'settled_at'),
    returnedAt: parseTime(data.returned_at, 'returned_at'),
    returnCode: data.return_code ?? undefined,
    returnReason: data.return_reason ?? undefined,
  };
  if (snapshot.status === 'settled' && !snapshot.settledAt) throw invalid('A settled debit needs data.settled_at.');
  if (snapshot.status === 'returned' && !snapshot.returnCode) throw invalid('A returned debit needs data.return_code.');
  return snapshot;
}

export async function receiveProcessorNotification(deps: ProcessorNotificationsDeps, inbound: InboundNotification): Promise<ProcessorNotificationAck> {
  const secret = deps.notificationSecrets.get(inbound.processor);
  if (!secret) throw notFound('processor', inbound.processor);
  const log = deps.logger.child({ processor: inbound.processor });

  const verified = verifyProcessorNotification({
    secret: secret.reveal(),
    rawBody: inbound.rawBody,
    header: inbound.signatureHeader,
    nowSec: Math.floor(((deps.now ?? (() => new Date()))()).getTime() / 1000),
    toleranceSec: deps.signatureToleranceSec ?? DEFAULT_SIGNATURE_TOLERANCE_SEC,
  });
  if (!verified.ok) {
    log.warn({ reason: verified.reason }, 'processor notification refused: bad signature');
    // One message for every reason: which check failed is for our logs, not for whoever is probing the endpoint.
    throw new AppError('invalid_signature', 'The Processor-Signature header is missing, malformed, expired or does not match the body.');
  }

  let json: unknown;
  try {
    json = JSON.parse(inbound.rawBody);
  } catch {
    throw new AppError('invalid_json', 'The notification body is not valid JSON.');
  }
  if (!Value.Check(ProcessorNotificationEnvelope, json)) throw invalid('The notification needs an id, a type and a data object.');
  refuseUnstorable(json);
  const envelope = json;
  const record = { processor: inbound.processor, id: envelope.id, type: envelope.type, payload: json as Record<string, unknown> };

  if (!envelope.type.startsWith('bank_debit.')) {
    const fresh = await recordOnly(deps, record);
    log.info({ notification_id: envelope.id, type: envelope.type }, 'processor notification of a type we do not act on; recorded');
    return { received: true, duplicate: !fresh };
  }
  if (!Value.Check(BankDebitNotificationData, envelope.data)) throw invalid('The bank debit notification data is malformed.');
  const data = envelope.data;
  const snapshot = snapshotOf(data);

  return applyRailNotification(deps, log, record, { idempotencyKey: data.idempotency_key, debitReference: data.debit_id }, snapshot);
}

export interface NotificationRecord {
  processor: string;
  id: string;
  type: string;
  payload: Record<string, unknown>;
}

/**
 * The part every processor's notifications share: find the bank transfer, then — in one tenant transaction —
 * record the notification id (a redelivery or a concurrent duplicate changes nothing) and converge the transfer to
 * the snapshot. A notification about a debit we do not know is recorded and not applied.
 */
export async function applyRailNotification(
  deps: BankTransfersDeps,
  log: Logger,
  record: NotificationRecord,
  ref: { idempotencyKey: string | undefined; debitReference: string },
  snapshot: RailSnapshot,
  whenUnknown = 'processor notification about a debit we do not know; recorded, nothing applied',
): Promise<ProcessorNotificationAck> {
  // The attempt → payment mapping never changes, so finding the tenant outside the applying transaction is safe.
  const target = await withCrossTenantTx(deps.db, (tx) => bankRepo.findBankDebitTarget(tx, ref));
  if (!target) {
    const fresh = await recordOnly(deps, record);
    log.warn({ notification_id: record.id, debit_id: ref.debitReference }, whenUnknown);
    return { received: true, duplicate: !fresh };
  }
  const result = await withTenantTx(deps.db, target.tenantId, async (tx) => {
    if (!(await bankRepo.recordProcessorNotification(tx, record))) return undefined;
    return convergeBankTransfer(tx, deps, target.tenantId, target.paymentId, snapshot, 'notification');
  });
  if (!result) {
    log.info({ notification_id: record.id, payment_id: target.paymentId }, 'duplicate processor notification; already processed');
    return { received: true, duplicate: true };
  }
  log.info({ notification_id: record.id, type: record.type, payment_id: target.paymentId, tenant_id: target.tenantId, moved: result.moved }, 'processor notification applied');
  return { received: true, duplicate: false };
}

/** Records a notification that changes nothing; false when its id was already recorded. */
export function recordOnly(deps: BankTransfersDeps, record: NotificationRecord): Promise<boolean> {
  return deps.db.transaction().execute((tx) => bankRepo.recordProcessorNotification(tx, record));
}
