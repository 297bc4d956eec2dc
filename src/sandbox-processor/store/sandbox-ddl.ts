import { sql } from 'kysely';
import type { SandboxDb } from './sandbox-db.js';

/**
 * The sandbox's schema, created and upgraded by the sandbox itself at start. It never uses NimbusPay's migrations:
 * it stands for an outside company's system, and must be able to live in a database of its own.
 *
 * Steps are append-only: a new column or table is a new step. Every step is idempotent (IF NOT EXISTS) as well as
 * recorded, so a half-upgraded schema from an older build is still brought forward.
 */
const STEPS: ReadonlyArray<{ version: number; statements: string[] }> = [
  {
    version: 1,
    statements: [
      `CREATE TABLE IF NOT EXISTS sandbox_processor.operations (
        idempotency_key text PRIMARY KEY,
        operation text NOT NULL CHECK (operation IN ('authorization', 'capture', 'void', 'refund', 'bank_debit', 'bank_credit')),
        fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
        status_code integer NOT NULL,
        body json NOT NULL,
        created_at timestamptz NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS sandbox_processor.authorizations (
        id text PRIMARY KEY,
        idempotency_key text NOT NULL,
        status text NOT NULL CHECK (status IN ('approved', 'declined')),
        decline_code text,
        decline_message text,
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL,
        captured_amount bigint NOT NULL CHECK (captured_amount BETWEEN 0 AND amount),
        refunded_amount bigint NOT NULL CHECK (refunded_amount BETWEEN 0 AND captured_amount),
        voided boolean NOT NULL,
        refunds_declined boolean NOT NULL,
        brand text NOT NULL,
        last4 text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
        created_at timestamptz NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS sandbox_processor.refunds (
        id text PRIMARY KEY,
        authorization_id text NOT NULL REFERENCES sandbox_processor.authorizations (id),
        status text NOT NULL CHECK (status IN ('approved', 'declined')),
        decline_code text,
        decline_message text,
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL,
        created_at timestamptz NOT NULL
      )`,
      // The delays are kept per debit: a debit keeps the timeline it was promised even if the sandbox restarts with
      // other settings.
      `CREATE TABLE IF NOT EXISTS sandbox_processor.bank_debits (
        id text PRIMARY KEY,
        idempotency_key text NOT NULL,
        decline_code text,
        decline_message text,
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL CHECK (currency = 'usd'),
        account_last4 text NOT NULL CHECK (account_last4 ~ '^[0-9]{4}$'),
        routing_number text NOT NULL,
        account_type text NOT NULL CHECK (account_type IN ('checking', 'savings')),
        scenario text NOT NULL CHECK (scenario IN ('settles', 'returned_before_settlement', 'late_return')),
        return_code text,
        return_reason text,
        submitted_at timestamptz NOT NULL,
        settlement_delay_ms integer NOT NULL CHECK (settlement_delay_ms >= 0),
        late_return_delay_ms integer NOT NULL CHECK (late_return_delay_ms >= 0),
        credited_amount bigint NOT NULL CHECK (credited_amount BETWEEN 0 AND amount),
        CHECK ((scenario = 'settles') = (return_code IS NULL))
      )`,
      `CREATE TABLE IF NOT EXISTS sandbox_processor.bank_credits (
        id text PRIMARY KEY,
        idempotency_key text NOT NULL,
        debit_id text NOT NULL REFERENCES sandbox_processor.bank_debits (id),
        amount bigint NOT NULL CHECK (amount > 0),
        currency text NOT NULL CHECK (currency = 'usd'),
        created_at timestamptz NOT NULL,
        settlement_delay_ms integer NOT NULL CHECK (settlement_delay_ms >= 0)
      )`,
      `CREATE TABLE IF NOT EXISTS sandbox_processor.notification_outbox (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        debit_id text NOT NULL REFERENCES sandbox_processor.bank_debits (id),
        event_at timestamptz NOT NULL,
        due_at timestamptz NOT NULL,
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'given_up', 'dropped')),
        attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        raw_body text,
        last_error text,
        updated_at timestamptz NOT NULL
      )`,
      `CREATE INDEX IF NOT EXISTS notification_outbox_pending_due
        ON sandbox_processor.notification_outbox (due_at) WHERE state = 'pending'`,
    ],
  },
];

/** Arbitrary, fixed: every sandbox replica starting against one database takes the same lock. */
const SCHEMA_LOCK_KEY = 7359120044101n;

/**
 * Brings the `sandbox_processor` schema up to date. One transaction under an advisory lock: two replicas starting at
 * once run the steps one after the other (CREATE … IF NOT EXISTS alone still races on the catalog).
 */
export async function ensureSandboxSchema(db: SandboxDb): Promise<{ applied: number[] }> {
  return db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY.toString()}::bigint)`.execute(tx);
    await sql`CREATE SCHEMA IF NOT EXISTS sandbox_processor`.execute(tx);
    await sql`CREATE TABLE IF NOT EXISTS sandbox_processor.schema_versions (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`.execute(tx);
    const done = await sql<{ version: number }>`SELECT version FROM sandbox_processor.schema_versions`.execute(tx);
    const have = new Set(done.rows.map((r) => r.version));
    const applied: number[] = [];
    for (const step of STEPS) {
      if (have.has(step.version)) continue;
      for (const statement of step.statements) await sql.raw(statement).execute(tx);
      await sql`INSERT INTO sandbox_processor.schema_versions (version) VALUES (${step.version})`.execute(tx);
      applied.push(step.version);
    }
    return { applied };
  });
}
