import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_TYPES, EVENT_TYPE_FILTERS, eventTypeMatches } from '../../src/modules/events/index.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { createTenant, type TestTenant } from '../helpers/tenants.js';
import { ownerQuery } from '../payments/helpers.js';
import { createEndpoint, emitEvent } from './helpers.js';

// The subscription rule is written twice, on purpose: in SQL inside record_event (the payment statements fan out in
// the same single statement as their state change) and in TypeScript as eventTypeMatches (the events list, the
// event feed and replay filter by it). This file holds them to the same answer on every (subscription, event type)
// pair of the closed vocabulary: `*`, every `<prefix>.*`, every exact type, matches and non-matches.

let platform: TestPlatform;
let tenant: TestTenant;
/** endpoint id -> its enabled_events */
const subscriptions = new Map<string, string[]>();
/** event id -> its type */
const eventTypes = new Map<string, string>();

before(async () => {
  // no worker: the deliveries the fan-out wrote stay as they were written
  platform = await startTestPlatform();
  tenant = await createTenant(platform);
  const subscriptionSets = [...EVENT_TYPE_FILTERS.map((f) => [f]), ['payment.failed', 'refund.*'], ['refund.succeeded', 'webhook_endpoint.disabled']];
  for (const [i, enabledEvents] of subscriptionSets.entries()) {
    const endpoint = await createEndpoint(platform, tenant.token, { url: `http://127.0.0.1:9/hooks/${i}`, enabled_events: enabledEvents });
    subscriptions.set(endpoint.id, enabledEvents);
  }
  for (const type of EVENT_TYPES) eventTypes.set(await emitEvent(platform, tenant.tenantId, type), type);
});
after(() => platform?.close());

const pair = (subscription: readonly string[], type: string) => `${subscription.join(',')} <- ${type}`;

describe('one subscription rule: the SQL fan-out and eventTypeMatches agree', () => {
  it('record_event writes a delivery for exactly the (endpoint, event) pairs eventTypeMatches accepts', async () => {
    const rows = await ownerQuery<{ endpoint_id: string; event_id: string }>(platform,
      'SELECT endpoint_id, event_id FROM webhook_deliveries WHERE tenant_id = $1', [tenant.tenantId]);
    const fannedOut = rows.map((r) => {
      const subscription = subscriptions.get(r.endpoint_id);
      const type = eventTypes.get(r.event_id);
      assert.ok(subscription && type, `a delivery of this test's endpoints and events (${r.endpoint_id}, ${r.event_id})`);
      return pair(subscription, type);
    });
    const expected: string[] = [];
    const refused: string[] = [];
    for (const subscription of subscriptions.values()) {
      for (const type of EVENT_TYPES) {
        (subscription.some((f) => eventTypeMatches(f, type)) ? expected : refused).push(pair(subscription, type));
      }
    }
    // the table has both kinds of pairs, so neither half of the comparison is empty
    assert.ok(expected.length > 0 && refused.length > 0, `${expected.length} matching, ${refused.length} refused pairs`);
    assert.deepEqual([...fannedOut].sort(), [...expected].sort());
  });

  it('the events list filters by the same rule', async () => {
    for (const filter of EVENT_TYPE_FILTERS) {
      const res = await platform.request('GET', `/v1/events?limit=100&type=${encodeURIComponent(filter)}`, { token: tenant.token });
      assert.equal(res.status, 200, res.text);
      const listed = (res.body.data as Array<{ type: string }>).map((e) => e.type).sort();
      assert.deepEqual(listed, EVENT_TYPES.filter((t) => eventTypeMatches(filter, t)).sort(), `type=${filter}`);
    }
  });
});
