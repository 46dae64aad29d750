import { AgentryError, type ErrorCode } from '../../core/errors.js';

/** One entry of a registry's `{"errors":[{code,message,detail}]}` answer. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
}

/** What a failed registry call was about: named in the error message. */
export interface OciClientErrorContext {
  /** `127.0.0.1:5000` */
  registry: string;
  repository?: string;
  /** `pull manifest 1.0.0`, `push blob sha256:…`, `list tags`, … */
  operation: string;
}

/**
 * A failure talking to an OCI registry, as a core error value. Its message names the registry, the
 * repository, what was being done and the HTTP status with the registry's own error codes; it never
 * holds a credential. `httpStatus` is the registry's status (0 when no answer came).
 */
export class OciClientError extends AgentryError {
  readonly registry: string;
  readonly repository?: string;
  readonly httpStatus: number;
  readonly registryErrors: RegistryErrorEntry[];
  /** Worth another try: a 5xx, 429, or a connection that failed or was reset. */
  readonly transient: boolean;
  /** Seconds the registry asked to wait (Retry-After), if it said. */
  readonly retryAfterSeconds?: number;

  constructor(
    code: ErrorCode,
    message: string,
    ctx: OciClientErrorContext,
    extra: { httpStatus?: number; registryErrors?: RegistryErrorEntry[]; transient?: boolean; retryAfterSeconds?: number; details?: string[] } = {},
  ) {
    super(code, message, extra.details ?? []);
    this.name = 'OciClientError';
    this.registry = ctx.registry;
    this.repository = ctx.repository;
    this.httpStatus = extra.httpStatus ?? 0;
    this.registryErrors = extra.registryErrors ?? [];
    this.transient = extra.transient ?? false;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

export const isOciClientError = (e: unknown): e is OciClientError => e instanceof OciClientError;

const where = (ctx: OciClientErrorContext): string => `${ctx.registry}${ctx.repository ? `/${ctx.repository}` : ''}`;

/** The core error code for a registry's HTTP status. */
export const codeForStatus = (status: number): ErrorCode => {
  if (status === 400) return 'bad_request';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 429) return 'rate_limited';
  return 'bad_gateway';
};

export const isTransientStatus = (status: number): boolean => status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);

/** Parses a registry's error body; anything else gives no entries. */
export const parseRegistryErrors = (text: string): RegistryErrorEntry[] => {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== 'object' || body === null || !Array.isArray((body as { errors?: unknown }).errors)) return [];
    return (body as { errors: unknown[] }).errors
      .filter((e): e is { code: unknown; message?: unknown } => typeof e === 'object' && e !== null)
      .map((e) => ({ code: String(e.code ?? 'UNKNOWN'), ...(typeof e.message === 'string' ? { message: e.message } : {}) }));
  } catch {
    return [];
  }
};

/** `Retry-After` as seconds (delta-seconds or an HTTP date), or undefined. */
export const parseRetryAfter = (value: string | null, now: number = Date.now()): number | undefined => {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
};

/** The error for a registry answer with an unexpected status. Reads (and so consumes) the body. */
export const errorFromResponse = async (res: Response, ctx: OciClientErrorContext): Promise<OciClientError> => {
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* the body could not be read: the status says enough */
  }
  const entries = parseRegistryErrors(text);
  const codes = entries.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ');
  const reason = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  const message = `${ctx.operation} failed on ${where(ctx)}: the registry answered ${reason}${codes ? ` (${codes})` : ''}`;
  return new OciClientError(codeForStatus(res.status), message, ctx, {
    httpStatus: res.status,
    registryErrors: entries,
    transient: isTransientStatus(res.status),
    retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after')),
  });
};

/** Whether a fetch failed because the egress policy refused the destination (the server's fetch marks its error `refused`). */
const refusedByPolicy = (e: unknown): boolean => typeof e === 'object' && e !== null && 'refused' in e && e.refused === true;

/** The error for a request that got no answer (refused, reset, timed out). */
export const networkError = (e: unknown, ctx: OciClientErrorContext): OciClientError => {
  const reason = networkReason(e);
  // A name that does not resolve will not resolve a moment later either, nor will an address the
  // server's egress policy refuses (its fetch throws an error marked `refused`); anything else may pass.
  return new OciClientError('bad_gateway', `${ctx.operation} failed on ${where(ctx)}: cannot reach the registry (${reason})`, ctx, {
    transient: reason !== 'ENOTFOUND' && !refusedByPolicy(e),
  });
};

/** Bytes that do not match their digest or size: never kept, always an error. */
export const integrityError = (ctx: OciClientErrorContext, detail: string): OciClientError =>
  new OciClientError('bad_gateway', `${ctx.operation} failed on ${where(ctx)}: ${detail}`, ctx, { transient: false });

/** `ECONNRESET`, `ECONNREFUSED`, … from the error fetch throws when a connection fails. */
export const networkReason = (e: unknown): string => {
  const cause = e instanceof Error ? (e.cause as unknown) : undefined;
  const candidates: unknown[] = [cause, e];
  if (cause instanceof AggregateError) candidates.unshift(...cause.errors);
  for (const c of candidates) {
    if (typeof c === 'object' && c !== null && 'code' in c && typeof c.code === 'string') return c.code;
  }
  for (const c of candidates) {
    if (c instanceof Error && c.message) return c.message;
  }
  return String(e);
};
