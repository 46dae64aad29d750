import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowList, EgressPolicy, embeddedIPv4, refusedKind, UNREACHABLE, type Resolver } from '../../src/adapters/egress/index.js';

describe('egress address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'metadata'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['::127.0.0.1', 'reserved'],
    ['not-an-ip', 'reserved'],
  ])('refuses %s as %s', (ip, kind) => {
    expect(refusedKind(ip)).toBe(kind);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:808:808::'])('lets the public address %s through', (ip) => {
    expect(refusedKind(ip)).toBeUndefined();
  });

  it('reads the IPv4 address embedded in mapped, NAT64 and 6to4 forms', () => {
    expect(embeddedIPv4('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(embeddedIPv4('64:ff9b::102:304')).toBe('1.2.3.4');
    expect(embeddedIPv4('2002:102:304::1')).toBe('1.2.3.4');
    expect(embeddedIPv4('2001:db8::1')).toBeUndefined();
  });
});

describe('egress allow-list', () => {
  const at = (host: string, ip: string, port = 80) => ({ host, ip, port });

  it('allows by CIDR, IPv4 and IPv6, mapped forms included', () => {
    const a = new AllowList('10.0.0.0/8, fd00::/8');
    expect(a.allows(at('x', '10.1.2.3'))).toBe(true);
    expect(a.allows(at('x', '::ffff:10.1.2.3'))).toBe(true);
    expect(a.allows(at('x', 'fd12::1'))).toBe(true);
    expect(a.allows(at('x', '11.0.0.1'))).toBe(false);
    expect(a.allows(at('x', '127.0.0.1'))).toBe(false);
  });

  it('allows an address with or without a port', () => {
    const a = new AllowList(['127.0.0.1:5000', '[::1]:6000', '192.168.0.7']);
    expect(a.allows(at('127.0.0.1', '127.0.0.1', 5000))).toBe(true);
    expect(a.allows(at('127.0.0.1', '127.0.0.1', 5001))).toBe(false);
    expect(a.allows(at('::1', '::1', 6000))).toBe(true);
    expect(a.allows(at('::1', '0:0:0:0:0:0:0:1', 6000))).toBe(true);
    expect(a.allows(at('::1', '::1', 80))).toBe(false);
    expect(a.allows(at('h', '192.168.0.7', 1))).toBe(true);
  });

  it('allows a host name, with a port, and every name under a wildcard domain', () => {
    const a = new AllowList('Vault.Internal:8200,registry.internal,*.corp.example');
    expect(a.allows(at('vault.internal', '10.0.0.5', 8200))).toBe(true);
    expect(a.allows(at('vault.internal', '10.0.0.5', 8201))).toBe(false);
    expect(a.allows(at('registry.internal.', '10.0.0.6', 443))).toBe(true);
    expect(a.allows(at('a.b.corp.example', '10.0.0.7', 443))).toBe(true);
    expect(a.allows(at('corp.example', '10.0.0.7', 443))).toBe(false);
    expect(a.allows(at('other.internal', '10.0.0.5', 8200))).toBe(false);
  });

  it('allows everything with *', () => {
    expect(new AllowList('*').allows(at('x', '169.254.169.254'))).toBe(true);
  });

  it.each(['10.0.0.0/33', 'host:0', 'host:70000', 'host:abc', 'bad host', '[not-v6]:1', 'http://x'])('rejects the malformed entry %s', (entry) => {
    expect(() => new AllowList(entry)).toThrow(/egress allow-list entry/);
  });
});

describe('egress policy at connect time', () => {
  let server: Server;
  let port: number;
  let closed: number;
  /** Maps test names the way DNS would, without touching /etc/hosts. */
  const resolve: Resolver = (name, cb) => {
    if (name === 'rebinding.test') return cb(null, [{ address: '127.0.0.1', family: 4 }]);
    if (name === 'mixed.test')
      return cb(null, [
        { address: '10.0.0.1', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]);
    if (name === 'loop.test') return cb(null, [{ address: '127.0.0.1', family: 4 }]);
    cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }), []);
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/redirect-meta') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (req.url === '/redirect-self') return void res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end();
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closed = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const message = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
      return 'answered';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('refuses loopback by IP and by a name resolving to it, with one message', async () => {
    const policy = new EgressPolicy({ resolve });
    expect(await message(policy.fetch(`http://127.0.0.1:${port}/ok`))).toBe(UNREACHABLE);
    expect(await message(policy.fetch(`http://[::1]:${port}/ok`))).toBe(UNREACHABLE);
    expect(await message(policy.fetch(`http://[::ffff:127.0.0.1]:${port}/ok`))).toBe(UNREACHABLE);
    // Other spellings of 127.0.0.1 that URL parsing turns into it.
    expect(await message(policy.fetch(`http://0x7f000001:${port}/ok`))).toBe(UNREACHABLE);
    expect(await message(policy.fetch(`http://2130706433:${port}/ok`))).toBe(UNREACHABLE);
    expect(await message(policy.fetch(`http://127.1:${port}/ok`))).toBe(UNREACHABLE);
    expect(await message(policy.fetch(`http://0.0.0.0:${port}/ok`))).toBe(UNREACHABLE);
    expect(await message(policy.fetch(`http://rebinding.test:${port}/ok`))).toBe(UNREACHABLE);
    expect(await message(policy.fetch(`http://nowhere.test:${port}/ok`))).toBe(UNREACHABLE);
    await policy.close();
  });

  it('connects to an allowed address, and answers a closed port with the same message as a refusal', async () => {
    const policy = new EgressPolicy({ resolve, allow: '127.0.0.0/8' });
    const res = await policy.fetch(`http://loop.test:${port}/ok`);
    expect(await res.text()).toBe('ok');
    expect(await message(policy.fetch(`http://127.0.0.1:${closed}/`))).toBe(UNREACHABLE);
    await policy.close();
  });

  it('allows by host:port only on that port', async () => {
    const policy = new EgressPolicy({ resolve, allow: `loop.test:${port}` });
    expect(await (await policy.fetch(`http://loop.test:${port}/ok`)).text()).toBe('ok');
    expect(await message(policy.fetch(`http://127.0.0.1:${port}/ok`))).toBe(UNREACHABLE);
    expect(await message(policy.fetch(`http://loop.test:${closed}/ok`))).toBe(UNREACHABLE);
    await policy.close();
  });

  it('connects only to the allowed addresses of a name resolving to several', async () => {
    const policy = new EgressPolicy({ resolve, allow: '127.0.0.1' });
    expect(await (await policy.fetch(`http://mixed.test:${port}/ok`)).text()).toBe('ok');
    await policy.close();
  });

  it('checks every redirect hop: never to a refused address', async () => {
    const policy = new EgressPolicy({ resolve, allow: `127.0.0.1:${port}` });
    expect(await message(policy.fetch(`http://127.0.0.1:${port}/redirect-meta`))).toBe(UNREACHABLE);
    const res = await policy.fetch(`http://127.0.0.1:${port}/redirect-self`);
    expect(await res.text()).toBe('ok');
    await policy.close();
  });
});

describe('egress allow-list configuration', () => {
  it('reads --egress-allow before AGENTRY_EGRESS_ALLOW, and stops at start on a malformed entry', async () => {
    const { resolveConfig } = await import('../../src/app/config.js');
    expect(resolveConfig({}, { AGENTRY_EGRESS_ALLOW: ' vault.internal:8200 , 10.0.0.0/8,' }).egressAllow).toEqual(['vault.internal:8200', '10.0.0.0/8']);
    expect(resolveConfig({ egressAllow: '*' }, { AGENTRY_EGRESS_ALLOW: '10.0.0.0/8' }).egressAllow).toEqual(['*']);
    expect(resolveConfig({}, {}).egressAllow).toEqual([]);
    expect(() => resolveConfig({ egressAllow: '10.0.0.0/40' }, {})).toThrow(/egress allow-list entry '10.0.0.0\/40'/);
  });
});
