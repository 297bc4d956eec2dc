// bench:token-flood — what a flood of failing client authentications does to everyone else. The platform on a
// throwaway embedded PostgreSQL (API and sandbox processor as separate processes, the API behind one trusted proxy
// hop so the flood can come "from" many addresses), then the same probes twice: sequential valid token requests and
// sequential card payments, first alone, then while a separate flood process keeps BENCH_FLOOD_WORKERS callers
// failing at POST /oauth/token (random client ids from random addresses, one address spraying ids, wrong secrets
// for a client still on a legacy scrypt hash; BENCH_LEGACY=0 leaves that lane out). Prints p50/p99 of each;
// asserts nothing. Loopback only; every phase
// is time-bound and everything it started is stopped at the end.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { hashSecret } from '../src/platform/crypto.js';
import { Secret } from '../src/platform/secret.js';
import { ADMIN_SECRET, envInt, freePort, machineLine, percentile, platformEnv, root, startBenchDatabase, startRole } from './harness.js';
import { describeFlood, standardLanes, startTokenFlood, type Flood } from '../test/auth/flood.js';

const GOOD_ADDRESS = '192.0.2.10';

if (process.env.TOKEN_FLOOD_CHILD === '1') {
  // the flood process: floods until its time is up (or its parent goes away), then prints its tally as JSON
  const [apiUrl, legacyClientId, seconds, workers] = process.argv.slice(2);
  const stop = new AbortController();
  setTimeout(() => stop.abort(), Number(seconds) * 1000).unref();
  process.once('SIGTERM', () => stop.abort());
  process.once('disconnect', () => stop.abort());
  const lanes = standardLanes(legacyClientId!, Number(workers) / 64).filter((l) => process.env.BENCH_LEGACY !== '0' || !l.name.startsWith('known id'));
  const flood: Flood = startTokenFlood(apiUrl!, lanes, stop.signal);
  await flood.done;
  process.stdout.write(JSON.stringify({ answered: flood.answered(), report: describeFlood(flood) }));
  process.exit(0);
}

const durationS = envInt('BENCH_DURATION_S', 15);
const floodWorkers = envInt('BENCH_FLOOD_WORKERS', 64);
const poolMax = envInt('BENCH_DB_POOL_MAX', 10);

async function json(res: Response): Promise<any> {
  const body = await res.json();
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function tokenRequest(apiUrl: string, clientId: string, secret: string): Promise<Response> {
  return fetch(`${apiUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': GOOD_ADDRESS },
    body: 'grant_type=client_credentials',
  });
}

async function createClient(apiUrl: string, adminToken: string, name: string): Promise<{ clientId: string; secret: string }> {
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const tenant = await json(await fetch(`${apiUrl}/v1/admin/tenants`, { method: 'POST', headers, body: JSON.stringify({ name }) }));
  const client = await json(await fetch(`${apiUrl}/v1/admin/tenants/${tenant.id}/clients`, {
    method: 'POST', headers, body: JSON.stringify({ name: 'bench', scopes: ['payments:read', 'payments:write'] }),
  }));
  return { clientId: client.client_id, secret: client.client_secret };
}

/**
 * Sequential valid token requests and, beside them, sequential card payments, for `seconds`. Payments use the
 * freshest token the probe got, starting with `bearer`, so a slow token endpoint never holds them back.
 */
async function probe(apiUrl: string, merchant: { clientId: string; secret: string }, seconds: number, initialBearer = '') {
  const deadline = Date.now() + seconds * 1000;
  const token: number[] = [];
  const payment: number[] = [];
  let failures = 0;
  let refusals = 0;
  let bearer = initialBearer;
  // a token request's latency runs until it has a token: a 429 slow_down is retried after its Retry-After
  const tokens = (async () => {
    while (Date.now() < deadline) {
      const start = performance.now();
      for (;;) {
        const res = await tokenRequest(apiUrl, merchant.clientId, merchant.secret);
        const body = (await res.json()) as { access_token?: string; error?: string };
        if (res.status === 200 && body.access_token) {
          token.push(performance.now() - start);
          bearer = body.access_token;
        } else if (res.status === 429 && body.error === 'slow_down') {
          refusals++;
          await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after')) * 1000));
          continue;
        } else failures++;
        break;
      }
    }
  })();
  const payments = (async () => {
    while (Date.now() < deadline) {
      if (!bearer) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const start = performance.now();
      const res = await fetch(`${apiUrl}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'idempotency-key': randomUUID(), 'x-forwarded-for': GOOD_ADDRESS },
        body: JSON.stringify({
          amount: 2000, currency: 'usd', capture_method: 'automatic',
          payment_method: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: new Date().getUTCFullYear() + 3, cvc: '123' } },
        }),
      });
      const body = (await res.json()) as { status?: string };
      if (res.status === 201 && body.status === 'succeeded') payment.push(performance.now() - start);
      else failures++;
    }
  })();
  await Promise.all([tokens, payments]);
  return { token, payment, failures, refusals };
}

function line(label: string, sample: number[]): string {
  const sorted = [...sample].sort((a, b) => a - b);
  return `${label}: n=${sorted.length}, p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms`;
}

console.log(`bench:token-flood — ${machineLine()}; ${floodWorkers} flooding callers, ${durationS} s per phase, DB pool ${poolMax}`);
const db = await startBenchDatabase();
const ports = { api: await freePort(), sandbox: await freePort() };
const env = platformEnv(db, ports, { DB_POOL_MAX: String(poolMax), TRUST_PROXY_HOPS: '1' });
const sandbox = await startRole('sandbox-processor', env, ports.sandbox, '/_control');
const api = await startRole('api', env, ports.api, '/readyz');
try {
  const admin = (await json(await tokenRequest(api.url, 'platform-admin', ADMIN_SECRET))).access_token as string;
  const merchant = await createClient(api.url, admin, 'Bench Merchant');
  // a client created before the keyed hash: every guess at it still costs a real scrypt
  const legacy = await createClient(api.url, admin, 'Bench Legacy Client');
  const owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
  await owner.query('update api_clients set secret_hash = $1 where id = $2', [await hashSecret(new Secret(legacy.secret)), legacy.clientId]);
  await owner.end();

  await probe(api.url, merchant, 2); // warm-up: JIT, pool connections, prepared plans
  const quiet = await probe(api.url, merchant, durationS);
  const bearer = (await json(await tokenRequest(api.url, merchant.clientId, merchant.secret))).access_token as string;

  const warmUpS = 3;
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/token-flood.ts', api.url, legacy.clientId, String(durationS + warmUpS), String(floodWorkers)], {
    cwd: root, env: { ...process.env, TOKEN_FLOOD_CHILD: '1' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise((r) => setTimeout(r, warmUpS * 1000));
    const flooded = await probe(api.url, merchant, durationS, bearer);
    await exited;
    const tally = JSON.parse(out || '{"answered":0,"report":"(no report)"}') as { answered: number; report: string };

    console.log(line('valid token, no flood    ', quiet.token));
    console.log(line('valid token, during flood', flooded.token));
    console.log(line('card payment, no flood    ', quiet.payment));
    console.log(line('card payment, during flood', flooded.payment));
    console.log(`valid token requests answered 429 slow_down (then retried): no flood ${quiet.refusals}, during flood ${flooded.refusals}`);
    console.log(`probe failures (anything else): no flood ${quiet.failures}, during flood ${flooded.failures}`);
    console.log(`flood: ${tally.answered} answers in ${durationS + warmUpS} s (${(tally.answered / (durationS + warmUpS)).toFixed(0)}/s): ${tally.report}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
} finally {
  await api.stop();
  await sandbox.stop();
  await db.stop();
}
