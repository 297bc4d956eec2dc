import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP, isIPv4 } from 'node:net';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'cgnat'
  | 'unique_local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'invalid';

/**
 * What `allowPrivateTargets` (development only) opens up: the ranges a developer's own receiver can live in
 * (localhost, LAN, container and VPC networks). Link-local stays refused even then, because 169.254.169.254 /
 * fd00:ec2::254-style metadata endpoints hand out cloud credentials and no developer receiver lives there.
 */
const CLASSES_ALLOWED_WITH_PRIVATE_TARGETS: ReadonlySet<AddressClass> = new Set([
  'loopback',
  'private',
  'cgnat',
  'unique_local',
]);

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];
const cidr = (text: string): Cidr => ipaddr.parseCIDR(text);

// First match wins, so more specific ranges come first. Sources: RFC 6890 special-purpose registries.
const IPV4_RANGES: ReadonlyArray<readonly [Cidr, AddressClass]> = [
  [cidr('255.255.255.255/32'), 'broadcast'],
  // "This network": Linux connects 0.0.0.0 to the local host.
  [cidr('0.0.0.0/8'), 'unspecified'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('100.64.0.0/10'), 'cgnat'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('169.254.0.0/16'), 'link_local'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.0.0.0/24'), 'reserved'],
  [cidr('192.0.2.0/24'), 'documentation'],
  [cidr('192.88.99.0/24'), 'reserved'],
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('198.18.0.0/15'), 'benchmarking'],
  [cidr('198.51.100.0/24'), 'documentation'],
  [cidr('203.0.113.0/24'), 'documentation'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('240.0.0.0/4'), 'reserved'],
];

const IPV6_RANGES: ReadonlyArray<readonly [Cidr, AddressClass]> = [
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  // Deprecated IPv4-compatible addresses; some stacks still route them to the embedded IPv4 address.
  [cidr('::/96'), 'reserved'],
  // IPv4-translated (SIIT) addresses.
  [cidr('::ffff:0:0:0/96'), 'reserved'],
  [cidr('64:ff9b:1::/48'), 'reserved'],
  [cidr('100::/64'), 'reserved'],
  [cidr('2001:2::/48'), 'benchmarking'],
  [cidr('2001:db8::/32'), 'documentation'],
  // IETF protocol assignments, including Teredo (2001::/32), whose embedded IPv4 address is obfuscated.
  [cidr('2001::/23'), 'reserved'],
  [cidr('3fff::/20'), 'documentation'],
  [cidr('fc00::/7'), 'unique_local'],
  [cidr('fe80::/10'), 'link_local'],
  // Deprecated site-local: the original IPv6 private range.
  [cidr('fec0::/10'), 'private'],
  [cidr('ff00::/8'), 'multicast'],
];

// Prefixes whose packets end up at an embedded IPv4 address: classify that address, so 64:ff9b::7f00:1 (NAT64)
// and 2002:7f00:1:: (6to4) are as loopback as 127.0.0.1.
const NAT64_WELL_KNOWN = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');
// Only global unicast is allocated for public use; anything else is reserved.
const GLOBAL_UNICAST = cidr('2000::/3');

function firstMatch(addr: ipaddr.IPv4 | ipaddr.IPv6, ranges: ReadonlyArray<readonly [Cidr, AddressClass]>): AddressClass | undefined {
  for (const [range, addressClass] of ranges) {
    if (addr.kind() === range[0].kind() && addr.match(range)) {
      return addressClass;
    }
  }
  return undefined;
}

function classifyIPv4(addr: ipaddr.IPv4): AddressClass {
  return firstMatch(addr, IPV4_RANGES) ?? 'public';
}

function embeddedIPv4(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function classifyIPv6(addr: ipaddr.IPv6): AddressClass {
  const [, p1 = 0, p2 = 0, , , , p6 = 0, p7 = 0] = addr.parts;
  if (addr.match(NAT64_WELL_KNOWN)) {
    return classifyIPv4(embeddedIPv4(p6, p7));
  }
  if (addr.match(SIX_TO_FOUR)) {
    return classifyIPv4(embeddedIPv4(p1, p2));
  }
  const special = firstMatch(addr, IPV6_RANGES);
  if (special !== undefined) {
    return special;
  }
  return addr.match(GLOBAL_UNICAST) ? 'public' : 'reserved';
}

/**
 * Classifies an IP address as a socket would reach it. Only strict notation is accepted (what `net.isIP`
 * accepts: dotted-quad IPv4, IPv6 with optional zone); anything else, such as `0177.0.0.1`, is 'invalid'.
 * IPv6 that delivers to an embedded IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16) takes that address's class.
 * IPv4-mapped IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`) is classified as the IPv4 address it maps to.
 */
export function classifyAddress(ip: string): AddressClass {
  if (isIPv4(ip)) {
    return classifyIPv4(ipaddr.IPv4.parse(ip));
  }
  if (isIP(ip) !== 6) {
    return 'invalid';
  }
  const v6 = parseIPv6(ip);
  return v6.isIPv4MappedAddress() ? classifyIPv4(v6.toIPv4Address()) : classifyIPv6(v6);
}

// ipaddr.js reads any `::a.b.c.d` as IPv4-mapped (`::ffff:a.b.c.d`), but it is the deprecated IPv4-compatible
// address ::a.b.c.d; rewriting a dotted tail into two hex groups makes ipaddr.js see the real bits. The zone is
// dropped: it only selects an interface and does not change the address class.
function parseIPv6(ip: string): ipaddr.IPv6 {
  const zoneAt = ip.indexOf('%');
  const bare = zoneAt === -1 ? ip : ip.slice(0, zoneAt);
  const tailAt = bare.lastIndexOf(':') + 1;
  const tail = bare.slice(tailAt);
  if (!isIPv4(tail)) {
    return ipaddr.IPv6.parse(bare);
  }
  const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(tail).octets;
  return ipaddr.IPv6.parse(`${bare.slice(0, tailAt)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`);
}

export function isAddressAllowed(addressClass: AddressClass, allowPrivateTargets: boolean): boolean {
  return addressClass === 'public' || (allowPrivateTargets && CLASSES_ALLOWED_WITH_PRIVATE_TARGETS.has(addressClass));
}

/** Short, tenant-safe description of why an address is refused: never includes the address itself. */
export function describeAddressClass(addressClass: AddressClass): string {
  return addressClass === 'invalid' ? 'invalid address' : `${addressClass.replace('_', '-')} address`;
}

/**
 * Thrown (or passed to the lookup callback) when a webhook target is refused. `reason` is safe to store in the
 * tenant-visible delivery log; `address` is for our logs only, as it may reveal internal DNS.
 */
export class SsrfBlockedError extends Error {
  readonly code = 'ERR_SSRF_BLOCKED';

  constructor(
    readonly reason: string,
    readonly address?: string,
  ) {
    super(`webhook target refused: ${reason}`);
    this.name = 'SsrfBlockedError';
  }
}

export function isSsrfBlockedError(err: unknown): err is SsrfBlockedError {
  return err instanceof SsrfBlockedError || (err instanceof Error && (err as { code?: unknown }).code === 'ERR_SSRF_BLOCKED');
}

export function assertPublicAddress(ip: string, allowPrivateTargets: boolean): void {
  const addressClass = classifyAddress(ip);
  if (!isAddressAllowed(addressClass, allowPrivateTargets)) {
    throw new SsrfBlockedError(describeAddressClass(addressClass), ip);
  }
}

export interface WebhookUrlPolicy {
  requireHttps: boolean;
  allowPrivateTargets: boolean;
}

/**
 * `code` says whether the URL is malformed or disallowed ('invalid_url') or points at a refused address
 * ('ssrf_blocked'); `reason` is a short sentence safe to show the tenant.
 */
export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; code: 'invalid_url' | 'ssrf_blocked'; reason: string };

const invalidUrl = (reason: string): WebhookUrlCheck => ({ ok: false, code: 'invalid_url', reason });

const MAX_URL_LENGTH = 2048;
// Deliberately narrower than WHATWG parsing: the authority must be spelled out after `scheme://` so we can see
// the host exactly as written. WHATWG silently repairs `http:/x`, `http:\\x`, tabs and newlines.
const RAW_URL_PATTERN = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#\\]*)/;

function rawHostOf(authority: string): string {
  const hostAndPort = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostAndPort.startsWith('[')) {
    return hostAndPort.slice(0, hostAndPort.indexOf(']') + 1);
  }
  const colon = hostAndPort.lastIndexOf(':');
  return colon === -1 ? hostAndPort : hostAndPort.slice(0, colon);
}

/**
 * Static checks on a webhook URL, for endpoint registration and again before each delivery. A hostname that
 * passes is still checked after DNS resolution by the transport (see createCheckedLookup).
 *
 * Ports are not restricted: any port on a public address is reachable by anyone anyway, and receivers
 * legitimately run on 8443 and the like.
 */
export function checkWebhookUrl(input: string, policy: WebhookUrlPolicy): WebhookUrlCheck {
  if (input.length > MAX_URL_LENGTH) {
    return invalidUrl(`URL is longer than ${MAX_URL_LENGTH} characters`);
  }
  if (/[\x00-\x20\x7f]/.test(input)) {
    return invalidUrl('URL contains whitespace or control characters');
  }
  const raw = RAW_URL_PATTERN.exec(input);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return invalidUrl('URL is not valid');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return invalidUrl('URL scheme must be https or http');
  }
  if (policy.requireHttps && url.protocol !== 'https:') {
    return invalidUrl('URL scheme must be https');
  }
  if (raw === null) {
    return invalidUrl('URL must have the form scheme://host/path');
  }
  if (url.username !== '' || url.password !== '' || (raw[2] ?? '').includes('@')) {
    return invalidUrl('URL must not contain credentials');
  }
  const rawHost = rawHostOf(raw[2] ?? '').toLowerCase();
  if (rawHost.includes('%')) {
    return invalidUrl('URL host must not be percent-encoded');
  }

  const hostname = url.hostname;
  const ipLiteral = hostname.startsWith('[') ? hostname.slice(1, -1) : isIPv4(hostname) ? hostname : undefined;
  if (ipLiteral === undefined) {
    return { ok: true, url };
  }
  // WHATWG turns 2130706433, 0x7f000001, 0177.0.0.1, 127.1 and fullwidth digits into 127.0.0.1; a host that
  // only became an IPv4 address through that normalization is refused outright, whatever it points to.
  if (isIPv4(hostname) && rawHost !== hostname) {
    return invalidUrl('IPv4 address must be written in dotted-decimal form');
  }
  const addressClass = classifyAddress(ipLiteral);
  if (!isAddressAllowed(addressClass, policy.allowPrivateTargets)) {
    return { ok: false, code: 'ssrf_blocked', reason: `host is a ${describeAddressClass(addressClass)}` };
  }
  return { ok: true, url };
}

export type ResolveAllAddresses = (hostname: string, options: LookupOptions) => Promise<LookupAddress[]>;

export const resolveWithSystemDns: ResolveAllAddresses = (hostname, options) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { family: options.family ?? 0, hints: options.hints ?? 0, all: true }, (err, addresses) => {
      if (err) reject(err);
      else resolve(addresses);
    });
  });

export interface CheckedLookupOptions {
  allowPrivateTargets: boolean;
  /** Defaults to the system resolver (dns.lookup, like net.connect itself); injectable for tests. */
  resolveAll?: ResolveAllAddresses;
}

/**
 * A `lookup` for net.connect / tls.connect (and undici's `connect` option). It resolves every address of the
 * host, refuses the connection if ANY of them is not allowed, and hands back only checked addresses, so the
 * socket connects to exactly what was checked: there is no second resolution an attacker's DNS could answer
 * differently (DNS rebinding). Refusing when any address is bad, instead of filtering, stops a host that mixes
 * a public and an internal address from being used to reach the internal one on a retry.
 *
 * net.connect skips `lookup` for IP-literal hosts, so those must be checked separately (checkWebhookUrl /
 * assertPublicAddress); this function still checks a literal if it is handed one.
 */
export function createCheckedLookup({ allowPrivateTargets, resolveAll = resolveWithSystemDns }: CheckedLookupOptions): LookupFunction {
  return (hostname, options, callback) => {
    const check = async (): Promise<LookupAddress[]> => {
      const literalFamily = isIP(hostname);
      const addresses =
        literalFamily === 0 ? await resolveAll(hostname, options) : [{ address: hostname, family: literalFamily }];
      if (addresses.length === 0) {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
      }
      for (const { address } of addresses) {
        assertPublicAddress(address, allowPrivateTargets);
      }
      return addresses;
    };
    check().then(
      (addresses) => {
        if (options.all) {
          callback(null, addresses);
        } else {
          const [first] = addresses as [LookupAddress];
          callback(null, first.address, first.family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
