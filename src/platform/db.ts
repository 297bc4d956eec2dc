import pg from 'pg';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import type { Database } from './db-schema.js';

export type Db = Kysely<Database>;
/** A repository function that needs a transaction (row locks, multi-statement invariants) takes a `Tx`. */
export type Tx = Transaction<Database>;
/** Anything that can run a query: the pool or a transaction. */
export type Queryable = Db | Tx;

export interface DbHandle {
  readonly db: Db;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Money columns are bigint: parse them to BigInt, never to a float or a string that could be added wrongly. */
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (v: string) => BigInt(v);
    if (oid === NUMERIC_OID) return (v: string) => v;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/**
 * A statement whose SQL starts with `/* prepared:<name> *\/` is sent as a named prepared statement: parsed and
 * planned once per connection, then only bound and executed. For the payment path's function calls that saved a
 * quarter of PostgreSQL's work per payment (pgbench running the two calls: 449 -> 564 payments/s at 8 clients,
 * `-M extended` against `-M prepared`). Opt-in per statement, for fixed texts only: a name must always carry the
 * same text, and a prepared statement keeps one plan shape for every parameter value.
 */
export function prepared(name: string): string {
  if (!/^[a-z_]+$/.test(name)) throw new Error(`prepared statement name '${name}' must be [a-z_]+`);
  return `/* prepared:${name} */`;
}
const PREPARED_NAME = /^\s*\/\* prepared:([a-z_]+) \*\//;

class PreparingClient extends pg.Client {
  // pg's query() is overloaded; Kysely calls query(text, values), which is the only form renamed here
  override query(...args: unknown[]): never {
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values)) {
      const name = PREPARED_NAME.exec(text)?.[1];
      if (name) return super.query({ name, text, values }) as never;
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

export function createDb(options: {
  connectionString: string;
  max: number;
  applicationName: string;
  statementTimeoutMs?: number;
}): DbHandle {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    application_name: options.applicationName,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    types: typeParsers,
    Client: PreparingClient,
  });
  // A dropped connection (failover, restart) must not crash the process: idle clients report through the pool,
  // checked-out ones through their own 'error' event, and the failing query rejects either way.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    db,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/**
 * Runs `fn` in a transaction scoped to one tenant: row-level security then only shows that tenant's rows,
 * whatever the query says. The setting is transaction-local (third argument `true`), so it never leaks to the
 * next user of the pooled connection.
 */
export async function withTenantTx<T>(db: Db, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  // The tenant id goes into the SQL text so BEGIN and the setting travel in one round trip (simple protocol,
  // no parameters): it is checked against the id format first, so it can never carry SQL.
  if (!TENANT_ID.test(tenantId)) throw new Error('withTenantTx: malformed tenant id');
  return inTransaction(db, `BEGIN; SELECT set_config('app.tenant_id', '${tenantId}', true)`, fn);
}

// What each open transaction of inTransaction runs once it has committed (see afterCommit).
const commitHooks = new WeakMap<object, Array<() => void>>();

/**
 * Runs `hook` once the transaction has committed, and never if it rolls back: for what must count only committed
 * work, such as a metric of payments moved. Only inside withTenantTx or withCrossTenantTx (anything else throws).
 * A hook must not throw: the transaction has committed and its caller must hear so; one that does is ignored.
 */
export function afterCommit(tx: Tx, hook: () => void): void {
  const hooks = commitHooks.get(tx);
  if (!hooks) throw new Error('afterCommit: not inside withTenantTx or withCrossTenantTx');
  hooks.push(hook);
}

/**
 * BEGIN and the transaction's setting in one round trip (`begin`, simple protocol), `fn`, then COMMIT, or ROLLBACK
 * if `fn` throws; then the afterCommit hooks. Throws if COMMIT found the transaction aborted.
 */
async function inTransaction<T>(db: Db, begin: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    const hooks: Array<() => void> = [];
    commitHooks.set(conn, hooks);
    let result: T;
    try {
      // inside the try: should the setting fail after BEGIN, the ROLLBACK below still closes the transaction
      await sql.raw(begin).execute(conn);
      // a connection-bound Kysely inside BEGIN … COMMIT is a transaction in all but its class
      result = await fn(conn as unknown as Tx);
      // PostgreSQL answers the COMMIT of a transaction that an earlier error aborted with ROLLBACK, and no error:
      // had `fn` caught that error and gone on, its caller would take rolled-back work for committed work
      const { rows } = await sql.raw<{ command?: string }>('COMMIT').execute(conn);
      if (rows[0]?.command === 'ROLLBACK') throw new Error('the transaction was rolled back: a statement in it failed and the error was caught');
    } catch (err) {
      // after a failed or refused COMMIT there is no transaction left, and this ROLLBACK only draws a warning
      await sql.raw('ROLLBACK').execute(conn).catch(() => {});
      throw err;
    } finally {
      commitHooks.delete(conn);
    }
    for (const hook of hooks) {
      try {
        hook();
      } catch {
        // ignored, as documented at afterCommit
      }
    }
    return result;
  });
}

const TENANT_ID = /^ten_[0-9a-z]{26}$/;

/**
 * The explicit cross-tenant path (worker, reconciler, token endpoint, platform admin, support). Callers must
 * still filter by tenant where they act for one; this only lifts the row-level-security net.
 */
export async function withCrossTenantTx<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return inTransaction(db, "BEGIN; SELECT set_config('app.cross_tenant', 'on', true)", fn);
}

/** PostgreSQL SQLSTATE of an error thrown by pg, if any. */
export function pgErrorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Socket errors of a connection to PostgreSQL that went away or could not be made. */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** node-postgres's own errors for a lost connection and an exhausted pool (they carry no code). */
const CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection closed)/;

/**
 * The database is unreachable for now — shut down or restarting (class 57P), a connection exception (class 08),
 * too many connections (53300), a dropped socket or an exhausted pool — rather than the request being wrong or
 * the code broken. Such a failure is transient: the API answers 503 with Retry-After, not 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('57P') || code.startsWith('08') || code === '53300' || CONNECTION_ERRNOS.has(code))) return true;
    if (CONNECTION_MESSAGES.test(e.message)) return true;
  }
  return false;
}

export const PG_UNIQUE_VIOLATION = '23505';
export const PG_CHECK_VIOLATION = '23514';
export const PG_SERIALIZATION_FAILURE = '40001';

/** The same server's URL for another database (and, optionally, another login). */
export function withDatabase(url: string, database: string, user?: { name: string; password: string }): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  if (user) {
    u.username = user.name;
    u.password = user.password;
  }
  return u.toString();
}

/** A LISTEN held on a dedicated connection; see `listenForNotifications`. */
export interface NotificationListener {
  /** Whether the LISTEN is in place right now (notifications sent while it is not are lost). */
  readonly listening: boolean;
  close(): Promise<void>;
}

/**
 * LISTENs on `channel` over one dedicated connection — not a pooled one: LISTEN belongs to the session, and a
 * pooled connection goes back to other users between queries. Notifications are delivered at the notifier's
 * commit, so one received means its rows are visible. A lost connection is made again with capped exponential
 * backoff. `onListening(true)` is called after every (re)connection and `onListening(false)` when it is lost:
 * whatever was notified in between never arrives, so the caller looks for work itself then (and polls while
 * down). `close` ends the connection and any pending reconnection, leaving no handle open.
 */
export function listenForNotifications(options: {
  connectionString: string;
  applicationName: string;
  channel: string;
  onNotification: () => void;
  onListening: (listening: boolean) => void;
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  minBackoffMs?: number;
  maxBackoffMs?: number;
}): NotificationListener {
  const { channel, logger } = options;
  const minBackoffMs = options.minBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  let client: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let listening = false;
  let closed = false;
  let downSince: number | undefined;

  function lost(c: pg.Client, err?: unknown): void {
    if (client !== c) return;
    client = undefined;
    c.removeAllListeners('notification');
    void c.end().catch(() => {});
    if (closed) return;
    if (listening) {
      listening = false;
      options.onListening(false);
    }
    // one log line per outage, not one per reconnection attempt
    if (downSince === undefined) {
      downSince = Date.now();
      logger.warn({ err, channel }, 'notification listener lost its database connection; polling until it is back');
    }
    const delayMs = Math.min(maxBackoffMs, minBackoffMs * 2 ** failures++);
    retryTimer = setTimeout(() => { retryTimer = undefined; connecting = connect(); }, delayMs * (0.5 + Math.random() / 2));
  }

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: options.connectionString, application_name: options.applicationName, keepAlive: true, connectionTimeoutMillis: 5_000 });
    client = c;
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c));
    c.on('notification', (msg) => { if (msg.channel === channel) options.onNotification(); });
    try {
      await c.connect();
      await c.query(`LISTEN ${c.escapeIdentifier(channel)}`);
    } catch (err) {
      lost(c, err);
      return;
    }
    if (client !== c) return;
    if (closed) {
      client = undefined;
      await c.end().catch(() => {});
      return;
    }
    failures = 0;
    if (downSince !== undefined) logger.info({ channel, down_ms: Date.now() - downSince }, 'notification listener reconnected');
    downSince = undefined;
    listening = true;
    options.onListening(true);
  }

  connecting = connect();
  return {
    get listening() { return listening; },
    async close() {
      closed = true;
      listening = false;
      clearTimeout(retryTimer);
      const c = client;
      client = undefined;
      // ending the client also cuts a connection attempt still under way
      await c?.end().catch(() => {});
      await connecting;
    },
  };
}
