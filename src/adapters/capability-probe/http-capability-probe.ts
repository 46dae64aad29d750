import { badRequest } from '../../core/errors.js';
import type { CapabilityProbe, ProbeResult, ProbeTarget } from '../../core/managed/model-cards/capability-probe.js';
import type { EgressPolicy } from '../egress/index.js';
import { openAiBaseUrl } from '../model-providers/index.js';

const PROBE_TIMEOUT_MS = 6_000;

/** Anthropic lists models at `{base}/v1/models` (key in x-api-key); OpenAI at `{base}/models` (Bearer). */
const request = (t: ProbeTarget): { url: string; headers: Record<string, string> } => {
  const base = t.baseUrl.replace(/\/+$/, '');
  if (t.provider === 'ant' || t.provider === 'ant-compatible') {
    return { url: `${base}${/\/v1$/.test(base) ? '' : '/v1'}/models`, headers: { ...t.headers, 'x-api-key': t.apiKey, 'anthropic-version': '2023-06-01' } };
  }
  return { url: `${openAiBaseUrl(base)}/models`, headers: { ...t.headers, authorization: `Bearer ${t.apiKey}` } };
};

/**
 * Checks a model card before it is saved: the provider's models endpoint must accept the key
 * within 6 seconds and offer the card's model. A failure is a 400 that says what went wrong
 * (never the key), so a bad key or URL fails loudly at creation instead of at run time.
 */
const probeModelCard = async (egress: EgressPolicy, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> => {
  const { url, headers } = request(t);
  const fail = (why: string) => badRequest('The capability probe failed', [`${t.provider} models endpoint ${url}: ${why}`]);
  let res: Response;
  try {
    res = await egress.fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (e) {
    const name = e instanceof Error ? e.name : '';
    throw fail(name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${timeoutMs / 1000} seconds` : 'unreachable');
  }
  if (res.status === 401 || res.status === 403) throw fail(`the key was refused (HTTP ${res.status})`);
  if (!res.ok) throw fail(`HTTP ${res.status}`);
  let body: { data?: Array<{ id?: unknown }> };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw fail('the answer is not JSON');
  }
  if (!Array.isArray(body.data)) throw fail("the answer has no 'data' list of models");
  const ids = body.data.map((m) => m.id).filter((id): id is string => typeof id === 'string');
  if (!ids.includes(t.model)) {
    const offered = ids.slice(0, 10).join(', ') + (ids.length > 10 ? ', …' : '');
    throw fail(`model '${t.model}' is not offered${ids.length > 0 ? ` (it offers ${offered})` : ''}`);
  }
  return { checkedAt: new Date().toISOString(), modelsListed: ids.length };
};

/** The capability probe over HTTP, through the egress policy (a card's base URL is the user's to choose). */
export const httpCapabilityProbe =
  (egress: EgressPolicy, timeoutMs = PROBE_TIMEOUT_MS): CapabilityProbe =>
  (target) =>
    probeModelCard(egress, target, timeoutMs);
