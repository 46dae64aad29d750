import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { Agent, buildConnector, fetch as UndiciFetch } from 'undici';
import { bareAddress, refusedKind, type RefusedKind } from './address-ranges.js';
import { AllowList, type Destination } from './allow-list.js';

/** The one message every refused or failed outbound call ends in, whatever the cause: nothing to scan ports with. */
export const UNREACHABLE = 'the upstream could not be reached';

/**
 * A refused or failed outbound call. Its message never says which (see {@link UNREACHABLE});
 * `refused` does, for a caller that may tell its own user (the address, not the network's state,
 * decides it: a refusal answers no question a port scan would ask).
 */
export class EgressError extends Error {
  override readonly name = 'EgressError';
  constructor(readonly refused = false) {
    super(UNREACHABLE);
  }
}

export const isEgressError = (e: unknown): e is EgressError => e instanceof EgressError;

/** dns.lookup's shape, for a resolver of one's own (tests map names without touching /etc/hosts). */
export type Resolver = (hostname: string, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

export interface EgressOptions {
  /** Exceptions to the refused ranges: `AGENTRY_EGRESS_ALLOW` / `--egress-allow` entries. */
  allow?: string | readonly string[];
  /** Name resolution; the system resolver by default. */
  resolve?: Resolver;
  /** Milliseconds to establish a connection (default 10 s). */
  connectTimeoutMs?: number;
}

/** What the policy logs at debug: the destination and why, never a URL's path, query or headers. */
export type EgressLogger = (fields: Record<string, unknown>, message: string) => void;

const systemResolve: Resolver = (hostname, callback) => dnsLookup(hostname, { all: true, verbatim: true }, callback);

const refusedError = (): NodeJS.ErrnoException => Object.assign(new Error('refused by the egress policy'), { code: 'EGRESS_REFUSED' });

type Undici = typeof import('undici');
type Connector = ReturnType<typeof buildConnector>;
type ConnectOptions = Parameters<Connector>[0];
type ConnectCallback = Parameters<Connector>[1];

/**
 * Every outbound request the server makes goes through here. By default it refuses this host, the
 * networks behind it and the metadata services (see `address-ranges.ts`), IPv4-mapped forms included;
 * the allow-list makes exceptions. The check runs on the address actually connected to, inside the
 * connection's own name lookup, so a name cannot resolve to a public address when checked and to a
 * private one when used; every redirect hop opens its connection through the same check.
 */
export class EgressPolicy {
  readonly allowList: AllowList;
  private readonly resolve: Resolver;
  private readonly connectors = new Map<number, Connector>();
  /** undici is loaded on the first outbound request, so a server that never calls out does not pay for it at start. */
  private client: Promise<{ undici: Undici; agent: Agent }> | undefined;
  private readonly connectTimeoutMs: number;
  private log: EgressLogger = () => undefined;

  constructor(opts: EgressOptions = {}) {
    this.allowList = new AllowList(opts.allow ?? []);
    this.resolve = opts.resolve ?? systemResolve;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  }

  /** Where debug lines go (the server's logger, once it has one). */
  useLogger(log: EgressLogger): void {
    this.log = log;
  }

  /** Why a connection to this destination is refused, or undefined when it may go. */
  refusal(d: Destination): RefusedKind | undefined {
    const kind = refusedKind(d.ip);
    if (kind === undefined || this.allowList.allows(d)) return undefined;
    return kind;
  }

  /**
   * Why a request to `url` would be refused, when its host is an address (or `localhost`): for a
   * check when a URL is configured (a webhook's); a name is checked on what it resolves to, when used.
   */
  urlRefusal(url: URL): RefusedKind | undefined {
    const host = bareAddress(url.hostname);
    const ip = host.toLowerCase() === 'localhost' ? '127.0.0.1' : isIP(host) !== 0 ? host : undefined;
    if (ip === undefined) return undefined;
    return this.refusal({ host, ip, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) });
  }

  /**
   * `fetch` through the policy. A refused address, a closed port, an unknown name and any other
   * failure to get an answer all throw the same {@link EgressError}; a timeout or an abort the
   * caller asked for is passed on as it is.
   */
  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    try {
      const { undici, agent } = await this.loaded();
      return (await undici.fetch(input as Parameters<typeof UndiciFetch>[0], { ...(init as Parameters<typeof UndiciFetch>[1]), dispatcher: agent })) as unknown as Response;
    } catch (e) {
      const name = e instanceof Error ? e.name : '';
      if (name === 'TimeoutError' || name === 'AbortError') throw e;
      const reason = reasonOf(e);
      this.log({ destination: destinationOf(input), reason }, 'outbound request failed');
      throw new EgressError(reason === 'EGRESS_REFUSED');
    }
  };

  /** Closes pooled connections. */
  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await (await c).agent.close();
  }

  private loaded(): Promise<{ undici: Undici; agent: Agent }> {
    this.client ??= import('undici').then((undici) => ({
      undici,
      agent: new undici.Agent({ connect: (o: ConnectOptions, cb: ConnectCallback) => this.connect(o, cb, undici) }),
    }));
    return this.client;
  }

  private connect(o: ConnectOptions, cb: ConnectCallback, undici: Undici): void {
    const port = Number(o.port) || (o.protocol === 'https:' ? 443 : 80);
    const host = bareAddress(o.hostname);
    if (isIP(host) !== 0) {
      const why = this.refusal({ host, ip: host, port });
      if (why) {
        this.log({ host, port, refused: why }, 'egress policy refused an address');
        cb(refusedError(), null);
        return;
      }
    }
    this.connectorFor(port, undici)(o, cb);
  }

  private connectorFor(port: number, undici: Undici): Connector {
    let c = this.connectors.get(port);
    if (!c) {
      c = undici.buildConnector({ lookup: this.lookupFor(port), timeout: this.connectTimeoutMs } as buildConnector.BuildOptions);
      this.connectors.set(port, c);
    }
    return c;
  }

  /**
   * The name lookup of one connection: resolves, drops every refused address, connects to what is left.
   * Public for raw TCP connections made under the policy (the sandbox egress proxy's `net.connect`);
   * an IP literal never reaches a lookup, so such callers check {@link refusal} on it themselves.
   */
  lookupFor(port: number): LookupFunction {
    return ((hostname: string, options: { all?: boolean }, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
      this.resolve(hostname, (err, addresses) => {
        if (err) return callback(err, '', 0);
        const ok = addresses.filter((a) => {
          const why = this.refusal({ host: hostname, ip: a.address, port });
          if (why) this.log({ host: hostname, port, address: a.address, refused: why }, 'egress policy refused an address');
          return !why;
        });
        if (ok.length === 0) return callback(refusedError(), '', 0);
        if (options.all) return callback(null, ok);
        callback(null, ok[0].address, ok[0].family);
      });
    }) as LookupFunction;
  }
}

const destinationOf = (input: unknown): string => {
  try {
    const u = new URL(input instanceof Request ? input.url : String(input));
    return u.host;
  } catch {
    return 'unknown';
  }
};

/** ECONNREFUSED, ENOTFOUND, EGRESS_REFUSED… for the debug log only. */
const reasonOf = (e: unknown): string => {
  const cause = e instanceof Error ? (e.cause as unknown) : undefined;
  for (const c of [cause, e]) {
    if (typeof c === 'object' && c !== null && 'code' in c && typeof c.code === 'string') return c.code;
  }
  return e instanceof Error ? e.name : 'error';
};
