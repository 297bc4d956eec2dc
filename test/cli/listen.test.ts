import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { webhooks } from '@nimbuspay/sdk';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { stopChild } from '../helpers/processes.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { emitEvent } from '../webhooks/helpers.js';
import { cliEnv, runCli, spawnCli, tempConfigDir } from './cli-helpers.js';
import { eventually } from '../helpers/eventually.js';

let platform: TestPlatform;
let tenant: TestTenant;
let other: TestTenant;
const config = tempConfigDir();

before(async () => {
  platform = await startTestPlatform();
  tenant = await createTenant(platform);
  other = await createTenant(platform, { name: 'Other Corp' });
});
after(async () => {
  await platform.close();
  config.remove();
});

interface Received { body: string; headers: http.IncomingHttpHeaders }

/** A loopback webhook receiver, as an integrator runs on a laptop. */
async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('nimbuspay listen --forward-to', () => {
  it('forwards a triggered payment.succeeded to a local receiver that verifies it with the SDK and the printed secret', async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    const env = cliEnv({
      NIMBUSPAY_CONFIG_DIR: config.dir, NIMBUSPAY_PUBLIC_URL: platform.baseUrl, NIMBUSPAY_CLIENT_ID: tenant.clientId, NIMBUSPAY_CLIENT_SECRET: tenant.clientSecret,
    });
    const listen = spawnCli(['listen', '--forward-to', receiver.url, '--events', 'payment.*'], env);
    t.after(() => stopChild(listen.child, { signal: 'SIGKILL', graceMs: 1_000 }));
    const secret = await eventually(() => /signing secret is (whsec_\S+)/.exec(listen.stdout())?.[1], { timeoutMs: 60_000, what: `listen to print its secret (stderr: ${listen.stderr()})` });

    // Another tenant's event must never reach this session.
    await emitEvent(platform, other.tenantId, 'payment.succeeded', { id: 'pay_not_yours' });
    const triggered = await runCli(['trigger', 'payment.succeeded', '--json'], env);
    assert.equal(triggered.code, 0, triggered.stderr);
    const paymentId = (JSON.parse(triggered.stdout) as { created: Array<{ id: string; status: string }> }).created[0]!;
    assert.equal(paymentId.status, 'succeeded');

    const delivery = await eventually(() => receiver.received.find((r) => r.body.includes(paymentId.id) && r.body.includes('"payment.succeeded"')), { timeoutMs: 30_000, what: 'the event to be forwarded' });
    const event = webhooks.verify<{ id: string; type: string; data: { object: { id: string; status: string } } }>(delivery.body, delivery.headers as Record<string, string>, secret);
    assert.equal(event.type, 'payment.succeeded');
    assert.equal(event.data.object.id, paymentId.id);
    assert.equal(delivery.headers['webhook-id'], event.id);
    assert.throws(() => webhooks.verify(delivery.body, delivery.headers as Record<string, string>, `whsec_${Buffer.alloc(24, 1).toString('base64')}`), 'another secret does not verify');
    await eventually(() => listen.stdout().includes(`payment.succeeded [${event.id}]  <-- 204`), { timeoutMs: 10_000, what: 'listen to print the forwarded line' });
    assert.ok(!receiver.received.some((r) => r.body.includes('pay_not_yours')));

    listen.child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => listen.child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, `listen stops cleanly on SIGINT (stderr: ${listen.stderr()})`);
  });

  it('resumes from its cursor after losing the API, without losing the events committed meanwhile', async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.close());
    // listen talks to the API through a proxy the test can cut, as a laptop loses its network.
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(platform.baseUrl).port) });
    t.after(() => proxy.close());
    const env = cliEnv({
      NIMBUSPAY_CONFIG_DIR: config.dir, NIMBUSPAY_PUBLIC_URL: `http://127.0.0.1:${proxy.port}`, NIMBUSPAY_CLIENT_ID: tenant.clientId, NIMBUSPAY_CLIENT_SECRET: tenant.clientSecret,
    });
    const listen = spawnCli(['listen', '--forward-to', receiver.url, '--wait', '2'], env);
    t.after(() => stopChild(listen.child, { signal: 'SIGKILL', graceMs: 1_000 }));
    await eventually(() => /signing secret is whsec_/.test(listen.stdout()), { timeoutMs: 60_000, what: 'listen to start' });
    const first = await emitEvent(platform, tenant.tenantId, 'payment.processing');
    await eventually(() => receiver.received.some((r) => r.body.includes(first)), { timeoutMs: 30_000, what: 'the first event' });
    proxy.cut();
    const during = [await emitEvent(platform, tenant.tenantId, 'payment.failed'), await emitEvent(platform, tenant.tenantId, 'refund.succeeded')];
    await eventually(() => /Lost the connection/.test(listen.stderr()), { timeoutMs: 30_000, what: 'listen to notice the lost connection' });
    proxy.restore();
    await eventually(() => during.every((id) => receiver.received.some((r) => r.body.includes(id))), { timeoutMs: 60_000, what: 'the events committed while cut off' });
    const ids = receiver.received.map((r) => (JSON.parse(r.body) as { id: string }).id);
    assert.deepEqual(ids.filter((id) => [first, ...during].includes(id)), [first, ...during], 'each once, in order');
  });
});
