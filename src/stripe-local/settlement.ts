import type { Logger } from 'pino';
import type pg from 'pg';
import { AUTOMATIC, type EventSink } from './stripe-events.js';
import { lockObject, lockReferencedObject, updateObject, withTransaction } from './stripe-local-store.js';
import { deleteTask, lockDueTasks, postponeTask, scheduleTask, type DueTask } from './work-store.js';
import { newStripeId } from './stripe-ids.js';
import { disputePaymentIntent } from './payment-intent-actions.js';
import { settleRefund } from './refunds-service.js';
import { emit, type ServiceContext } from './service-context.js';
import type { BankBehaviour } from './test-instruments.js';

/**
 * Delayed state changes (bank debits settling or failing, bank refunds settling, a test card's refund failing)
 * are rows with a due time, not timers: after a restart or a kill -9 whatever fell due meanwhile runs at once.
 */
export interface SettlementDeps {
  pool: pg.Pool;
  sink: EventSink;
  settlementDelayMs: number;
  fingerprintKey: string;
  logger: Logger;
}

async function settleBankDebit(ctx: ServiceContext, task: DueTask): Promise<void> {
  const pi = await lockObject(ctx.tx, 'payment_intent', task.object_id);
  // Canceled (or otherwise moved on) since it was scheduled: nothing to settle.
  if (!pi || pi.status !== 'processing' || typeof pi.latest_charge !== 'string') return;
  const charge = await lockReferencedObject(ctx.tx, 'charge', pi.latest_charge);
  const behaviour = task.payload.behaviour as BankBehaviour;
  if (behaviour.kind === 'fail') {
    const paymentMethod = typeof pi.payment_method === 'string' ? await lockObject(ctx.tx, 'payment_method', pi.payment_method) : undefined;
    Object.assign(charge, { status: 'failed', paid: false, failure_code: behaviour.code, failure_message: behaviour.message });
    Object.assign(pi, {
      status: 'requires_payment_method',
      payment_method: null,
      last_payment_error: {
        charge: charge.id,
        code: behaviour.code,
        message: behaviour.message,
        ...(paymentMethod ? { payment_method: paymentMethod } : {}),
        payment_method_type: 'us_bank_account',
        type: 'invalid_request_error',
      },
    });
    await updateObject(ctx.tx, charge);
    await updateObject(ctx.tx, pi);
    await emit(ctx, 'charge.failed', charge);
    await emit(ctx, 'payment_intent.payment_failed', pi);
    return;
  }
  Object.assign(charge, { status: 'succeeded', paid: true, balance_transaction: newStripeId('balanceTransaction') });
  Object.assign(pi, { status: 'succeeded', amount_received: pi.amount });
  await updateObject(ctx.tx, charge);
  await updateObject(ctx.tx, pi);
  await emit(ctx, 'charge.succeeded', charge);
  await emit(ctx, 'payment_intent.succeeded', pi);
  if (behaviour.kind === 'settle_then_dispute') {
    await scheduleTask(ctx.tx, { kind: 'ach_dispute', objectId: pi.id, dueInMs: ctx.settlementDelayMs });
  }
}

async function runTask(ctx: ServiceContext, task: DueTask): Promise<void> {
  switch (task.kind) {
    case 'ach_settle':
      return settleBankDebit(ctx, task);
    case 'ach_dispute':
      await disputePaymentIntent(ctx, task.object_id, {});
      return;
    case 'refund_settle':
      return settleRefund(ctx, task.object_id, 'succeeded');
    case 'refund_fail':
      return settleRefund(ctx, task.object_id, 'failed');
    default:
      throw new Error(`unknown due task kind ${task.kind}`);
  }
}

/** A task that failed runs again after this, so one broken row never holds back the ones due after it. */
const FAILED_TASK_RETRY_MS = 5_000;

/** Runs due tasks one per transaction (a failing one is postponed, not retried in a loop); returns how many ran. */
export async function runDueTasks(deps: SettlementDeps, batch = 20): Promise<number> {
  let handled = 0;
  for (let i = 0; i < batch; i++) {
    let current: DueTask | undefined;
    try {
      const ran = await withTransaction(deps.pool, async (tx) => {
        const [task] = await lockDueTasks(tx, 1);
        if (!task) return false;
        current = task;
        const ctx: ServiceContext = {
          tx,
          cause: AUTOMATIC,
          sink: deps.sink,
          requestId: '',
          settlementDelayMs: deps.settlementDelayMs,
          fingerprintKey: deps.fingerprintKey,
          nowMs: Date.now(),
        };
        await runTask(ctx, task);
        await deleteTask(tx, task.id);
        return true;
      });
      if (!ran) break;
      handled += 1;
    } catch (err) {
      if (!current) throw err;
      deps.logger.error({ err, kind: current.kind, objectId: current.object_id }, 'due task failed; postponed');
      await postponeTask(deps.pool, current.id, FAILED_TASK_RETRY_MS);
      handled += 1;
    }
  }
  return handled;
}
