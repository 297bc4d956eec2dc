import { Kysely, PostgresDialect, sql, type ColumnType, type Generated, type Transaction } from 'kysely';
import pg from 'pg';

/**
 * The sandbox's own tables, in the `sandbox_processor` schema (store/sandbox-ddl.ts creates them). The sandbox shares no
 * table and no type with NimbusPay: it plays an outside company that keeps its own books.
 */
export const SANDBOX_SCHEMA = 'sandbox_processor';

type Timestamp = ColumnType<Date, Date, Date>;
/** Wire amounts are JSON numbers capped at MAX_SAFE_INTEGER by the request schemas, so int8 parses to a number. */
type Amount = ColumnType<number, number, number>;
/** `json` (not `jsonb`): a recorded answer must replay byte for byte, key order included. */
type Json<T> = ColumnType<T, string, string>;

export interface OperationsTable {
  idempotency_key: string;
  operation: string;
  fingerprint: string;
  status_code: number;
  body: Json<Record<string, unknown>>;
  created_at: Timestamp;
}

export interface AuthorizationsTable {
  id: string;
  idempotency_key: string;
  status: 'approved' | 'declined';
  decline_code: string | null;
  decline_message: string | null;
  amount: Amount;
  currency: string;
  captured_amount: Amount;
  refunded_amount: Amount;
  voided: boolean;
  refunds_declined: boolean;
  brand: string;
  last4: string;
  created_at: Timestamp;
}

export interface RefundsTable {
  id: string;
  authorization_id: string;
  status: 'approved' | 'declined';
  decline_code: string | null;
  decline_message: string | null;
  amount: Amount;
  currency: string;
  created_at: Timestamp;
}

export interface BankDebitsTable {
  id: string;
  idempotency_key: string;
  decline_code: string | null;
  decline_message: string | null;
  amount: Amount;
  currency: 'usd';
  account_last4: string;
  routing_number: string;
  account_type: 'checking' | 'savings';
  scenario: 'settles' | 'returned_before_settlement' | 'late_return';
  return_code: string | null;
  return_reason: string | null;
  submitted_at: Timestamp;
  settlement_delay_ms: number;
  late_return_delay_ms: number;
  credited_amount: Amount;
}

export interface BankCreditsTable {
  id: string;
  idempotency_key: string;
  debit_id: string;
  amount: Amount;
  currency: 'usd';
  created_at: Timestamp;
  settlement_delay_ms: number;
}

export type OutboxState = 'pending' | 'sent' | 'given_up' | 'dropped';

export interface NotificationOutboxTable {
  id: Generated<number>;
  event_id: string;
  debit_id: string;
  /** The instant the event describes; its body is computed at this instant, whenever it is pushed. */
  event_at: Timestamp;
  /** When the next attempt may run. */
  due_at: Timestamp;
  state: ColumnType<OutboxState, OutboxState | undefined, OutboxState>;
  attempts: ColumnType<number, number | undefined, number>;
  /** Set by the first attempt; retries resend it unchanged so the receiver sees one event. */
  raw_body: string | null;
  last_error: string | null;
  updated_at: Timestamp;
}

export interface SandboxDatabase {
  operations: OperationsTable;
  authorizations: AuthorizationsTable;
  refunds: RefundsTable;
  bank_debits: BankDebitsTable;
  bank_credits: BankCreditsTable;
  notification_outbox: NotificationOutboxTable;
}

export type SandboxDb = Kysely<SandboxDatabase>;
/** Repository functions that lock rows take a `SandboxTx`: the type says a transaction is required. */
export type SandboxTx = Transaction<SandboxDatabase>;
export type SandboxQueryable = SandboxDb | SandboxTx;

export interface SandboxDbHandle {
  /** Queries are qualified with the sandbox schema (raw `sql` must name it itself). */
  readonly db: SandboxDb;
  /** Opens the connections the pool keeps, so the first burst of requests does not wait for connection set-up. */
  warm(): Promise<void>;
  close(): Promise<void>;
}

const INT8_OID = 20;

export function createSandboxDb(options: { connectionString: string; max: number }): SandboxDbHandle {
  // A few connections stay open: a client with a tight timeout must not pay for connection set-up (fork and SCRAM
  // authentication in PostgreSQL) on its first concurrent requests.
  const keptOpen = Math.min(4, options.max);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    min: keptOpen,
    application_name: 'nimbuspay-sandbox-processor',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    statement_timeout: 30_000,
    types: {
      getTypeParser(oid: number, format?: 'text' | 'binary') {
        if (oid === INT8_OID) return (v: string) => Number(v);
        return pg.types.getTypeParser(oid, format as 'text');
      },
    },
  });
  // A dropped connection (PostgreSQL restart) must not crash the sandbox: the failing query rejects instead.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<SandboxDatabase>({ dialect: new PostgresDialect({ pool }) }).withSchema(SANDBOX_SCHEMA);
  let closed = false;
  return {
    db,
    async warm() {
      await Promise.all(Array.from({ length: keptOpen }, () => sql`SELECT 1`.execute(db)));
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}
