export { registerTenantRoutes } from './tenants.routes.js';
export {
  checkClientSecret, loadClientCredentials, ensureDemoTenant, ensurePlatformAdminClient, createTenant, createClient, createPlatformClient,
  type AuthenticatedClient, type ClientCredentials, type ClientSecretDeps,
} from './tenants.service.js';
