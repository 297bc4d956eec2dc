/**
 * A real OpenID Connect provider (the `oidc-provider` package) on loopback, standing in for the company identity
 * provider in tests. Its login and consent pages are replaced by an interaction that signs in, at once, the
 * account chosen with `setNextLogin` (so a browser or a fetch loop goes straight through), and grants the
 * requested scopes and claims.
 *
 *   const idp = await startOidcProvider();                       // before the platform: its issuer is config
 *   t.after(() => idp.close());
 *   const platform = await startTestPlatform({ env: idp.platformEnv() });
 *   idp.allowRedirect(`${platform.baseUrl}/v1/staff/sso/callback`);
 *   idp.addAccount({ sub: 'u1', email: 'ann@corp.test', name: 'Ann', roles: ['nimbuspay-operators'] });
 *   idp.setNextLogin('u1');
 *   const { location, session } = await ssoLogin(platform.baseUrl);   // or drive Chromium to /v1/staff/sso/start
 *
 * Client authentication is client_secret_basic, PKCE is required, and profile claims come from userinfo (the
 * provider's default), as with most real providers.
 */
import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import { freePort } from './net.js';

export interface IdpAccount {
  sub: string;
  email?: string;
  name?: string;
  /** the value of the roles claim; a string or an array, as providers differ */
  roles?: string[] | string;
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  rolesClaim: string;
  /** STAFF_OIDC_* settings for startTestPlatform({ env }) */
  platformEnv(extra?: { roleMap?: string }): Record<string, string>;
  /** registers the client with this redirect URI (call once, after the platform's port is known) */
  allowRedirect(redirectUri: string): void;
  addAccount(account: IdpAccount): void;
  /** the account the next interaction signs in */
  setNextLogin(sub: string): void;
  close(): Promise<void>;
}

// oidc-provider ships no type declarations: the few members used here, typed by hand.
interface Interaction {
  prompt: { name: string; details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[] } };
  params: { client_id: string; scope?: string };
  session?: { accountId?: string };
  grantId?: string;
}
interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface ProviderInstance {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<Interaction>;
  interactionFinished(req: http.IncomingMessage, res: http.ServerResponse, result: unknown, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  Grant: { new (init: { accountId: string; clientId: string }): Grant; find(id: string): Promise<Grant | undefined> };
}
type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

export async function startOidcProvider(options: { rolesClaim?: string; clientId?: string; clientSecret?: string } = {}): Promise<TestOidcProvider> {
  const specifier = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as { default: ProviderClass };
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const rolesClaim = options.rolesClaim ?? 'nimbuspay_roles';
  const clientId = options.clientId ?? 'nimbuspay-console';
  const clientSecret = options.clientSecret ?? 'test-oidc-client-secret-0123456789abcdef';
  const accounts = new Map<string, IdpAccount>();
  let nextLogin: string | undefined;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test-key' };
  let provider: ProviderInstance | undefined;
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;

  const interaction = async (req: http.IncomingMessage, res: http.ServerResponse, p: ProviderInstance) => {
    const details = await p.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      if (!nextLogin || !accounts.has(nextLogin)) {
        await p.interactionFinished(req, res, { error: 'access_denied', error_description: 'no test account chosen' }, { mergeWithLastSubmission: false });
        return;
      }
      await p.interactionFinished(req, res, { login: { accountId: nextLogin } }, { mergeWithLastSubmission: false });
      return;
    }
    // consent: grant what the client asked for
    const grant = details.grantId ? (await p.Grant.find(details.grantId))! : new p.Grant({ accountId: details.session!.accountId!, clientId: details.params.client_id });
    if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(' '));
    if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
    await p.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  };

  const server = http.createServer((req, res) => {
    if (!provider || !handler) {
      res.writeHead(503).end('test identity provider: call allowRedirect() first');
      return;
    }
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res, provider).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      });
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    issuer,
    clientId,
    clientSecret,
    rolesClaim,
    platformEnv(extra = {}) {
      return {
        STAFF_OIDC_ISSUER: issuer,
        STAFF_OIDC_CLIENT_ID: clientId,
        STAFF_OIDC_CLIENT_SECRET: clientSecret,
        STAFF_OIDC_ROLES_CLAIM: rolesClaim,
        ...(extra.roleMap ? { STAFF_OIDC_ROLE_MAP: extra.roleMap } : {}),
      };
    },
    allowRedirect(redirectUri) {
      provider = new Provider(issuer, {
        clients: [{
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        }],
        jwks: { keys: [signingKey] },
        pkce: { required: () => true },
        // the roles claim rides on the profile scope, which the console asks for with openid and email
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', rolesClaim] },
        features: { devInteractions: { enabled: false } },
        interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
        cookies: { keys: ['test-oidc-provider-cookie-key'] },
        ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
        findAccount: async (_ctx: unknown, sub: string) => {
          const account = accounts.get(sub);
          if (!account) return undefined;
          return {
            accountId: sub,
            claims: async () => ({
              sub,
              ...(account.email !== undefined ? { email: account.email, email_verified: true } : {}),
              ...(account.name !== undefined ? { name: account.name } : {}),
              ...(account.roles !== undefined ? { [rolesClaim]: account.roles } : {}),
            }),
          };
        },
      });
      handler = provider.callback();
    },
    addAccount(account) {
      accounts.set(account.sub, account);
    },
    setNextLogin(sub) {
      nextLogin = sub;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Cookies per origin, as a browser keeps them (enough for the SSO redirects: no paths, no expiry). */
export class CookieJar {
  private readonly jars = new Map<string, Map<string, string>>();
  store(url: string, res: Response): void {
    const origin = new URL(url).origin;
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /expires=thu, 01 jan 1970/i.test(line) || /max-age=0\b/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  }
  header(url: string): string {
    return [...(this.jars.get(new URL(url).origin) ?? new Map<string, string>()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(url: string, name: string): string | undefined {
    return this.jars.get(new URL(url).origin)?.get(name);
  }
  set(url: string, name: string, value: string): void {
    const origin = new URL(url).origin;
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    jar.set(name, value);
  }
}

export interface SsoHop {
  url: string;
  status: number;
  location: string | undefined;
}

/**
 * Follows redirects like a browser (manual redirects, a cookie jar per origin) from `startUrl` until a response is
 * not a redirect or the next hop leaves both the API and the provider (e.g. the console page). Returns every hop.
 */
export async function followRedirects(startUrl: string, jar: CookieJar, options: { stopAt?: (url: string) => boolean; maxHops?: number } = {}): Promise<SsoHop[]> {
  const hops: SsoHop[] = [];
  let url = startUrl;
  for (let i = 0; i < (options.maxHops ?? 20); i++) {
    const cookie = jar.header(url);
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    jar.store(url, res);
    await res.arrayBuffer();
    const location = res.headers.get('location') ?? undefined;
    hops.push({ url, status: res.status, location });
    if (res.status < 300 || res.status >= 400 || !location) return hops;
    url = new URL(location, url).href;
    if (options.stopAt?.(url)) return hops;
  }
  throw new Error(`too many redirects from ${startUrl}: ${hops.map((h) => `${h.status} ${h.url}`).join(' -> ')}`);
}

/**
 * The whole SSO login as a browser does it: /v1/staff/sso/start → provider → interaction (auto-login of the
 * `setNextLogin` account) → consent → /v1/staff/sso/callback → the console. Answers where the API finally sent the
 * browser and the session cookie, if one was set.
 */
export async function ssoLogin(baseUrl: string, options: { returnTo?: string; jar?: CookieJar } = {}): Promise<{
  location: string; sessionCookie: string | undefined; jar: CookieJar; hops: SsoHop[];
}> {
  const jar = options.jar ?? new CookieJar();
  const start = `${baseUrl}/v1/staff/sso/start${options.returnTo ? `?return_to=${encodeURIComponent(options.returnTo)}` : ''}`;
  const hops = await followRedirects(start, jar, { stopAt: (u) => new URL(u).pathname.startsWith('/console') });
  const last = hops[hops.length - 1]!;
  const sessionCookie = jar.get(baseUrl, 'nimbuspay_session') ?? jar.get(baseUrl, '__Host-nimbuspay_session');
  return { location: last.location ?? '', sessionCookie, jar, hops };
}
