export { registerTenantRoutes } from './tenants.routes.js';
export {
  authenticateClient, ensureDemoTenant, ensurePlatformAdminClient, createTenant, createClient, createPlatformClient,
  type AuthenticatedClient,
} from './tenants.service.js';
