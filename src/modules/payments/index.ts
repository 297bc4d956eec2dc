export { registerPaymentRoutes } from './payments.routes.js';
export { reconcileJob } from './payments-reconciler.js';
export type { PaymentsDeps } from './payments.service.js';
