export { registerPaymentRoutes } from './payments.routes.js';
export { reconcileJob } from './payments-reconciler.js';
export type { PaymentsDeps } from './payment-operations.js';
export { registerProcessorNotificationRoutes } from './processor-notifications.routes.js';
export { pollBankRailJob, submitBankTransfersJob } from './bank-rail.jobs.js';
export type { BankRailSettings, BankTransfersDeps } from './bank-rail.service.js';
export type { ProcessorNotificationsDeps } from './processor-notifications.service.js';
// For the support module: the same mappers and schemas (so masking is identical), and "reconcile now".
export { toPaymentResource, toRefundResource } from './payment-resource.js';
export { PaymentSchema, RefundSchema, type PaymentResource, type RefundResource } from './payments.schema.js';
export { PAYMENT_METHODS, PAYMENT_STATUSES } from './payment-state.js';
export { REFUND_STATUSES } from './refund-state.js';
export {
  scheduleReconcileNow, toPaymentRow, type AttemptRow, type PaymentRow, type RefundRow, type TransitionRow,
} from './payments.repository.js';
