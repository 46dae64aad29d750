import { ModelCallError } from '../../core/sessions/model-port.js';

interface ProviderErrorShape {
  status?: number;
  headers?: Headers | Record<string, string | null | undefined>;
  error?: unknown;
  message?: string;
  name?: string;
}

const header = (h: ProviderErrorShape['headers'], name: string): string | undefined => {
  if (!h) return undefined;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  return (h as Record<string, string | null | undefined>)[name] ?? undefined;
};

/** The wait a provider asked for: `retry-after-ms`, else `retry-after` (seconds or an HTTP date). */
const retryAfterMs = (h: ProviderErrorShape['headers']): number | undefined => {
  const ms = Number(header(h, 'retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && header(h, 'retry-after-ms') !== undefined) return ms;
  const ra = header(h, 'retry-after');
  if (ra === undefined) return undefined;
  const s = Number(ra);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
};

const errorType = (e: ProviderErrorShape): string | undefined => {
  const body = e.error as { type?: unknown; error?: { type?: unknown } } | undefined;
  const t = body?.error?.type ?? body?.type;
  return typeof t === 'string' ? t : undefined;
};

/**
 * A provider SDK's error as the runtime's ModelCallError: 429 is rate limited, 529 and
 * `overloaded_error` are overloaded, other 5xx and lost connections are failures worth a retry,
 * and anything else (400, 401, 404) is final. The message names the status, never the key.
 */
export const modelCallError = (e: unknown, provider: string): ModelCallError => {
  const x = (e ?? {}) as ProviderErrorShape;
  const status = typeof x.status === 'number' ? x.status : undefined;
  const type = errorType(x);
  const wait = retryAfterMs(x.headers);
  if (status === 429 || type === 'rate_limit_error') return new ModelCallError('rate_limited', `${provider} rate-limited the request (HTTP 429)`, true, status, wait);
  if (status === 529 || type === 'overloaded_error') return new ModelCallError('overloaded', `${provider} is overloaded${status ? ` (HTTP ${status})` : ''}`, true, status, wait);
  if (status !== undefined && status >= 500) return new ModelCallError('failed', `${provider} failed (HTTP ${status})`, true, status, wait);
  if (status === 408 || status === 409) return new ModelCallError('failed', `${provider} answered HTTP ${status}`, true, status, wait);
  if (status === undefined) {
    if (type !== undefined) return new ModelCallError('failed', `${provider} stream failed: ${type}`, true);
    return new ModelCallError('unreachable', `${provider} could not be reached`, true);
  }
  const detail =
    typeof (x.error as { error?: { message?: unknown } } | undefined)?.error?.message === 'string' ? `: ${String((x.error as { error: { message: string } }).error.message).slice(0, 300)}` : '';
  return new ModelCallError('refused', `${provider} refused the request (HTTP ${status})${detail}`, false, status);
};
