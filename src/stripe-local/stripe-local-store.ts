import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * All SQL of the local Stripe server. State lives in a schema of its own (`stripe_local`), so the server can share
 * a database with anything else; every object is a JSON document, as Stripe's API sees it, keyed by its id.
 */
export type Queryable = pg.Pool | pg.PoolClient;
export type StripeObject = Record<string, unknown> & { id: string };

const SCHEMA = 'stripe_local';
/** Any constant works: it only has to be the same for every process that creates this schema. */
const DDL_LOCK_KEY = 0x5354_524c;

const DDL = `
create schema if not exists ${SCHEMA};
create table if not exists ${SCHEMA}.objects (
  id text primary key,
  type text not null,
  data jsonb not null,
  internal jsonb not null default '{}',
  created_at timestamptz not null default now(),
  seq bigserial not null
);
create index if not exists objects_type_seq on ${SCHEMA}.objects (type, seq desc);
create index if not exists objects_payment_intent on ${SCHEMA}.objects (type, (data->>'payment_intent'));
create table if not exists ${SCHEMA}.idempotency_keys (
  key text primary key,
  method text not null,
  path text not null,
  fingerprint text not null,
  state text not null check (state in ('executing', 'done')),
  boot_id text not null,
  request_id text not null,
  status_code int,
  body jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create table if not exists ${SCHEMA}.webhook_outbox (
  event_id text primary key,
  attempts int not null default 0,
  next_attempt_at timestamptz not null,
  state text not null default 'pending' check (state in ('pending', 'delivered', 'given_up')),
  last_error text
);
-- Events recorded in one transaction share next_attempt_at; seq keeps their first delivery in recording order.
alter table ${SCHEMA}.webhook_outbox add column if not exists seq bigserial;
create index if not exists webhook_outbox_due on ${SCHEMA}.webhook_outbox (next_attempt_at, seq) where state = 'pending';
create table if not exists ${SCHEMA}.due_tasks (
  id bigserial primary key,
  kind text not null,
  object_id text not null,
  due_at timestamptz not null,
  payload jsonb not null default '{}'
);
create index if not exists due_tasks_due on ${SCHEMA}.due_tasks (due_at);
create table if not exists ${SCHEMA}.settings (name text primary key, value text not null);
`;

export function createStripeLocalPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 5, application_name: 'stripe-local' });
  // A dropped idle connection must not crash the process; the failing query rejects on its own.
  pool.on('error', () => {});
  return pool;
}

/**
 * Creates the schema if needed. Idempotent DDL under an advisory lock, so two processes starting at once do not
 * race on `create table if not exists` (which is not safe against itself). Returns the fingerprint key.
 */
export async function ensureStripeLocalSchema(pool: pg.Pool): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [DDL_LOCK_KEY]);
    try {
      await client.query(DDL);
      await client.query(
        `insert into ${SCHEMA}.settings (name, value) values ('fingerprint_key', $1) on conflict (name) do nothing`,
        [randomBytes(32).toString('hex')],
      );
      const { rows } = await client.query<{ value: string }>(`select value from ${SCHEMA}.settings where name = 'fingerprint_key'`);
      const [row] = rows;
      if (!row) throw new Error('stripe-local: the fingerprint key is missing right after it was inserted');
      return row.value;
    } finally {
      await client.query('select pg_advisory_unlock($1)', [DDL_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

export async function withTransaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

// ---- objects

/** `internal` holds what the server needs later but Stripe would never show (a test card's refund behaviour). */
export async function insertObject(q: Queryable, type: string, data: StripeObject, internal: Record<string, unknown> = {}): Promise<void> {
  await q.query(`insert into ${SCHEMA}.objects (id, type, data, internal) values ($1, $2, $3, $4)`, [data.id, type, data, internal]);
}

export async function findInternal(q: Queryable, id: string): Promise<Record<string, unknown>> {
  const { rows } = await q.query<{ internal: Record<string, unknown> }>(`select internal from ${SCHEMA}.objects where id = $1`, [id]);
  return rows[0]?.internal ?? {};
}

export async function updateObject(q: Queryable, data: StripeObject): Promise<void> {
  await q.query(`update ${SCHEMA}.objects set data = $2 where id = $1`, [data.id, data]);
}

export async function findObject<T extends StripeObject>(q: Queryable, type: string, id: string): Promise<T | undefined> {
  const { rows } = await q.query<{ data: T }>(`select data from ${SCHEMA}.objects where id = $1 and type = $2`, [id, type]);
  return rows[0]?.data;
}

/** Locks the object's row until the transaction ends: captures, refunds and settlements of one payment serialize. */
export async function lockObject<T extends StripeObject>(tx: pg.PoolClient, type: string, id: string): Promise<T | undefined> {
  const { rows } = await tx.query<{ data: T }>(`select data from ${SCHEMA}.objects where id = $1 and type = $2 for update`, [id, type]);
  return rows[0]?.data;
}

/** lockObject for an object another one references (a payment intent's charge, a refund's charge): it must exist. */
export async function lockReferencedObject<T extends StripeObject>(tx: pg.PoolClient, type: string, id: string): Promise<T> {
  const object = await lockObject<T>(tx, type, id);
  if (!object) throw new Error(`stripe-local: the referenced ${type} ${id} does not exist`);
  return object;
}

export interface ListFilter {
  /** Equality on a top-level string field of the document (`payment_intent`, `type`…). */
  field?: string;
  value?: string;
  values?: readonly string[];
}

/** Newest first, `limit + 1` rows so the caller can tell `has_more`; `startingAfter` is an object id. */
export async function listObjects<T extends StripeObject>(
  q: Queryable,
  type: string,
  options: { filter?: ListFilter; limit: number; startingAfter?: string; endingBefore?: string },
): Promise<T[]> {
  const where = ['type = $1'];
  const args: unknown[] = [type];
  const f = options.filter;
  if (f?.field && f.value !== undefined) {
    args.push(f.field, f.value);
    where.push(`data->>$${args.length - 1} = $${args.length}`);
  } else if (f?.field && f.values) {
    args.push(f.field, f.values);
    where.push(`data->>$${args.length - 1} = any($${args.length})`);
  }
  let order = 'seq desc';
  if (options.startingAfter) {
    args.push(options.startingAfter);
    where.push(`seq < (select seq from ${SCHEMA}.objects where id = $${args.length})`);
  } else if (options.endingBefore) {
    args.push(options.endingBefore);
    where.push(`seq > (select seq from ${SCHEMA}.objects where id = $${args.length})`);
    order = 'seq asc';
  }
  args.push(options.limit + 1);
  const { rows } = await q.query<{ data: T }>(
    `select data from ${SCHEMA}.objects where ${where.join(' and ')} order by ${order} limit $${args.length}`,
    args,
  );
  const data = rows.map((r) => r.data);
  return options.endingBefore ? data.reverse() : data;
}

export interface SearchClause {
  field: 'metadata' | 'status';
  key?: string;
  value: string;
}

/** Search over payment intents created at least `lagMs` ago (Stripe's index trails writes). */
export async function searchObjects<T extends StripeObject>(
  q: Queryable,
  type: string,
  clauses: readonly SearchClause[],
  options: { lagMs: number; limit: number; offset: number },
): Promise<T[]> {
  const where = ['type = $1', `created_at <= now() - make_interval(secs => $2::float8 / 1000)`];
  const args: unknown[] = [type, options.lagMs];
  for (const c of clauses) {
    if (c.field === 'metadata') {
      args.push(c.key, c.value);
      where.push(`data->'metadata'->>$${args.length - 1} = $${args.length}`);
    } else {
      args.push(c.value);
      where.push(`data->>'status' = $${args.length}`);
    }
  }
  args.push(options.limit + 1, options.offset);
  const { rows } = await q.query<{ data: T }>(
    `select data from ${SCHEMA}.objects where ${where.join(' and ')} order by seq desc limit $${args.length - 1} offset $${args.length}`,
    args,
  );
  return rows.map((r) => r.data);
}

export async function countObjects(q: Queryable): Promise<Record<string, number>> {
  const { rows } = await q.query<{ type: string; n: string }>(`select type, count(*) as n from ${SCHEMA}.objects group by type`);
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}
