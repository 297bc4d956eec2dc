export { registerTenantRoutes } from './tenants.routes.js';
export {
  authenticateClient, ensureDemoTenant, ensurePlatformAdminClient, createTenant, createClient,
  type AuthenticatedClient,
} from './tenants.service.js';
