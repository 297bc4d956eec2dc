import { Type } from '@sinclair/typebox';
import { documentAs } from '../../platform/http/openapi.js';
import { EventSchema } from './events.schema.js';

// What the OpenAPI document shows for events (conventions: src/platform/http/openapi.ts).

export const EVENT_EXAMPLE = {
  id: 'evt_01jq8x4m3e9s7d5f3h1k9m7p5r',
  object: 'event',
  type: 'payment.succeeded',
  created_at: '2026-03-14T09:26:53.912Z',
  data: {
    object: {
      id: 'pay_01jq8x4m3c7kq2v9d8r6t5w4yz', object: 'payment', status: 'succeeded', amount: 2000, currency: 'usd',
      payment_method: { type: 'card', card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030 } },
    },
  },
};

documentAs(EventSchema, Type.Object(EventSchema.properties, {
  $id: 'Event',
  description: 'Something that happened to one of your objects; webhooks deliver the same object.',
  examples: [EVENT_EXAMPLE],
}));
