import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from './cli-error.js';
import { EXIT, exitCodeForStatus } from './exit-codes.js';
import { networkReason } from '../adapters/oci-client/oci-client-error.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type QueryValue = string | number | boolean | undefined;

export interface SendOptions {
  headers?: Record<string, string>;
  body?: RequestInit['body'];
  /** Needed by fetch when `body` is a stream. */
  duplex?: 'half';
  /** What the request is about (`@alice/helper`), added to a 404's message. */
  subject?: string;
}

export interface JsonOptions {
  /** Sent as JSON. */
  body?: unknown;
  query?: Record<string, QueryValue>;
  /** What the request is about (`@alice/helper`), added to a 404's message. */
  subject?: string;
}

/** The server's error answer: `{"error": "...", "details": ["...", ...]}`. */
interface ErrorBody {
  error?: unknown;
  details?: unknown;
}

/**
 * The one way the CLI talks to a registry: base URL, token, JSON in and out, and every failure
 * (unreachable server, HTTP error answer) turned into a CliError with one clear line.
 */
export class RegistryClient {
  constructor(
    /** Normalized: http(s), no trailing slash. */
    readonly registry: string,
    readonly token?: string,
  ) {}

  /** `/whoami` → `<registry>/api/v1/whoami`, with the query's defined values appended. */
  apiUrl(path: string, query: Record<string, QueryValue> = {}): string {
    const url = new URL(`${this.registry}/api/v1${path}`);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /** A JSON request to the native API; answers the parsed JSON body. */
  async json<T>(method: HttpMethod, path: string, opts: JsonOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await this.send(method, this.apiUrl(path, opts.query), { headers, body: payload, subject: opts.subject });
    return (await readJson(res)) as T;
  }

  /**
   * Sends a request to `url` (absolute, or relative to the registry). The token goes only to the
   * registry's own origin. Throws a CliError when the server cannot be reached or answers an error.
   */
  async send(method: HttpMethod, url: string, opts: SendOptions = {}, raw = false): Promise<Response> {
    const target = new URL(url, `${this.registry}/`);
    const headers: Record<string, string> = { ...opts.headers };
    if (this.token && target.origin === new URL(this.registry).origin) headers.authorization = `Bearer ${this.token}`;
    const init: RequestInit & { duplex?: 'half' } = { method, headers, body: opts.body, redirect: 'follow' };
    if (opts.duplex) init.duplex = opts.duplex;
    let res: Response;
    try {
      res = await fetch(target, init);
    } catch (e) {
      const reason = networkReason(e);
      const error = new CliError(
        UNREACHABLE.has(reason) ? `cannot reach the registry at ${this.registry} (${reason})` : `the connection to the registry at ${this.registry} failed (${reason})`,
        [],
        EXIT.network,
      );
      throw raw ? new LostReply(reason, error) : error;
    }
    if (raw) {
      // The body of a success is part of the reply: a connection reset while reading it is a lost reply too.
      if (!res.ok) return res;
      try {
        const text = await res.text();
        return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
      } catch (e) {
        const reason = networkReason(e);
        throw new LostReply(reason, new CliError(`the connection to the registry at ${this.registry} failed (${reason})`));
      }
    }
    if (!res.ok) throw await this.errorFrom(res, opts.subject);
    return res;
  }

  /**
   * A publish: sent with a fresh random `Idempotency-Key`, and sent again with the same key and the
   * same bytes (`build` makes the request anew each time) when the reply is lost — the connection
   * failed or was reset, or a proxy answered 502, 503 or 504 — after 0.5 s, 1 s, 2 s…, up to
   * `attempts` times in all (AGENTRY_PUBLISH_ATTEMPTS, default 4). The server answers a retry of a
   * publish that did happen with its original success, so a retry never turns into a 409.
   * Answers the parsed JSON body of the success.
   */
  async publishIdempotently(method: HttpMethod, url: string, build: () => SendOptions, opts: { attempts?: number; baseDelayMs?: number; onRetry?: (reason: string) => void } = {}): Promise<unknown> {
    const key = randomUUID();
    const attempts = opts.attempts ?? publishAttempts();
    const base = opts.baseDelayMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      const request = build();
      let reason: string;
      try {
        const res = await this.send(method, url, { ...request, headers: { ...request.headers, 'idempotency-key': key } }, true);
        if (!RETRY_STATUS.has(res.status)) {
          if (!res.ok) throw await this.errorFrom(res, request.subject);
          return await readJson(res);
        }
        reason = `HTTP ${res.status}`;
        await res.body?.cancel().catch(() => undefined);
        if (attempt >= attempts) throw await this.errorFrom(res, request.subject);
      } catch (e) {
        if (!(e instanceof LostReply)) throw e;
        if (attempt >= attempts) throw e.error;
        reason = e.reason;
      }
      opts.onRetry?.(reason);
      await sleep(base * 2 ** (attempt - 1));
    }
  }

  private async errorFrom(res: Response, subject?: string): Promise<CliError> {
    let text = '';
    try {
      text = await res.text();
    } catch {
      /* the body could not be read; fall back to the status */
    }
    let body: ErrorBody = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) body = parsed as ErrorBody;
    } catch {
      /* not JSON */
    }
    // The managed-agents door (/v1/…) answers `{"type":"error","error":{"type","message"}}`.
    const nested = typeof body.error === 'object' && body.error !== null && typeof (body.error as { message?: unknown }).message === 'string' ? (body.error as { message: string }).message : undefined;
    let message = typeof body.error === 'string' && body.error ? body.error : (nested ?? `the registry answered ${res.status} ${res.statusText}`.trim());
    const details = Array.isArray(body.details) ? body.details.filter((d): d is string => typeof d === 'string') : [];
    if (res.status === 404 && subject) message = `${message} (${subject})`;
    if (res.status === 401) {
      message = this.token ? `${message} (run 'agentry login' again or pass another --token)` : `not logged in to ${this.registry}: run 'agentry login' or pass --token`;
    }
    return new CliError(message, details, exitCodeForStatus(res.status));
  }
}

/** The JSON body of a response, or a CliError when it is not JSON. */
export const readJson = async (res: Response): Promise<unknown> => {
  const text = await res.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`the registry answered something that is not JSON (HTTP ${res.status})`);
  }
};

/** A request whose reply never arrived: safe to send again with the same Idempotency-Key. */
class LostReply extends Error {
  constructor(
    readonly reason: string,
    readonly error: CliError,
  ) {
    super(error.message);
  }
}

/** Answers that say a proxy or the server lost the request, not that the server refused it. */
const RETRY_STATUS = new Set([502, 503, 504]);

const publishAttempts = (): number => {
  const n = Number(process.env.AGENTRY_PUBLISH_ATTEMPTS);
  return Number.isInteger(n) && n >= 1 && n <= 10 ? n : 4;
};

/** Reasons that mean no connection was made at all. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
