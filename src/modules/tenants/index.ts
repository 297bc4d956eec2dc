export { registerTenantRoutes } from './tenants.routes.js';
export {
  checkClientSecret, loadClientCredentials, ensureDemoTenant, ensurePlatformAdminClient, createTenant, createClient, createPlatformClient,
  type AuthenticatedClient, type ClientCredentials, type ClientSecretDeps,
} from './tenants.service.js';
// For the support module, which reads tenants across the platform in its own transactions and resource shapes.
export { findTenant, listTenantClients, listTenants, type ApiClientRow, type TenantRow } from './tenants.repository.js';
