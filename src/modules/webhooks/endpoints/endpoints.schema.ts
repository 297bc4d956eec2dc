import { Type, type Static } from '@sinclair/typebox';
import { EventTypeFilterSchema, TimeFilterSchema } from '../../events/index.js';

const EnabledEvents = Type.Array(EventTypeFilterSchema, {
  minItems: 1, maxItems: 20, uniqueItems: true,
  description: 'Event types to receive: exact types, `payment.*`, `refund.*` or `*`.',
});
const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'https URL receiving POSTs (http and private addresses only where configuration allows).' });
const Description = Type.String({ maxLength: 500 });

export const WebhookEndpointSchema = Type.Object({
  id: Type.String({ examples: ['we_01jq8x4m3c0000000000000000'] }),
  object: Type.Literal('webhook_endpoint'),
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  enabled_events: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')]),
  disabled_reason: Type.Union([Type.String({ description: 'disabled_by_user | endpoint_gone (it answered 410) | failing (failed continuously too long)' }), Type.Null()]),
  previous_secret_expires_at: Type.Union([Type.String({ format: 'date-time', description: 'While set, deliveries are signed with the previous secret too.' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
export type WebhookEndpointResource = Static<typeof WebhookEndpointSchema>;

export const WebhookEndpointWithSecretSchema = Type.Intersect([
  WebhookEndpointSchema,
  Type.Object({ secret: Type.String({ description: 'The whsec_ signing secret. Shown once: store it in your secret manager.' }) }),
]);

export const CreateEndpointBody = Type.Object(
  { url: Url, enabled_events: EnabledEvents, description: Type.Optional(Description) },
  { additionalProperties: false },
);
export type CreateEndpointInput = Static<typeof CreateEndpointBody>;

export const UpdateEndpointBody = Type.Object(
  {
    url: Type.Optional(Url),
    enabled_events: Type.Optional(EnabledEvents),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    disabled: Type.Optional(Type.Boolean({ description: 'true pauses deliveries (pending ones wait); false resumes them.' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateEndpointInput = Static<typeof UpdateEndpointBody>;

export const RotateSecretBody = Type.Object(
  {
    expire_previous_after_seconds: Type.Optional(Type.Integer({
      minimum: 0, maximum: 7 * 24 * 3600, default: 86_400,
      description: 'How long deliveries keep carrying a signature made with the previous secret (0: stop at once).',
    })),
  },
  { additionalProperties: false },
);

export const ReplayBody = Type.Object(
  {
    created_gte: TimeFilterSchema,
    created_lte: TimeFilterSchema,
    types: Type.Optional(Type.Array(EventTypeFilterSchema, { minItems: 1, maxItems: 20, uniqueItems: true })),
  },
  { additionalProperties: false },
);
export type ReplayInput = Static<typeof ReplayBody>;

export const ReplaySchema = Type.Object({
  object: Type.Literal('webhook_replay'),
  endpoint_id: Type.String(),
  deliveries_created: Type.Integer(),
});

export const DeletedEndpointSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('webhook_endpoint'),
  deleted: Type.Literal(true),
});

export const EndpointIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
