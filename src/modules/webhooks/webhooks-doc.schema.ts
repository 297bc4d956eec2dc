import { Type, type TObject } from '@sinclair/typebox';
import { documentAs } from '../../platform/http/openapi.js';
import {
  CreateEndpointBody, DeletedEndpointSchema, ReplayBody, ReplaySchema, RotateSecretBody, UpdateEndpointBody, WebhookEndpointSchema,
  WebhookEndpointWithSecretSchema,
} from './endpoints/endpoints.schema.js';
import { WebhookDeliverySchema } from './deliveries/deliveries.schema.js';

// What the OpenAPI document shows for webhook endpoints and deliveries (conventions: src/platform/http/openapi.ts).

const ENDPOINT_EXAMPLE = {
  id: 'we_01jq8w2k7n5p3r1t9v7x5z3b1d',
  object: 'webhook_endpoint',
  url: 'https://example.com/webhooks/nimbuspay',
  description: 'Order service',
  enabled_events: ['payment.*', 'refund.succeeded'],
  status: 'enabled',
  disabled_reason: null,
  previous_secret_expires_at: null,
  created_at: '2026-03-01T08:00:00.000Z',
  updated_at: '2026-03-01T08:00:00.000Z',
};
const DELIVERY_EXAMPLE = {
  id: 'whd_01jq8x4m3f2h4k6m8p0r2t4v6x',
  object: 'webhook_delivery',
  endpoint_id: ENDPOINT_EXAMPLE.id,
  event_id: 'evt_01jq8x4m3e9s7d5f3h1k9m7p5r',
  event_type: 'payment.succeeded',
  status: 'succeeded',
  attempt_count: 1,
  next_attempt_at: null,
  delivered_at: '2026-03-14T09:26:54.120Z',
  created_at: '2026-03-14T09:26:53.912Z',
  attempts: [{ attempted_at: '2026-03-14T09:26:54.020Z', outcome: 'delivered', status_code: 200, latency_ms: 98, error: null, response_body: 'ok' }],
};

const named = (schema: TObject, $id: string, example: unknown, extra: Record<string, unknown> = {}) =>
  documentAs(schema, Type.Object(schema.properties, { ...extra, $id, examples: [example] }));
const body = (schema: TObject, $id: string, example: unknown) =>
  named(schema, $id, example, { additionalProperties: false, ...(schema.minProperties ? { minProperties: schema.minProperties } : {}) });

named(WebhookEndpointSchema, 'WebhookEndpoint', ENDPOINT_EXAMPLE);
documentAs(WebhookEndpointWithSecretSchema, Type.Object(
  { ...WebhookEndpointSchema.properties, secret: Type.String({ description: 'The whsec_ signing secret. Shown once: store it in your secret manager.' }) },
  { $id: 'WebhookEndpointWithSecret', examples: [{ ...ENDPOINT_EXAMPLE, secret: 'whsec_c2FuZGJveC1leGFtcGxlLW5vdC1hLXJlYWwtc2VjcmV0' }] },
));
named(WebhookDeliverySchema, 'WebhookDelivery', DELIVERY_EXAMPLE);
named(DeletedEndpointSchema, 'DeletedWebhookEndpoint', { id: ENDPOINT_EXAMPLE.id, object: 'webhook_endpoint', deleted: true });
named(ReplaySchema, 'WebhookReplay', { object: 'webhook_replay', endpoint_id: ENDPOINT_EXAMPLE.id, deliveries_created: 42 });
body(CreateEndpointBody, 'CreateWebhookEndpointRequest', { url: ENDPOINT_EXAMPLE.url, enabled_events: ENDPOINT_EXAMPLE.enabled_events, description: 'Order service' });
body(UpdateEndpointBody, 'UpdateWebhookEndpointRequest', { enabled_events: ['*'], disabled: false });
body(RotateSecretBody, 'RotateWebhookEndpointSecretRequest', { expire_previous_after_seconds: 86400 });
body(ReplayBody, 'ReplayWebhookEndpointRequest', { created_gte: '2026-03-14T00:00:00Z', created_lte: '2026-03-14T23:59:59Z', types: ['payment.*'] });
