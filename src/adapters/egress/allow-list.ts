import { BlockList, isIP } from 'node:net';
import { bareAddress, embeddedIPv4 } from './address-ranges.js';

/** One entry of `AGENTRY_EGRESS_ALLOW` / `--egress-allow`. */
type AllowEntry = { type: 'all' } | { type: 'cidr'; list: BlockList; text: string } | { type: 'ip'; ip: string; port?: number } | { type: 'host'; host: string; wildcard: boolean; port?: number };

/** What a connection is about to reach: the name asked for, the address it resolved to, the port. */
export interface Destination {
  host: string;
  ip: string;
  port: number;
}

const familyOf = (ip: string): 'ipv4' | 'ipv6' => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');
const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/;

const portOf = (text: string, entry: string): number => {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new Error(`egress allow-list entry '${entry}': '${text}' is not a port (1-65535)`);
  return n;
};

const parseEntry = (raw: string): AllowEntry => {
  const entry = raw.trim().toLowerCase();
  if (entry === '*') return { type: 'all' };
  const cidr = /^\[?([0-9a-f:.]+)\]?\/(\d{1,3})$/.exec(entry);
  if (cidr) {
    const [, net, bits] = cidr;
    const family = isIP(net);
    const prefix = Number(bits);
    if (family === 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`egress allow-list entry '${raw.trim()}' is not a CIDR block`);
    const list = new BlockList();
    list.addSubnet(net, prefix, familyOf(net));
    return { type: 'cidr', list, text: entry };
  }
  const bracketed = /^\[([0-9a-f:.]+(?:%[^\]]+)?)\](?::(.*))?$/.exec(entry);
  if (bracketed) {
    if (isIP(bareAddress(bracketed[1])) !== 6) throw new Error(`egress allow-list entry '${raw.trim()}' is not an IPv6 address`);
    return { type: 'ip', ip: bareAddress(bracketed[1]), port: bracketed[2] === undefined ? undefined : portOf(bracketed[2], raw.trim()) };
  }
  if (isIP(entry) === 6) return { type: 'ip', ip: entry };
  const colon = entry.lastIndexOf(':');
  const name = colon === -1 ? entry : entry.slice(0, colon);
  const port = colon === -1 ? undefined : portOf(entry.slice(colon + 1), raw.trim());
  if (isIP(name) === 4) return { type: 'ip', ip: name, port };
  if (!HOST.test(name) || name.length > 253) throw new Error(`egress allow-list entry '${raw.trim()}' is not a host, host:port, IP address or CIDR block`);
  const wildcard = name.startsWith('*.');
  return { type: 'host', host: (wildcard ? name.slice(1) : name).replace(/\.$/, ''), wildcard, port };
};

/** The same address in one spelling: IPv4-mapped IPv6 as IPv4, IPv6 expanded through BlockList's comparison. */
const sameIp = (a: string, b: string): boolean => {
  const norm = (ip: string) => embeddedIPv4(ip) ?? ip;
  const x = norm(a);
  const y = norm(b);
  if (isIP(x) !== isIP(y)) return false;
  const list = new BlockList();
  list.addAddress(x, familyOf(x));
  return list.check(y, familyOf(y));
};

/**
 * The operator's exceptions to the refused ranges: `*` (everything), CIDR blocks (`10.0.0.0/8`,
 * `fd00::/8`), IP addresses with or without a port (`127.0.0.1`, `127.0.0.1:5000`, `::1`,
 * `[::1]:5000`), host names with or without a port (`registry.internal`, `vault.internal:8200`), and
 * `*.example.internal` for every name under a domain. A host entry allows whatever the name resolves
 * to; an address or block allows that address whatever name led to it.
 */
export class AllowList {
  private readonly entries: AllowEntry[];

  constructor(spec: string | readonly string[] = []) {
    const parts = (typeof spec === 'string' ? [spec] : spec)
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    this.entries = parts.map(parseEntry);
  }

  get allowsAll(): boolean {
    return this.entries.some((e) => e.type === 'all');
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  allows(d: Destination): boolean {
    const host = bareAddress(d.host).toLowerCase().replace(/\.$/, '');
    const ip = bareAddress(d.ip);
    return this.entries.some((e) => {
      switch (e.type) {
        case 'all':
          return true;
        case 'cidr': {
          const v4 = embeddedIPv4(ip);
          return (v4 !== undefined && e.list.check(v4, 'ipv4')) || e.list.check(ip, familyOf(ip));
        }
        case 'ip':
          return (e.port === undefined || e.port === d.port) && sameIp(e.ip, ip);
        case 'host':
          return (e.port === undefined || e.port === d.port) && (e.wildcard ? host.endsWith(e.host) : host === e.host);
      }
    });
  }
}
