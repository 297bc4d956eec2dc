import type { IdempotentCallOptions, RequestOptions } from './client.js';
import type { PagePromise, QueryValue } from './pagination.js';
import type {
  DeletedWebhookEndpoint, Event, EventListParams, Payment, PaymentCancelParams, PaymentCaptureParams, PaymentCreateParams,
  PaymentListParams, PaymentRetrieveParams, Refund, RefundCreateParams, RefundListParams, WebhookDelivery,
  WebhookDeliveryListParams, WebhookEndpoint, WebhookEndpointCreateParams, WebhookEndpointListParams,
  WebhookEndpointReplayParams, WebhookEndpointReplayResult, WebhookEndpointRotateSecretParams, WebhookEndpointUpdateParams,
  WebhookEndpointWithSecret,
} from './types.js';

/** What the resources need from the client (kept narrow so they never reach into its token or retry state). */
export interface ApiCaller {
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  list<T extends { id: string }>(path: string, query?: Record<string, QueryValue>): PagePromise<T>;
  idempotentPost<T>(path: string, body: unknown, options?: IdempotentCallOptions): Promise<T>;
}

type Query<T> = { [K in keyof T]?: T[K] & QueryValue };

const id = (value: string): string => {
  if (typeof value !== 'string' || value === '') throw new TypeError('An object id (a non-empty string) is required');
  return encodeURIComponent(value);
};

export interface Resources {
  payments: {
    /** Creates a card payment or bank transfer; carries an Idempotency-Key (generated unless given), so retries are safe. */
    create(params: PaymentCreateParams, options?: IdempotentCallOptions): Promise<Payment>;
    retrieve(paymentId: string, params?: PaymentRetrieveParams): Promise<Payment>;
    list(params?: PaymentListParams): PagePromise<Payment>;
    capture(paymentId: string, params?: PaymentCaptureParams, options?: IdempotentCallOptions): Promise<Payment>;
    cancel(paymentId: string, params?: PaymentCancelParams, options?: IdempotentCallOptions): Promise<Payment>;
  };
  refunds: {
    create(paymentId: string, params?: RefundCreateParams, options?: IdempotentCallOptions): Promise<Refund>;
    retrieve(refundId: string): Promise<Refund>;
    list(paymentId: string, params?: RefundListParams): PagePromise<Refund>;
  };
  events: {
    list(params?: EventListParams): PagePromise<Event>;
    retrieve(eventId: string): Promise<Event>;
  };
  webhookEndpoints: {
    /** The answer carries the endpoint's signing `secret`: store it, it is shown again only by rotateSecret. */
    create(params: WebhookEndpointCreateParams): Promise<WebhookEndpointWithSecret>;
    list(params?: WebhookEndpointListParams): PagePromise<WebhookEndpoint>;
    retrieve(endpointId: string): Promise<WebhookEndpoint>;
    update(endpointId: string, params: WebhookEndpointUpdateParams): Promise<WebhookEndpoint>;
    del(endpointId: string): Promise<DeletedWebhookEndpoint>;
    rotateSecret(endpointId: string, params?: WebhookEndpointRotateSecretParams): Promise<WebhookEndpointWithSecret>;
    listDeliveries(endpointId: string, params?: WebhookDeliveryListParams): PagePromise<WebhookDelivery>;
    replay(endpointId: string, params: WebhookEndpointReplayParams): Promise<WebhookEndpointReplayResult>;
  };
  webhookDeliveries: {
    retry(deliveryId: string): Promise<WebhookDelivery>;
  };
}

export function createResources(api: ApiCaller): Resources {
  return {
    payments: {
      create: (params, options) => api.idempotentPost('/v1/payments', params, options),
      retrieve: (paymentId, params) => api.request('GET', `/v1/payments/${id(paymentId)}`, { query: params as Query<PaymentRetrieveParams> }),
      list: (params) => api.list('/v1/payments', params as Query<PaymentListParams>),
      capture: (paymentId, params, options) => api.idempotentPost(`/v1/payments/${id(paymentId)}/capture`, params ?? {}, options),
      cancel: (paymentId, params, options) => api.idempotentPost(`/v1/payments/${id(paymentId)}/cancel`, params ?? {}, options),
    },
    refunds: {
      create: (paymentId, params, options) => api.idempotentPost(`/v1/payments/${id(paymentId)}/refunds`, params ?? {}, options),
      retrieve: (refundId) => api.request('GET', `/v1/refunds/${id(refundId)}`),
      list: (paymentId, params) => api.list(`/v1/payments/${id(paymentId)}/refunds`, params as Query<RefundListParams>),
    },
    events: {
      list: (params) => api.list('/v1/events', params as Query<EventListParams>),
      retrieve: (eventId) => api.request('GET', `/v1/events/${id(eventId)}`),
    },
    webhookEndpoints: {
      create: (params) => api.request('POST', '/v1/webhook_endpoints', { body: params }),
      list: (params) => api.list('/v1/webhook_endpoints', params as Query<WebhookEndpointListParams>),
      retrieve: (endpointId) => api.request('GET', `/v1/webhook_endpoints/${id(endpointId)}`),
      update: (endpointId, params) => api.request('POST', `/v1/webhook_endpoints/${id(endpointId)}`, { body: params }),
      del: (endpointId) => api.request('DELETE', `/v1/webhook_endpoints/${id(endpointId)}`),
      rotateSecret: (endpointId, params) => api.request('POST', `/v1/webhook_endpoints/${id(endpointId)}/rotate_secret`, { body: params ?? {} }),
      listDeliveries: (endpointId, params) => api.list(`/v1/webhook_endpoints/${id(endpointId)}/deliveries`, params as Query<WebhookDeliveryListParams>),
      replay: (endpointId, params) => api.request('POST', `/v1/webhook_endpoints/${id(endpointId)}/replay`, { body: params }),
    },
    webhookDeliveries: {
      retry: (deliveryId) => api.request('POST', `/v1/webhook_deliveries/${id(deliveryId)}/retry`),
    },
  };
}
