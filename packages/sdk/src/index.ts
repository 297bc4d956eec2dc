export { NimbusPay, SDK_VERSION, type NimbusPayOptions, type RequestOptions, type IdempotentCallOptions } from './client.js';
export {
  NimbusPayError, AuthenticationError, PermissionError, InvalidRequestError, IdempotencyError, RateLimitError, ProcessorError,
  ApiError, ConnectionError, WebhookVerificationError, type NimbusPayErrorInit,
} from './errors.js';
export { Page, type PagePromise, type ListParams } from './pagination.js';
export { webhooks, verify as verifyWebhook, sign as signWebhook, type SignedWebhookHeaders, type VerifyOptions, type WebhookHeadersInput } from './webhooks.js';
export type * from './types.js';
