/**
 * Friendly names for the API's objects and parameters, all taken from the generated OpenAPI types, so they change
 * when the API does (and `npm run typecheck` says where): objects and request bodies are the document's named
 * component schemas; list queries come from the operations' parameters.
 */
import type { components, paths } from './generated/openapi.js';

export type { paths, components, operations } from './generated/openapi.js';

type Schemas = components['schemas'];
type QueryOf<P extends keyof paths> = paths[P]['get'] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export type Payment = Schemas['Payment'];
export type PaymentStatus = Payment['status'];
export type PaymentFailureCode = NonNullable<Payment['failure_code']>;
export type Currency = Payment['currency'];
export type CardPaymentMethod = Schemas['CardPaymentMethod'];
export type BankTransferPaymentMethod = Schemas['BankTransferPaymentMethod'];
export type CardPaymentMethodInput = Schemas['CardPaymentMethodInput'];
export type BankTransferPaymentMethodInput = Schemas['BankTransferPaymentMethodInput'];
export type PaymentCreateParams = Schemas['CreatePaymentRequest'];
export type PaymentCaptureParams = Schemas['CapturePaymentRequest'];
export type PaymentCancelParams = Schemas['CancelPaymentRequest'];
export type PaymentListParams = Partial<QueryOf<'/v1/payments'>>;
export type PaymentRetrieveParams = Partial<QueryOf<'/v1/payments/{id}'>>;

export type Refund = Schemas['Refund'];
export type RefundStatus = Refund['status'];
export type RefundCreateParams = Schemas['CreateRefundRequest'];
export type RefundListParams = Partial<QueryOf<'/v1/payments/{id}/refunds'>>;

export type Event = Schemas['Event'];
export type EventType = Event['type'];
export type EventListParams = Partial<QueryOf<'/v1/events'>>;

export type WebhookEndpoint = Schemas['WebhookEndpoint'];
/** An endpoint as created or after a secret rotation: the only answers that carry its `secret`. */
export type WebhookEndpointWithSecret = Schemas['WebhookEndpointWithSecret'];
export type WebhookEndpointCreateParams = Schemas['CreateWebhookEndpointRequest'];
export type WebhookEndpointUpdateParams = Schemas['UpdateWebhookEndpointRequest'];
export type WebhookEndpointListParams = Partial<QueryOf<'/v1/webhook_endpoints'>>;
export type WebhookEndpointRotateSecretParams = Schemas['RotateWebhookEndpointSecretRequest'];
export type WebhookEndpointReplayParams = Schemas['ReplayWebhookEndpointRequest'];
export type WebhookEndpointReplayResult = Schemas['WebhookReplay'];
export type DeletedWebhookEndpoint = Schemas['DeletedWebhookEndpoint'];
export type WebhookDelivery = Schemas['WebhookDelivery'];
export type WebhookDeliveryListParams = Partial<QueryOf<'/v1/webhook_endpoints/{id}/deliveries'>>;

/** The error object every failed API call answers with. */
export type ApiErrorObject = Schemas['Error'];
