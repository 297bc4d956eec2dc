import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { LookupAddress, LookupOptions } from 'node:dns';
import {
  assertPublicAddress,
  checkWebhookUrl,
  classifyAddress,
  createCheckedLookup,
  isSsrfBlockedError,
  SsrfBlockedError,
} from './ssrf-guard.js';
import type { AddressClass, ResolveAllAddresses } from './ssrf-guard.js';

const STRICT = { requireHttps: false, allowPrivateTargets: false };
const DEV = { requireHttps: false, allowPrivateTargets: true };

describe('classifyAddress', () => {
  const cases: Record<AddressClass, string[]> = {
    public: ['8.8.8.8', '1.1.1.1', '93.184.216.34', '100.63.255.255', '100.128.0.0', '172.32.0.1', '2606:4700:4700::1111',
      '2a00:1450:4001:81b::200e', '::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::808:808', '2002:808:808::1'],
    unspecified: ['0.0.0.0', '0.1.2.3', '0.255.255.255', '::'],
    loopback: ['127.0.0.1', '127.255.255.254', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::7f00:1',
      '2002:7f00:1::'],
    private: ['10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.1.1', '::ffff:10.0.0.1',
      '::ffff:c0a8:101', 'fec0::1'],
    link_local: ['169.254.169.254', '169.254.0.1', '::ffff:169.254.169.254', 'fe80::1', 'fe80::1%eth0', 'febf::1',
      'fe80::8.8.8.8'],
    cgnat: ['100.64.0.1', '100.127.255.255'],
    unique_local: ['fc00::1', 'fd00::1', 'fd00:ec2::254'],
    multicast: ['224.0.0.1', '239.255.255.250', 'ff02::1', 'ff05::1:3'],
    broadcast: ['255.255.255.255'],
    documentation: ['192.0.2.1', '198.51.100.7', '203.0.113.9', '2001:db8::1', '3fff::1'],
    benchmarking: ['198.18.0.1', '198.19.255.255', '2001:2::1'],
    reserved: ['240.0.0.1', '255.255.255.254', '192.0.0.170', '192.88.99.1', '::127.0.0.1', '::8.8.8.8', '::7f00:1',
      '::ffff:0:808:808', '64:ff9b:1::1', '100::1', '2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '4000::1', 'e000::1'],
    invalid: ['', 'localhost', '127.1', '0177.0.0.1', '0x7f000001', '2130706433', '127.0.0.01', '256.0.0.1', '[::1]',
      ' 8.8.8.8', '1.2.3.4.5'],
  };
  for (const [expected, addresses] of Object.entries(cases)) {
    it(`classifies ${expected}`, () => {
      for (const address of addresses) {
        assert.equal(classifyAddress(address), expected, address);
      }
    });
  }
});

describe('assertPublicAddress', () => {
  it('passes public addresses', () => {
    assert.doesNotThrow(() => assertPublicAddress('8.8.8.8', false));
    assert.doesNotThrow(() => assertPublicAddress('2606:4700:4700::1111', false));
  });

  it('refuses every non-public class with a reason that does not leak the address', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '100.64.0.1', 'fd00::1', '224.0.0.1', '0.0.0.0',
      '255.255.255.255', '192.0.2.1', '198.18.0.1', '240.0.0.1', '::ffff:127.0.0.1', 'nonsense']) {
      assert.throws(
        () => assertPublicAddress(ip, false),
        (err: unknown) =>
          err instanceof SsrfBlockedError && err.code === 'ERR_SSRF_BLOCKED' && err.address === ip &&
          !err.reason.includes(ip) && /address$/.test(err.reason),
        ip,
      );
    }
    assert.throws(() => assertPublicAddress('10.1.2.3', false), { reason: 'private address' });
    assert.throws(() => assertPublicAddress('169.254.169.254', false), { reason: 'link-local address' });
  });

  it('with allowPrivateTargets lets loopback, private, CGNAT and ULA through, but never metadata and the like', () => {
    for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.0.0.1', '192.168.0.10', '100.64.0.1', 'fd00::1']) {
      assert.doesNotThrow(() => assertPublicAddress(ip, true), ip);
    }
    for (const ip of ['169.254.169.254', 'fe80::1', '0.0.0.0', '::', '224.0.0.1', '255.255.255.255', '192.0.2.1',
      '240.0.0.1', '127.1']) {
      assert.throws(() => assertPublicAddress(ip, true), SsrfBlockedError, ip);
    }
  });
});

describe('checkWebhookUrl', () => {
  const refused = (url: string, policy = STRICT): string => {
    const result = checkWebhookUrl(url, policy);
    assert.equal(result.ok, false, `${url} should be refused`);
    return result.ok ? '' : `${result.code}: ${result.reason}`;
  };

  it('accepts public https and http URLs and returns the parsed URL', () => {
    for (const url of ['https://hooks.example.com/nimbus?x=1', 'http://example.com:8080/path', 'https://8.8.8.8/',
      'https://[2606:4700:4700::1111]/hook', 'https://example.com./x']) {
      const result = checkWebhookUrl(url, STRICT);
      assert.ok(result.ok, url);
      assert.ok(result.url instanceof URL);
    }
    const result = checkWebhookUrl('HTTPS://Hooks.Example.COM/a', STRICT);
    assert.ok(result.ok);
    assert.equal(result.url.href, 'https://hooks.example.com/a');
  });

  it('only allows http and https, and only https when required', () => {
    for (const url of ['ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/', 'ws://example.com/',
      'javascript:alert(1)', 'data:text/plain,hi', 'dict://example.com:11211/']) {
      assert.match(refused(url), /^invalid_url: URL scheme must be https or http$/, url);
    }
    assert.match(refused('http://example.com/', { requireHttps: true, allowPrivateTargets: false }), /must be https$/);
    assert.ok(checkWebhookUrl('https://example.com/', { requireHttps: true, allowPrivateTargets: false }).ok);
  });

  it('refuses credentials in the URL', () => {
    for (const url of ['https://user:pass@example.com/', 'https://user@example.com/', 'https://:pass@example.com/',
      'https://@example.com/', 'https://example.com@evil.example/']) {
      assert.match(refused(url), /credentials/, url);
    }
  });

  it('refuses malformed, oversized and whitespace-laden URLs', () => {
    assert.match(refused('not a url'), /whitespace/);
    assert.match(refused('example.com/hook'), /not valid/);
    assert.match(refused('https://'), /not valid/);
    assert.match(refused('http:/example.com/'), /scheme:\/\/host/);
    assert.match(refused('http:\\\\example.com\\x'), /scheme:\/\/host/);
    assert.match(refused('http:example.com/'), /scheme:\/\/host/);
    assert.match(refused(' https://example.com/'), /whitespace/);
    assert.match(refused('https://exa\tmple.com/'), /whitespace/);
    assert.match(refused('https://example.com/\n'), /whitespace/);
    assert.match(refused(`https://example.com/${'a'.repeat(2048)}`), /longer than 2048/);
    assert.match(refused('https://ex%61mple.com/'), /percent-encoded/);
  });

  it('refuses IPv4 literals in any non-canonical encoding, even when they point somewhere public', () => {
    for (const url of [
      'http://2130706433/', // decimal
      'http://0x7f000001/', // hex
      'http://0x7f.0.0.1/', // hex octet
      'http://0177.0.0.1/', // octal
      'http://0177.0000.0000.0001/',
      'http://127.1/', // short form
      'http://127.0.1/',
      'http://127.0.0.01/', // leading zero
      'http://127.0.0.1./', // trailing dot
      'http://%31%32%37.0.0.1/', // percent-encoded
      'http://１２７.０.０.１/', // fullwidth digits
      'http://0/',
      'http://134744072/', // 8.8.8.8
      'http://0x08080808/',
      'http://1.2.3.0x10/',
    ]) {
      assert.match(refused(url), /^invalid_url: .*(dotted-decimal|percent-encoded)/, url);
      assert.equal(checkWebhookUrl(url, DEV).ok, false, `${url} with allowPrivateTargets`);
    }
  });

  it('classifies IP literal hosts immediately', () => {
    const expectations: Array<[string, RegExp]> = [
      ['http://127.0.0.1/', /loopback/],
      ['http://127.0.0.1:8080/hook', /loopback/],
      ['http://10.0.0.5/', /private/],
      ['http://172.20.1.1/', /private/],
      ['http://192.168.1.1/', /private/],
      ['http://169.254.169.254/latest/meta-data/', /link-local/],
      ['http://100.64.1.1/', /cgnat/],
      ['http://0.0.0.0/', /unspecified/],
      ['http://255.255.255.255/', /broadcast/],
      ['http://224.0.0.1/', /multicast/],
      ['http://192.0.2.1/', /documentation/],
      ['http://198.18.0.1/', /benchmarking/],
      ['http://[::1]/', /loopback/],
      ['http://[::]/', /unspecified/],
      ['http://[::ffff:127.0.0.1]/', /loopback/],
      ['http://[::ffff:7f00:1]/', /loopback/],
      ['http://[::ffff:169.254.169.254]/', /link-local/],
      ['http://[64:ff9b::a9fe:a9fe]/', /link-local/],
      ['http://[fe80::1]/', /link-local/],
      ['http://[fd00:ec2::254]/', /unique-local/],
      ['http://[fc00::1]/', /unique-local/],
      ['http://[ff02::1]/', /multicast/],
      ['http://[2001:db8::1]/', /documentation/],
    ];
    for (const [url, reason] of expectations) {
      const message = refused(url);
      assert.match(message, /^ssrf_blocked: host is a /, url);
      assert.match(message, reason, url);
    }
  });

  it('with allowPrivateTargets lets local receivers through, but not metadata', () => {
    for (const url of ['http://127.0.0.1:3000/hook', 'http://[::1]:3000/', 'http://10.0.0.5/', 'http://localhost:3000/']) {
      assert.ok(checkWebhookUrl(url, DEV).ok, url);
    }
    assert.match(refused('http://169.254.169.254/', DEV), /link-local/);
    assert.match(refused('http://0.0.0.0/', DEV), /unspecified/);
  });

  it('leaves hostnames to the resolution-time check', () => {
    assert.ok(checkWebhookUrl('http://localhost/', STRICT).ok);
    assert.ok(checkWebhookUrl('http://internal.corp/', STRICT).ok);
  });
});

function fakeResolver(table: Record<string, LookupAddress[]>): ResolveAllAddresses & { calls: string[] } {
  const calls: string[] = [];
  const resolveAll = async (hostname: string, _options: LookupOptions): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const found = table[hostname];
    if (found === undefined) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    }
    return found;
  };
  return Object.assign(resolveAll, { calls });
}

type LookupResult = { address: string | LookupAddress[]; family: number | undefined };

function runLookup(lookup: ReturnType<typeof createCheckedLookup>, hostname: string, options: LookupOptions): Promise<LookupResult> {
  return new Promise((resolve, reject) => {
    lookup(hostname, options, (err, address, family) => (err ? reject(err) : resolve({ address, family })));
  });
}

describe('createCheckedLookup', () => {
  const resolver = fakeResolver({
    'hooks.example.com': [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }],
    'rebind.example.com': [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }],
    'metadata.example.com': [{ address: '169.254.169.254', family: 4 }],
    'mapped.example.com': [{ address: '::ffff:10.0.0.1', family: 6 }],
    'dev.example.com': [{ address: '127.0.0.1', family: 4 }],
    'empty.example.com': [],
  });

  it('returns the first checked address, or all of them when asked (autoSelectFamily)', async () => {
    const lookup = createCheckedLookup({ allowPrivateTargets: false, resolveAll: resolver });
    assert.deepEqual(await runLookup(lookup, 'hooks.example.com', {}), { address: '93.184.216.34', family: 4 });
    assert.deepEqual(await runLookup(lookup, 'hooks.example.com', { all: true }), {
      address: [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }],
      family: undefined,
    });
  });

  it('refuses the host if ANY resolved address is not public', async () => {
    const lookup = createCheckedLookup({ allowPrivateTargets: false, resolveAll: resolver });
    await assert.rejects(runLookup(lookup, 'rebind.example.com', {}), { name: 'SsrfBlockedError', reason: 'loopback address' });
    await assert.rejects(runLookup(lookup, 'rebind.example.com', { all: true }), SsrfBlockedError);
    await assert.rejects(runLookup(lookup, 'metadata.example.com', {}), { reason: 'link-local address' });
    await assert.rejects(runLookup(lookup, 'mapped.example.com', {}), { reason: 'private address' });
  });

  it('lets private answers through only with allowPrivateTargets, metadata never', async () => {
    const lookup = createCheckedLookup({ allowPrivateTargets: true, resolveAll: resolver });
    assert.deepEqual(await runLookup(lookup, 'dev.example.com', {}), { address: '127.0.0.1', family: 4 });
    await assert.rejects(runLookup(lookup, 'metadata.example.com', {}), SsrfBlockedError);
  });

  it('checks IP literals without resolving them', async () => {
    const lookup = createCheckedLookup({ allowPrivateTargets: false, resolveAll: resolver });
    const callsBefore = resolver.calls.length;
    await assert.rejects(runLookup(lookup, '127.0.0.1', {}), SsrfBlockedError);
    await assert.rejects(runLookup(lookup, '::1', { all: true }), SsrfBlockedError);
    assert.deepEqual(await runLookup(lookup, '8.8.8.8', {}), { address: '8.8.8.8', family: 4 });
    assert.equal(resolver.calls.length, callsBefore);
  });

  it('passes resolver failures through and treats an empty answer as not found', async () => {
    const lookup = createCheckedLookup({ allowPrivateTargets: false, resolveAll: resolver });
    await assert.rejects(runLookup(lookup, 'nxdomain.example.com', {}), { code: 'ENOTFOUND' });
    await assert.rejects(runLookup(lookup, 'empty.example.com', {}), { code: 'ENOTFOUND' });
  });

  it('is isSsrfBlockedError-recognisable', async () => {
    const lookup = createCheckedLookup({ allowPrivateTargets: false, resolveAll: resolver });
    const err = await runLookup(lookup, 'metadata.example.com', {}).catch((e: unknown) => e);
    assert.equal(isSsrfBlockedError(err), true);
    assert.equal(isSsrfBlockedError(new Error('ECONNREFUSED')), false);
  });
});

describe('createCheckedLookup as net.connect lookup, with the system resolver', () => {
  let server: Server;
  let port: number;
  const accepted: Socket[] = [];

  before(async () => {
    server = createServer((socket) => {
      accepted.push(socket);
      socket.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const connectVia = (allowPrivateTargets: boolean): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: 'localhost', port, family: 4, lookup: createCheckedLookup({ allowPrivateTargets }) });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });

  it('refuses localhost before any connection is made', async () => {
    const acceptedBefore = accepted.length;
    await assert.rejects(connectVia(false), SsrfBlockedError);
    assert.equal(accepted.length, acceptedBefore);
  });

  it('connects to the checked address when private targets are allowed', async () => {
    const socket = await connectVia(true);
    assert.equal(socket.remoteAddress, '127.0.0.1');
    socket.destroy();
  });
});
