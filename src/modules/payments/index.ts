export { registerPaymentRoutes } from './payments.routes.js';
export { reconcileJob } from './payments-reconciler.js';
export type { PaymentsDeps } from './payments.service.js';
export { registerProcessorNotificationRoutes } from './processor-notifications.routes.js';
export { pollBankRailJob, submitBankTransfersJob } from './bank-rail.jobs.js';
export type { BankRailSettings, BankTransfersDeps } from './bank-transfers.service.js';
export type { ProcessorNotificationsDeps } from './processor-notifications.service.js';
