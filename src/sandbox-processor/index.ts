export { buildSandboxProcessor } from './sandbox-app.js';
export type { SandboxOptions } from './sandbox-options.js';
export { SANDBOX_ROUTING_NUMBER } from './sandbox-bank-accounts.js';
