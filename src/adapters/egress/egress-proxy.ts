import { timingSafeEqual } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { bareAddress } from './address-ranges.js';
import type { AllowList } from './allow-list.js';
import type { EgressPolicy } from './egress-policy.js';

/**
 * A small HTTP proxy on a unix socket: how a sandboxed process with no network of its own reaches the
 * hosts its profile allows, and only those (the shape of ToolHive's egress proxy and of Anthropic's
 * sandbox-runtime, without a container engine). The sandbox sees only the socket, bind-mounted; a
 * bridge inside it (see {@link EGRESS_BRIDGE_SCRIPT}) listens on the sandbox's own loopback so that
 * `HTTP_PROXY` / `HTTPS_PROXY` clients (curl, pip, npm, git) work unchanged.
 *
 * Every request is checked twice: the host (as the client named it, with its port) against the
 * profile's allow-list, then the address it resolves to against the server's egress policy (this host,
 * private networks and metadata services stay refused unless the operator's `--egress-allow` says
 * otherwise), on the connection actually made. `CONNECT host:port` tunnels (HTTPS and anything else)
 * and absolute-form `GET http://…` requests are served; a refusal is a 403 with a plain-text reason, a
 * failure to connect a 502.
 */
export interface EgressProxyOptions {
  /** The server's egress policy: refused ranges and the operator's exceptions. */
  policy: EgressPolicy;
  /** Hosts the sandboxed process may reach (`*` for any public host). */
  allow: AllowList;
  /** When non-empty, only these ports. */
  allowPorts?: readonly number[];
  /** The unix socket to listen on (its folder must exist); without it, a port of the system's choosing on 127.0.0.1 (see {@link EgressProxy.port}). */
  socketPath?: string;
  /**
   * `user:password` every request must present (`Proxy-Authorization: Basic …`), else 407: so that
   * other local users cannot borrow a loopback listener. Unset on a unix socket only the sandbox sees.
   */
  credentials?: string;
  /** Milliseconds to connect upstream (default 10 s). */
  connectTimeoutMs?: number;
  /** Told of every request: where it went, and why it was refused (an audit trail for the caller's log). */
  onDecision?: (decision: EgressProxyDecision) => void;
}

/**
 * One request the proxy answered: `reason` is set when it refused it. `byPolicy`: refused because of
 * where it goes (the allow-list, a port, the egress policy), which a retry cannot change; unset when
 * the destination merely could not be reached.
 */
export interface EgressProxyDecision {
  method: string;
  host: string;
  port: number;
  allowed: boolean;
  reason?: string;
  byPolicy?: boolean;
}

/** The reason of a refusal that is no decision of the policy: the destination did not answer. */
const UNREACHABLE_REASON = 'could not be reached';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** `host:port` of a CONNECT target, IPv6 in brackets; undefined when malformed. */
const parseAuthority = (authority: string | undefined): { host: string; port: number } | undefined => {
  if (!authority) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: bareAddress(m[1]).toLowerCase(), port };
};

export class EgressProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Duplex>();

  private readonly expectedAuth: Buffer | undefined;

  private constructor(private readonly opts: EgressProxyOptions) {
    this.expectedAuth = opts.credentials === undefined ? undefined : Buffer.from(`Basic ${Buffer.from(opts.credentials).toString('base64')}`);
    this.server = createServer({ requestTimeout: 0 }, (req, res) => this.forward(req, res));
    this.server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => this.tunnel(req, client, head));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  /** Starts listening on `opts.socketPath`, or on 127.0.0.1 without one. */
  static async start(opts: EgressProxyOptions): Promise<EgressProxy> {
    const proxy = new EgressProxy(opts);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      const ready = () => {
        proxy.server.off('error', reject);
        resolve();
      };
      if (opts.socketPath !== undefined) proxy.server.listen(opts.socketPath, ready);
      else proxy.server.listen(0, '127.0.0.1', ready);
    });
    return proxy;
  }

  /** The loopback port, when listening on 127.0.0.1. */
  get port(): number | undefined {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : undefined;
  }

  private decide(method: string, host: string, port: number, reason: string | undefined): void {
    const byPolicy = reason !== undefined && reason !== UNREACHABLE_REASON;
    this.opts.onDecision?.({ method, host, port, allowed: reason === undefined, ...(reason === undefined ? {} : { reason }), ...(byPolicy ? { byPolicy } : {}) });
  }

  private authorized(req: IncomingMessage): boolean {
    if (this.expectedAuth === undefined) return true;
    const given = Buffer.from(req.headers['proxy-authorization'] ?? '');
    return given.length === this.expectedAuth.length && timingSafeEqual(given, this.expectedAuth);
  }

  /** Stops listening and ends every open connection and tunnel. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Why this destination is refused before any lookup, or undefined when it may be tried. */
  private refusal(host: string, port: number): string | undefined {
    const ports = this.opts.allowPorts ?? [];
    if (ports.length > 0 && !ports.includes(port)) return `port ${port} is not allowed (allowed ports: ${ports.join(', ')})`;
    const ip = isIP(host) !== 0 ? host : '0.0.0.0';
    if (!this.opts.allow.allows({ host, ip, port })) return `${host} is not an allowed host of this sandbox`;
    if (isIP(host) !== 0 && this.opts.policy.refusal({ host, ip: host, port })) return `${host} is refused by the server's egress policy`;
    return undefined;
  }

  private connectUpstream(host: string, port: number): Socket {
    const socket = netConnect({ host, port, lookup: this.opts.policy.lookupFor(port) });
    socket.setTimeout(this.opts.connectTimeoutMs ?? 10_000, () => socket.destroy(new Error('connect timeout')));
    socket.once('connect', () => socket.setTimeout(0));
    return socket;
  }

  private tunnel(req: IncomingMessage, client: Duplex, head: Buffer): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    if (!this.authorized(req)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="agentry"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    const target = parseAuthority(req.url);
    const why = target ? this.refusal(target.host, target.port) : `malformed CONNECT target "${req.url ?? ''}"`;
    if (why || !target) {
      if (target) this.decide('CONNECT', target.host, target.port, why);
      const body = `Agentry egress proxy: ${why}\n`;
      client.end(`HTTP/1.1 ${target ? '403 Forbidden' : '400 Bad Request'}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const upstream = this.connectUpstream(target.host, target.port);
    this.sockets.add(upstream);
    upstream.once('close', () => this.sockets.delete(upstream));
    upstream.once('connect', () => {
      this.decide('CONNECT', target.host, target.port, undefined);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (upstream.connecting || !upstream.remoteAddress) {
        this.decide('CONNECT', target.host, target.port, e.code === 'EGRESS_REFUSED' ? `${target.host} is refused by the server's egress policy` : UNREACHABLE_REASON);
        const body = `Agentry egress proxy: ${target.host}:${target.port} could not be reached\n`;
        client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      } else client.destroy();
    });
    client.once('close', () => upstream.destroy());
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const refuse = (status: number, message: string) => {
      res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`Agentry egress proxy: ${message}\n`);
    };
    if (!this.authorized(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="agentry"', connection: 'close' });
      res.end();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return refuse(400, 'send absolute-form requests (http://host/path) or CONNECT');
    }
    if (url.protocol !== 'http:') return refuse(400, `${url.protocol} is not proxied this way: use CONNECT`);
    const host = bareAddress(url.hostname).toLowerCase();
    const port = Number(url.port) || 80;
    const why = this.refusal(host, port);
    this.decide(req.method ?? 'GET', host, port, why);
    if (why) return refuse(403, why);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    headers.connection = 'close';
    const upstream = httpRequest({
      host,
      port,
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers,
      lookup: this.opts.policy.lookupFor(port),
      timeout: this.opts.connectTimeoutMs ?? 10_000,
    });
    upstream.on('response', (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode ?? 502, out);
      up.pipe(res);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EGRESS_REFUSED') this.decide(req.method ?? 'GET', host, port, `${host} is refused by the server's egress policy`);
      if (!res.headersSent) refuse(502, `${host}:${port} could not be reached`);
      else res.destroy();
    });
    req.pipe(upstream);
  }
}

/**
 * The bridge a sandbox runs (with `node -e`) to reach the proxy: it listens on the sandbox's own
 * loopback (argv: socket path, port, ready file) and pipes every connection to the unix socket, then
 * creates the ready file. It knows nothing of hosts: the proxy outside decides.
 */
export const EGRESS_BRIDGE_SCRIPT = `const net = require('net'), fs = require('fs');
const [sock, port, ready] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
  c.on('close', () => u.destroy()); u.on('close', () => c.destroy());
}).listen(Number(port), '127.0.0.1', () => fs.writeFileSync(ready, ''));`;
