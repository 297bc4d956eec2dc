export * from './processor-port.js';
export {
  DEFAULT_SIGNATURE_TOLERANCE_SEC,
  PROCESSOR_SIGNATURE_HEADER,
  signProcessorNotification,
  verifyProcessorNotification,
} from './notification-signature.js';
export type {
  NotificationSignatureFailure,
  NotificationVerification,
  VerifyProcessorNotificationInput,
} from './notification-signature.js';
export { createSandboxProcessorAdapter } from './sandbox-processor-adapter.js';
export type { SandboxProcessorAdapter, SandboxProcessorAdapterOptions } from './sandbox-processor-adapter.js';
export type { CallGuardOptions } from './processor-call-guard.js';
export { createStripeProcessorAdapter } from './stripe/stripe-processor-adapter.js';
export type { StripeProcessorAdapterOptions } from './stripe/stripe-processor-adapter.js';
export { newsOfStripeEvent, STRIPE_SIGNATURE_HEADER, verifyStripeNotification } from './stripe/stripe-notifications.js';
export type { StripeNews } from './stripe/stripe-notifications.js';
