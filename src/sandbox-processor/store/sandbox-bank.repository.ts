import type { Selectable } from 'kysely';
import type { DebitScenario } from '../sandbox-bank-accounts.js';
import type { BankCreditsTable, BankDebitsTable, SandboxQueryable, SandboxTx } from './sandbox-db.js';
import type { BankCreditRecord, BankDebitRecord } from '../sandbox-records.js';

function toScenario(row: Selectable<BankDebitsTable>): DebitScenario {
  if (row.scenario === 'settles') return { kind: 'settles' };
  return { kind: row.scenario, achReturn: { code: row.return_code ?? '', reason: row.return_reason ?? '' } };
}

function toBankDebitRecord(row: Selectable<BankDebitsTable>): BankDebitRecord {
  return {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    ...(row.decline_code !== null ? { declined: { code: row.decline_code, message: row.decline_message ?? '' } } : {}),
    amount: row.amount,
    currency: row.currency,
    accountLast4: row.account_last4,
    routingNumber: row.routing_number,
    accountType: row.account_type,
    scenario: toScenario(row),
    submittedAtMs: row.submitted_at.getTime(),
    delays: { settlementDelayMs: row.settlement_delay_ms, lateReturnDelayMs: row.late_return_delay_ms },
    creditedAmount: row.credited_amount,
  };
}

function toBankCreditRecord(row: Selectable<BankCreditsTable>): BankCreditRecord {
  return {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    debitId: row.debit_id,
    amount: row.amount,
    currency: row.currency,
    createdAtMs: row.created_at.getTime(),
    settlementDelayMs: row.settlement_delay_ms,
  };
}

export async function insertBankDebit(tx: SandboxTx, debit: BankDebitRecord): Promise<void> {
  const achReturn = debit.scenario.kind === 'settles' ? undefined : debit.scenario.achReturn;
  await tx
    .insertInto('bank_debits')
    .values({
      id: debit.id,
      idempotency_key: debit.idempotencyKey,
      decline_code: debit.declined?.code ?? null,
      decline_message: debit.declined?.message ?? null,
      amount: debit.amount,
      currency: debit.currency,
      account_last4: debit.accountLast4,
      routing_number: debit.routingNumber,
      account_type: debit.accountType,
      scenario: debit.scenario.kind,
      return_code: achReturn?.code ?? null,
      return_reason: achReturn?.reason ?? null,
      submitted_at: new Date(debit.submittedAtMs),
      settlement_delay_ms: debit.delays.settlementDelayMs,
      late_return_delay_ms: debit.delays.lateReturnDelayMs,
      credited_amount: debit.creditedAmount,
    })
    .execute();
}

export async function findBankDebit(q: SandboxQueryable, id: string): Promise<BankDebitRecord | undefined> {
  const row = await q.selectFrom('bank_debits').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toBankDebitRecord(row) : undefined;
}

/** Credits against one debit queue here, so two of them cannot both fit under its amount. */
export async function lockBankDebit(tx: SandboxTx, id: string): Promise<BankDebitRecord | undefined> {
  const row = await tx.selectFrom('bank_debits').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  return row ? toBankDebitRecord(row) : undefined;
}

export async function saveCreditedAmount(tx: SandboxTx, debitId: string, creditedAmount: number): Promise<void> {
  await tx.updateTable('bank_debits').set({ credited_amount: creditedAmount }).where('id', '=', debitId).execute();
}

export async function insertBankCredit(tx: SandboxTx, credit: BankCreditRecord): Promise<void> {
  await tx
    .insertInto('bank_credits')
    .values({
      id: credit.id,
      idempotency_key: credit.idempotencyKey,
      debit_id: credit.debitId,
      amount: credit.amount,
      currency: credit.currency,
      created_at: new Date(credit.createdAtMs),
      settlement_delay_ms: credit.settlementDelayMs,
    })
    .execute();
}

export async function findBankCredit(q: SandboxQueryable, id: string): Promise<BankCreditRecord | undefined> {
  const row = await q.selectFrom('bank_credits').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toBankCreditRecord(row) : undefined;
}
