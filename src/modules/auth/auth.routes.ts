import { Type } from '@sinclair/typebox';
import formbody from '@fastify/formbody';
import type { FastifyReply } from 'fastify';
import type { Db } from '../../platform/db.js';
import type { KeyRing } from '../../platform/crypto.js';
import type { Metrics } from '../../platform/metrics.js';
import type { HttpApp, OAuthErrorCode } from '../../platform/http/app.js';
import { ALL_SCOPES, routeSecurity } from '../../platform/http/scopes.js';
import { ListSchema, errorResponses } from '../../platform/http/pagination.js';
import { documentAs, documentedResponses } from '../../platform/http/openapi.js';
import type { KeyCache, TokenSettings } from './access-tokens.js';
import type { ThrottlePolicy } from './client-auth.service.js';
import type { WorkLimit } from '../../platform/work-limit.js';
import { listSigningKeys, rotateSigningKey, type KeyLifecycle } from './signing-keys.service.js';
import { createTokenDeps, requestToken, type TokenOutcome } from './token.service.js';

const TokenRequestBody = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ description: 'Must be client_credentials' })),
    scope: Type.Optional(Type.String({ description: 'Space-separated subset of the client\'s scopes; default: all of them' })),
    client_id: Type.Optional(Type.String({ description: 'client_secret_post authentication' })),
    client_secret: Type.Optional(Type.String({ description: 'client_secret_post authentication' })),
  },
  { additionalProperties: true },
);
const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'A JWT (RFC 9068): send it as `Authorization: Bearer <access_token>`.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until it expires (900 by default): get a new one before then.' }),
  scope: Type.String({ description: 'The granted scopes, space-separated.' }),
}, {
  $id: 'AccessToken',
  examples: [{ access_token: 'eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleV8wMWpxOHcwIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJjbGlfMDFqcTh3In0.c2lnbmF0dXJl', token_type: 'Bearer', expires_in: 900, scope: 'payments:read payments:write refunds:write' }],
});
const RotateSigningKeyBody = Type.Object({ activation_delay_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })) }, { additionalProperties: false });
const Nullable = (t: ReturnType<typeof Type.String>) => Type.Union([t, Type.Null()]);
const SigningKeySchema = Type.Object({
  kid: Type.String(), alg: Type.String(),
  status: Type.Union(['next', 'active', 'retiring', 'retired'].map((s) => Type.Literal(s))),
  created_at: Type.String({ format: 'date-time' }),
  activate_after: Nullable(Type.String({ format: 'date-time' })),
  activated_at: Nullable(Type.String({ format: 'date-time' })),
  retire_after: Nullable(Type.String({ format: 'date-time' })),
  retired_at: Nullable(Type.String({ format: 'date-time' })),
}, {
  $id: 'SigningKey',
  examples: [{
    kid: 'key_01jq8w0a2c4e6g8j0l2n4q6s8u', alg: 'ES256', status: 'active', created_at: '2026-03-01T08:00:00.000Z', activate_after: null,
    activated_at: '2026-03-01T08:05:00.000Z', retire_after: null, retired_at: null,
  }],
});
const OAuthErrorResponse = Type.Object(
  {
    error: Type.Union(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'slow_down'].map((c) => Type.Literal(c))),
    error_description: Type.Optional(Type.String()),
  },
  { $id: 'OAuthError', description: 'RFC 6749 §5.2 error (slow_down: RFC 8628).', examples: [{ error: 'invalid_client', error_description: 'Client authentication failed.' }] },
);
const Jwks = Type.Object({
  keys: Type.Array(Type.Object({
    kty: Type.Literal('EC'), crv: Type.Literal('P-256'), x: Type.String(), y: Type.String(), kid: Type.String(), alg: Type.Literal('ES256'), use: Type.Literal('sig'),
  })),
}, {
  $id: 'JsonWebKeySet',
  examples: [{ keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'key_01jq8w0a2c4e6g8j0l2n4q6s8u', alg: 'ES256', use: 'sig' }] }],
});
const ServerMetadata = Type.Object({
  issuer: Type.String({ format: 'uri' }),
  token_endpoint: Type.String({ format: 'uri' }),
  jwks_uri: Type.String({ format: 'uri' }),
  grant_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  service_documentation: Type.String({ format: 'uri' }),
}, {
  $id: 'AuthorizationServerMetadata',
  examples: [{
    issuer: 'http://localhost:3000', token_endpoint: 'http://localhost:3000/oauth/token', jwks_uri: 'http://localhost:3000/.well-known/jwks.json',
    grant_types_supported: ['client_credentials'], token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ['payments:read', 'payments:write'], response_types_supported: [], service_documentation: 'http://localhost:3000/docs',
  }],
});

function oauthError(reply: FastifyReply, status: number, error: Exclude<OAuthErrorCode, 'slow_down'>, description: string, basic = false): FastifyReply {
  reply.request.errorCode = error;
  void reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' });
  if (basic) void reply.header('www-authenticate', 'Basic realm="nimbuspay", charset="UTF-8"');
  return reply.code(status).send({ error, error_description: description });
}

/** 429 in the token endpoint's own error format (RFC 6749 §5.2 has no code for it; slow_down is RFC 8628's). */
function slowDown(reply: FastifyReply, retryAfterSeconds: number, description: string): FastifyReply {
  reply.request.errorCode = 'slow_down';
  void reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache', 'retry-after': String(retryAfterSeconds) });
  return reply.code(429).send({ error: 'slow_down', error_description: description });
}

/** The token service's outcome as `nimbuspay_token_requests_total` counts it (its RFC 6749 error, or issued/throttled/busy). */
const TOKEN_METRIC_OUTCOME: Record<TokenOutcome['outcome'], string> = {
  issued: 'issued',
  throttled: 'throttled',
  busy: 'busy',
  unauthorized_client: 'unauthorized_client',
  invalid_client: 'invalid_client',
  grant_type_missing: 'invalid_request',
  unsupported_grant_type: 'unsupported_grant_type',
  invalid_scope: 'invalid_scope',
};

const SLOW_DOWN = {
  client: 'Too many failed authentications for this client from this address; retry later.',
  address: 'Too many failed authentications from this address; retry later.',
  busy: 'The token endpoint is busy; retry shortly.',
} as const;

/** RFC 6749 §2.3.1: client_id and client_secret are form-urlencoded inside the Basic credentials. */
function parseBasic(header: string): { clientId: string; secret: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return undefined;
  }
}

export function registerAuthRoutes(app: HttpApp, deps: {
  db: Db; keys: KeyCache; keyRing: KeyRing; life: KeyLifecycle; settings: TokenSettings; metrics: Metrics;
  throttle?: ThrottlePolicy; hashWork?: WorkLimit; admission?: WorkLimit; now?: () => Date;
}): void {
  const { db, keys, settings, metrics } = deps;
  const tokens = createTokenDeps(deps);

  void app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 4096 });
    // The token endpoint speaks RFC 6749 §5.2 errors, not the NimbusPay error object.
    scope.setErrorHandler((err: { statusCode?: number }, _request, reply) =>
      oauthError(reply, (err.statusCode ?? 500) === 413 ? 413 : 400, 'invalid_request', 'The token request is malformed.'));

    scope.post('/oauth/token', {
      schema: { operationId: 'createToken',
        tags: ['OAuth 2.0'],
        security: [{ clientBasic: [] }, {}],
        summary: 'Get an access token (client credentials grant, RFC 6749 §4.4)',
        description: 'Form-encoded. Authenticate with HTTP Basic (client_secret_basic) or client_id/client_secret in the body (client_secret_post). Errors follow RFC 6749 §5.2.',
        consumes: ['application/x-www-form-urlencoded'],
        body: documentAs(TokenRequestBody, Type.Object(TokenRequestBody.properties, {
          $id: 'CreateTokenRequest', examples: [{ grant_type: 'client_credentials', scope: 'payments:read payments:write refunds:write' }],
        })),
        response: { 200: TokenResponse, 400: OAuthErrorResponse, 401: OAuthErrorResponse, 413: OAuthErrorResponse, 429: OAuthErrorResponse },
      },
    }, async (request, reply) => {
      const count = (outcome: string) => metrics.tokenRequests.inc({ outcome });
      if (!String(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
        count('invalid_request');
        return oauthError(reply, 400, 'invalid_request', 'The body must be application/x-www-form-urlencoded.');
      }
      const body: Partial<Record<string, string>> = Object.create(null);
      for (const [k, v] of Object.entries(request.body as Record<string, unknown>)) {
        if (typeof v !== 'string') {
          count('invalid_request');
          return oauthError(reply, 400, 'invalid_request', `Parameter '${k}' must appear once.`);
        }
        body[k] = v;
      }
      const authz = request.headers.authorization;
      const basic = authz !== undefined && /^Basic /i.test(authz);
      const bodyCreds = body.client_id !== undefined || body.client_secret !== undefined;
      if (basic && bodyCreds) {
        count('invalid_request');
        return oauthError(reply, 400, 'invalid_request', 'Use exactly one client authentication method.');
      }
      let creds: { clientId: string; secret: string } | undefined;
      if (basic) creds = parseBasic(authz);
      else if (typeof body.client_id === 'string' && typeof body.client_secret === 'string') creds = { clientId: body.client_id, secret: body.client_secret };
      if (!creds || !creds.clientId || !creds.secret || creds.clientId.length > 64 || creds.secret.length > 256) {
        count('invalid_client');
        return oauthError(reply, 401, 'invalid_client', 'Client authentication failed.', basic);
      }
      const result = await requestToken(tokens, {
        clientId: creds.clientId,
        secret: creds.secret,
        source: request.ip,
        grantType: body.grant_type,
        scope: body.scope,
      });
      count(TOKEN_METRIC_OUTCOME[result.outcome]);
      switch (result.outcome) {
        case 'issued':
          void reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' });
          return { access_token: result.token, token_type: 'Bearer' as const, expires_in: result.expiresIn, scope: result.scopes.join(' ') };
        case 'throttled':
          request.log.info({ client_id: creds.clientId, throttled_by: result.by }, 'client authentication throttled');
          return slowDown(reply, result.retryAfterSeconds, SLOW_DOWN[result.by]);
        case 'busy':
          return slowDown(reply, result.retryAfterSeconds, SLOW_DOWN.busy);
        case 'unauthorized_client':
          return oauthError(reply, 400, 'unauthorized_client', 'This client may not obtain tokens.');
        case 'invalid_client':
          request.log.info({ client_id: creds.clientId, reason: result.reason }, 'client authentication failed');
          return oauthError(reply, 401, 'invalid_client', 'Client authentication failed.', basic);
        case 'grant_type_missing':
          return oauthError(reply, 400, 'invalid_request', 'grant_type is required.');
        case 'unsupported_grant_type':
          return oauthError(reply, 400, 'unsupported_grant_type', 'Only the client_credentials grant is supported.');
        case 'invalid_scope':
          return oauthError(reply, 400, 'invalid_scope', result.notGranted ? `Scope '${result.notGranted}' is not granted to this client.` : 'scope is empty.');
      }
    });
  });

  app.get('/.well-known/oauth-authorization-server', {
    schema: { operationId: 'getAuthorizationServerMetadata', tags: ['OAuth 2.0'], summary: 'Authorization server metadata (RFC 8414)', ...documentedResponses({ 200: ServerMetadata }) },
  }, async () => ({
    issuer: settings.issuer,
    token_endpoint: `${settings.issuer}/oauth/token`,
    jwks_uri: `${settings.issuer}/.well-known/jwks.json`,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ALL_SCOPES,
    response_types_supported: [],
    service_documentation: `${settings.issuer}/docs`,
  }));

  app.get('/.well-known/jwks.json', {
    schema: { operationId: 'getJwks', tags: ['OAuth 2.0'], summary: 'Public keys that verify access tokens (RFC 7517)', ...documentedResponses({ 200: Jwks }) },
  }, async (_request, reply) => {
    void reply.header('cache-control', 'public, max-age=60');
    return keys.jwks();
  });

  const admin = routeSecurity('platform:admin', { staffSession: true });
  app.get('/v1/admin/signing_keys', {
    schema: { operationId: 'listSigningKeys', ...admin, tags: ['Platform admin'], summary: 'List signing keys (public metadata only)',
      response: { 200: ListSchema(SigningKeySchema), ...errorResponses(401, 403) } },
  }, async () => ({ object: 'list' as const, data: await listSigningKeys(db), has_more: false }));

  app.post('/v1/admin/signing_keys/rotate', {
    schema: { operationId: 'rotateSigningKey',
      ...admin, tags: ['Platform admin'],
      summary: 'Rotate the token signing key',
      description: 'Publishes a new key at once; it starts signing after activation_delay_seconds (default 300, so JWKS caches see it first). The old key stays published until every token it signed has expired.',
      body: documentAs(RotateSigningKeyBody, Type.Object(RotateSigningKeyBody.properties, {
        $id: 'RotateSigningKeyRequest', additionalProperties: false, examples: [{ activation_delay_seconds: 300 }],
      })),
      response: { 200: SigningKeySchema, ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    const key = await rotateSigningKey(db, deps.keyRing, deps.life, request.body?.activation_delay_seconds ?? 300);
    await keys.refresh();
    return key;
  });
}
