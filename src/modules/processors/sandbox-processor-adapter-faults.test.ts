import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import type { CircuitStateName } from './index.js';
import { eventually } from '../../../test/helpers/eventually.js';
import { sandboxControl } from '../../../test/helpers/sandbox-control.js';
import { SHORT_TIMEOUT_MS, approvedAuth, attemptKey, lookup, testCard, startSandbox, listenPort, closeServer, useAdapterFixture } from '../../../test/helpers/sandbox-processor-fixture.js';

/**
 * The sandbox adapter under transport faults, against real servers on loopback: the circuit breaker, its own
 * deadline, parked and refused connections, garbled answers. The fixture (test/helpers/sandbox-processor-fixture.ts)
 * holds the timings, keys and cards shared with the other adapter tests.
 */

const fx = useAdapterFixture();

describe('sandbox processor adapter: faults and circuit breaker', () => {
  it('opens the circuit after consecutive failures, then fails fast without sending; closes after a good trial', async () => {
    const faulty = await startSandbox(fx.sandboxDb);
    fx.closeLater(faulty.app);
    const url = faulty.url;
    const states: CircuitStateName[] = [];
    const local = fx.makeAdapter({
      baseUrl: url,
      maxRetries: 0,
      // long enough that no stall between the assertions below lets the circuit half-open early
      circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 2_000 },
      onCircuitStateChange: (s) => states.push(s),
    });
    await sandboxControl(url, { error_rate: 1 });
    const request = () => local.authorize({ idempotencyKey: attemptKey('cb'), amountMinor: 100n, currency: 'usd', card: testCard('4242424242424242'), capture: false });

    for (let i = 0; i < 3; i++) {
      const outcome = await request();
      assert.equal(outcome.kind === 'error' && outcome.code, 'processing_error');
    }
    assert.equal(local.circuitState(), 'open');
    const sentBefore = faulty.requests();
    const fast = await request();
    assert.deepEqual(fast, {
      kind: 'error',
      code: 'processor_unavailable',
      message: 'The processor circuit is open; the request was not sent.',
      retryable: true,
      sent: false,
    });
    assert.deepEqual(await local.getOperationStatus(lookup('anything')), {
      kind: 'unavailable',
      reason: 'circuit_open',
      message: 'The processor circuit is open; the query was not sent.',
      sent: false,
    });
    assert.equal(faulty.requests(), sentBefore, 'nothing was sent while open');

    await sandboxControl(url, { error_rate: 0 });
    await eventually(() => (local.circuitState() === 'half_open' ? true : undefined), { timeoutMs: 15_000 });
    approvedAuth(await request());
    assert.equal(local.circuitState(), 'closed');
    assert.deepEqual(states, ['open', 'half_open', 'closed']);
  });

  it('declines and rejected requests do not open the circuit', async () => {
    const local = fx.makeAdapter({ circuitBreaker: { consecutiveFailures: 2 } });
    for (let i = 0; i < 3; i++) {
      const declined = await local.authorize({ idempotencyKey: attemptKey('nb'), amountMinor: 100n, currency: 'usd', card: testCard('4000000000000002'), capture: false });
      assert.equal(declined.kind, 'declined');
      const rejected = await local.capture({ idempotencyKey: attemptKey('nb-c'), authorizationReference: 'auth_missing', amountMinor: 1n });
      assert.equal(rejected.kind === 'error' && rejected.httpStatus, 404);
    }
    assert.equal(local.circuitState(), 'closed');
  });

  it('stop_answering: unknown within the deadline; the parked request may still execute; the server closes cleanly', async () => {
    const hanging = await startSandbox(fx.sandboxDb);
    fx.closeLater(hanging.app); // closed below on purpose; this covers a failure before that (closing twice is harmless)
    const url = hanging.url;
    const local = fx.makeAdapter({ baseUrl: url, timeoutMs: SHORT_TIMEOUT_MS });
    await sandboxControl(url, { stop_answering: true });

    // parked until released: only the adapter's own deadline can end the call
    const k = attemptKey('hang');
    const outcome = await local.authorize({ idempotencyKey: k, amountMinor: 300n, currency: 'usd', card: testCard('4242424242424242'), capture: false });
    assert.equal(outcome.kind === 'unknown' && outcome.reason, 'timeout');

    // The processor got the request even though we gave up: releasing it shows why "unknown" must be reconciled.
    await sandboxControl(url, { stop_answering: false });
    const found = await eventually(async () => {
      const status = await local.getOperationStatus(lookup(k));
      return status.kind === 'found' ? status : undefined;
    }, { timeoutMs: 15_000 });
    assert.equal(found.operation, 'authorize');

    await sandboxControl(url, { stop_answering: true });
    // A patient caller (its deadline beyond the test's): close must cut its parked request, not wait for it.
    const patient = fx.makeAdapter({ baseUrl: url, timeoutMs: 600_000 });
    const pending = patient.getOperationStatus(lookup(k));
    await eventually(async () => ((await sandboxControl(url)).held_requests >= 1 ? true : undefined), { timeoutMs: 15_000 });
    await hanging.app.close();
    const cut = await pending;
    assert.equal(cut.kind, 'unavailable');
    assert.equal(cut.kind === 'unavailable' && cut.reason, 'connection_error', 'the parked request was cut, not timed out');
  });

  it('connection refused → processor_unavailable, retryable, never sent', async () => {
    const probe = createServer();
    const port = await listenPort(probe);
    await closeServer(probe);
    const local = fx.makeAdapter({ baseUrl: `http://127.0.0.1:${port}`, maxRetries: 1 });
    const outcome = await local.authorize({ idempotencyKey: attemptKey('refused'), amountMinor: 100n, currency: 'usd', card: testCard('4242424242424242'), capture: false });
    assert.equal(outcome.kind, 'error');
    if (outcome.kind !== 'error') return;
    assert.equal(outcome.code, 'processor_unavailable');
    assert.equal(outcome.retryable, true);
    assert.equal(outcome.sent, false);
  });

  it('an unreadable 2xx is unknown/bad_response; a foreign 404 is not taken as not_found', async () => {
    // A misbehaving processor (or proxy) in front of the adapter: a real server returning broken answers.
    const broken = createServer((req, res) => {
      if (req.url?.startsWith('/v1/operations/')) {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
      } else if (req.url === '/v1/refunds') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"rf_1","object":"refund","status":"approved"}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "auth_1", truncated');
      }
    });
    const port = await listenPort(broken);
    fx.closeLater({ close: () => closeServer(broken) });
    const local = fx.makeAdapter({ baseUrl: `http://127.0.0.1:${port}` });
    const garbled = await local.authorize({ idempotencyKey: attemptKey('bad'), amountMinor: 100n, currency: 'usd', card: testCard('4242424242424242'), capture: false });
    assert.equal(garbled.kind === 'unknown' && garbled.reason, 'bad_response');
    const incomplete = await local.refund({ idempotencyKey: attemptKey('bad-rf'), authorizationReference: 'auth_1', amountMinor: 1n });
    assert.equal(incomplete.kind === 'unknown' && incomplete.reason, 'bad_response');
    const status = await local.getOperationStatus(lookup('whatever'));
    assert.equal(status.kind, 'unavailable');
    assert.equal(status.kind === 'unavailable' && status.httpStatus, 404);
  });
});
