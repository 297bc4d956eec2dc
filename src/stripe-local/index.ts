export { buildStripeLocalServer } from './stripe-local-app.js';
export type { StripeLocalOptions, StripeLocalWebhookOptions } from './stripe-local-options.js';
export { signWebhookPayload } from './webhook-sender.js';
export { TEST_ROUTING_NUMBER } from './test-instruments.js';
