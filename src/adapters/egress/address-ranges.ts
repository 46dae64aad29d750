import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Why an address is refused by default: the kind of range it falls in. */
export type RefusedKind = 'unspecified' | 'loopback' | 'private' | 'shared' | 'link-local' | 'metadata' | 'multicast' | 'reserved';

interface Range {
  kind: RefusedKind;
  net: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Addresses the server never calls unless the allow-list names them: this host, the networks behind
 * it and the cloud metadata services. Checked before the public ranges, most specific first, so
 * 169.254.169.254 reads as `metadata` rather than `link-local`.
 */
const RANGES: readonly Range[] = [
  // Cloud metadata services: AWS/GCP/Azure/OpenStack, AWS over IPv6, Alibaba, Oracle.
  { kind: 'metadata', net: '169.254.169.254', prefix: 32, family: 'ipv4' },
  { kind: 'metadata', net: 'fd00:ec2::254', prefix: 128, family: 'ipv6' },
  { kind: 'metadata', net: '100.100.100.200', prefix: 32, family: 'ipv4' },
  { kind: 'metadata', net: '192.0.0.192', prefix: 32, family: 'ipv4' },
  { kind: 'unspecified', net: '0.0.0.0', prefix: 8, family: 'ipv4' },
  { kind: 'loopback', net: '127.0.0.0', prefix: 8, family: 'ipv4' },
  { kind: 'private', net: '10.0.0.0', prefix: 8, family: 'ipv4' },
  { kind: 'private', net: '172.16.0.0', prefix: 12, family: 'ipv4' },
  { kind: 'private', net: '192.168.0.0', prefix: 16, family: 'ipv4' },
  { kind: 'shared', net: '100.64.0.0', prefix: 10, family: 'ipv4' },
  { kind: 'link-local', net: '169.254.0.0', prefix: 16, family: 'ipv4' },
  { kind: 'reserved', net: '192.0.0.0', prefix: 24, family: 'ipv4' },
  { kind: 'reserved', net: '198.18.0.0', prefix: 15, family: 'ipv4' },
  { kind: 'multicast', net: '224.0.0.0', prefix: 4, family: 'ipv4' },
  // 240/4 is reserved and holds the limited broadcast address 255.255.255.255.
  { kind: 'reserved', net: '240.0.0.0', prefix: 4, family: 'ipv4' },
  { kind: 'unspecified', net: '::', prefix: 128, family: 'ipv6' },
  { kind: 'loopback', net: '::1', prefix: 128, family: 'ipv6' },
  // The deprecated IPv4-compatible form ::a.b.c.d.
  { kind: 'reserved', net: '::', prefix: 96, family: 'ipv6' },
  { kind: 'reserved', net: '100::', prefix: 64, family: 'ipv6' },
  { kind: 'private', net: 'fc00::', prefix: 7, family: 'ipv6' },
  { kind: 'link-local', net: 'fe80::', prefix: 10, family: 'ipv6' },
  { kind: 'private', net: 'fec0::', prefix: 10, family: 'ipv6' },
  { kind: 'multicast', net: 'ff00::', prefix: 8, family: 'ipv6' },
];

const LISTS = RANGES.map((r) => {
  const list = new BlockList();
  list.addSubnet(r.net, r.prefix, r.family);
  return { kind: r.kind, list, family: r.family };
});

/** `[::1]` → `::1`; an IPv6 zone (`fe80::1%eth0`) is dropped. */
export const bareAddress = (ip: string): string => ip.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');

const v4FromBits = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/** The 8 groups of an IPv6 address as numbers (a trailing dotted quad is two groups). */
const groupsOf = (ip: string): number[] | undefined => {
  let text = ip.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number);
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const fill = text.includes('::') ? 8 - h.length - t.length : 0;
  const groups = [...h, ...Array<string>(fill).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
};

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one: IPv4-mapped (`::ffff:a.b.c.d`),
 * NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`). Each is a way to reach the IPv4 address,
 * so each is judged as that address.
 */
export const embeddedIPv4 = (ip: string): string | undefined => {
  const g = groupsOf(ip);
  if (!g) return undefined;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return v4FromBits(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4FromBits(g[6], g[7]);
  if (g[0] === 0x2002) return v4FromBits(g[1], g[2]);
  return undefined;
};

/** The kind of refused range an IP address falls in, or undefined for a public address. Not an IP: `reserved`. */
export const refusedKind = (address: string): RefusedKind | undefined => {
  const ip = bareAddress(address);
  if (isIPv6(ip)) {
    const v4 = embeddedIPv4(ip);
    if (v4 !== undefined) return refusedKind(v4);
    return LISTS.find((l) => l.family === 'ipv6' && l.list.check(ip, 'ipv6'))?.kind;
  }
  if (isIPv4(ip)) return LISTS.find((l) => l.family === 'ipv4' && l.list.check(ip, 'ipv4'))?.kind;
  return 'reserved';
};
