export { registerTenantRoutes } from './tenants.routes.js';
export {
  authenticateClient, ensureDemoTenant, ensurePlatformAdminClient, createTenant, createClient, createPlatformClient,
  type AuthenticatedClient, type ClientSecretDeps,
} from './tenants.service.js';
