import { lookup } from 'node:dns/promises';
import { createServer, connect, isIP, type Server, type Socket } from 'node:net';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EgressPolicy } from './egress-policy.js';

/**
 * A local HTTP forward proxy that enforces an outbound allow-list (ToolHive's permission profile
 * `network.outbound.allow_host` / `allow_port`) for a process that has no network of its own: it
 * listens on a Unix socket the sandbox binds in, answers `CONNECT host:port` (HTTPS and any TCP) and
 * plain `GET http://host/…` requests, and connects only to allowed destinations whose addresses the
 * server's egress policy also allows (so an allow-list can never reach loopback, private ranges or a
 * metadata service unless the operator allowed them with `--egress-allow`). Everything else is a 403.
 * Reusable: anything sandboxed that needs a narrowed network can be given one.
 */

export interface EgressRules {
  /** Hosts: `example.com` (exactly), `.example.com` or `*.example.com` (its subdomains), IP literals. Empty: any host. */
  allowHost: string[];
  /** Ports; empty: any port. */
  allowPort: number[];
}

export interface RunningEgressProxy {
  /** The Unix socket to bind into the sandbox. */
  socketPath: string;
  close(): Promise<void>;
}

const normal = (h: string): string => h.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');

/** Whether `host:port` passes the rules (before any name is resolved). */
export const allowedByRules = (rules: EgressRules, host: string, port: number): boolean => {
  if (rules.allowPort.length > 0 && !rules.allowPort.includes(port)) return false;
  if (rules.allowHost.length === 0) return true;
  const h = normal(host);
  return rules.allowHost.some((entry) => {
    const e = normal(entry);
    if (e.startsWith('*.')) return h.endsWith(e.slice(1));
    if (e.startsWith('.')) return h.endsWith(e) || h === e.slice(1);
    return h === e;
  });
};

const parseTarget = (target: string): { host: string; port: number } | undefined => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(target);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1], port } : undefined;
};

export class EgressProxy {
  constructor(private readonly policy: EgressPolicy) {}

  /** Starts a proxy for one sandbox: its own socket in a fresh private folder. */
  async start(rules: EgressRules, log: (line: string) => void = () => undefined): Promise<RunningEgressProxy> {
    const dir = mkdtempSync(join(tmpdir(), 'agentry-egress-'));
    const socketPath = join(dir, 'egress.sock');
    const open = new Set<Socket>();
    const server: Server = createServer((client) => {
      open.add(client);
      client.on('close', () => open.delete(client));
      client.on('error', () => undefined);
      this.handle(client, rules, log);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    // The sandbox's user is mapped to nobody: it must be able to connect.
    chmodSync(dir, 0o755);
    chmodSync(socketPath, 0o777);
    return {
      socketPath,
      close: async () => {
        for (const s of open) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  /** Resolves and checks a destination: the address to connect to, or why not. */
  private async resolve(host: string, port: number, rules: EgressRules): Promise<{ ip?: string; refused?: string }> {
    if (!allowedByRules(rules, host, port)) return { refused: 'not in the allow-list' };
    const bare = normal(host);
    const addresses = isIP(bare) ? [bare] : (await lookup(bare, { all: true, verbatim: true }).catch(() => [])).map((a) => a.address);
    if (addresses.length === 0) return { refused: 'unknown host' };
    const ok = addresses.find((ip) => this.policy.refusal({ host: bare, ip, port }) === undefined);
    return ok ? { ip: ok } : { refused: 'refused by the egress policy' };
  }

  private handle(client: Socket, rules: EgressRules, log: (line: string) => void): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > 16 * 1024) client.end('HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n');
        return;
      }
      client.off('data', onData);
      client.pause();
      const headerText = head.subarray(0, end).toString('latin1');
      const rest = head.subarray(end + 4);
      const [requestLine, ...headerLines] = headerText.split('\r\n');
      const [method, target] = requestLine.split(' ');
      let dest: { host: string; port: number } | undefined;
      let forward: Buffer | undefined;
      if (method === 'CONNECT') {
        dest = parseTarget(target ?? '');
      } else {
        try {
          const u = new URL(target ?? '');
          if (u.protocol === 'http:') {
            dest = { host: u.hostname, port: Number(u.port) || 80 };
            const headers = headerLines.filter((l) => !/^(proxy-connection|proxy-authorization):/i.test(l));
            forward = Buffer.concat([Buffer.from(`${method} ${u.pathname}${u.search} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), rest]);
          }
        } catch {
          dest = undefined;
        }
      }
      if (!dest) {
        client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      const { host, port } = dest;
      void this.resolve(host, port, rules).then(({ ip, refused }) => {
        if (!ip) {
          log(`[egress] refused ${host}:${port}: ${refused}`);
          client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\n${host}:${port} is not allowed by this workload's network profile (${refused})\n`);
          return;
        }
        const upstream = connect({ host: ip, port, timeout: 10_000 });
        upstream.on('timeout', () => upstream.destroy());
        upstream.on('error', () => {
          if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
        });
        upstream.on('connect', () => {
          upstream.setTimeout(0);
          log(`[egress] ${method === 'CONNECT' ? 'tunnel' : method} ${host}:${port}`);
          if (forward) upstream.write(forward);
          else {
            client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
            if (rest.length > 0) upstream.write(rest);
          }
          client.pipe(upstream).pipe(client);
          client.resume();
        });
        client.on('close', () => upstream.destroy());
      });
    };
    client.on('data', onData);
  }
}
