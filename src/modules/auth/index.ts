export { registerAuthRoutes } from './auth.routes.js';
export { createAccessTokenVerifier, createKeyCache, issueAccessToken, CLOCK_TOLERANCE_SECONDS, type KeyCache, type TokenSettings } from './access-tokens.js';
export { maintainSigningKeys, rotateSigningKey, listSigningKeys, type KeyLifecycle } from './signing-keys.service.js';
export { DEFAULT_THROTTLE, clientAuthPurgeJob, type FailureLimit, type ThrottlePolicy } from './client-auth.service.js';
