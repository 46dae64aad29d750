import { errorResult, textResult, TOOL_OUTPUT_LIMIT, truncateOutput, type ToolResult, type WebFetchConfig } from '../../core/tools/builtin-toolset.js';

/**
 * web_fetch: one GET through the server's egress policy (the `fetch` it is given), redirects followed
 * by hand (at most 5) so that every hop is checked against the tool's allowed_domains/blocked_domains
 * as well as the policy. Text, JSON and XML come back as they are, HTML as readable text (links kept);
 * other content types are refused. Bodies are read up to 5 MB, the text cut to the output limit (or
 * `max_content_tokens` × 4 characters).
 *
 * Like Anthropic's web_fetch (a server tool), it is not bound by the environment's `networking`, which
 * governs the sandbox; it is bound by the tool's own domain lists and the operator's egress policy.
 */

const URL_MAX = 2000;
const MAX_BODY_BYTES = 5 * 1024 * 1024;
const TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

const matches = (host: string, domain: string): boolean => {
  const d = domain.toLowerCase().replace(/^\*\./, '').replace(/\.$/, '');
  return host === d || host.endsWith(`.${d}`);
};

const domainRefusal = (url: URL, config: WebFetchConfig): string | undefined => {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (config.allowedDomains && !config.allowedDomains.some((d) => matches(host, d))) return `${host} is not in this tool's allowed_domains (${config.allowedDomains.join(', ')})`;
  if (config.blockedDomains?.some((d) => matches(host, d))) return `${host} is in this tool's blocked_domains`;
  return undefined;
};

const TEXTUAL = /^(text\/|application\/(json|xml|xhtml\+xml|javascript|ld\+json|rss\+xml|atom\+xml|x-yaml|yaml|toml)|[^;]*\+(json|xml))/i;

/** Reads at most `max` bytes of a body; whether it was cut. */
const readCapped = async (res: Response, max: number): Promise<{ bytes: Buffer; cut: boolean }> => {
  if (!res.body) return { bytes: Buffer.alloc(0), cut: false };
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: Buffer.concat(chunks), cut: false };
    chunks.push(Buffer.from(value));
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return { bytes: Buffer.concat(chunks).subarray(0, max), cut: true };
    }
  }
};

export const webFetchTool = async (fetchFn: typeof globalThis.fetch, config: WebFetchConfig, input: Record<string, unknown>, signal?: AbortSignal): Promise<ToolResult> => {
  const raw = (input.url as string).trim();
  if (raw.length > URL_MAX) return errorResult(`web_fetch: the URL is longer than ${URL_MAX} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return errorResult(`web_fetch: "${raw}" is not a URL`);
  }
  const limit = Math.min(TOOL_OUTPUT_LIMIT, config.maxContentTokens ? config.maxContentTokens * 4 : TOOL_OUTPUT_LIMIT);
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    let res: Response | undefined;
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return errorResult(`web_fetch: only http and https URLs can be fetched (got ${url.protocol})`);
      if (url.username || url.password) return errorResult('web_fetch: URLs with credentials are refused');
      const why = domainRefusal(url, config);
      if (why) return errorResult(`web_fetch: ${why}`);
      res = await fetchFn(url, { redirect: 'manual', signal: both, headers: { 'user-agent': 'Agentry-web_fetch/1', accept: 'text/html,text/plain,application/json,application/xml;q=0.9,*/*;q=0.5' } });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel().catch(() => undefined);
        if (hop >= MAX_REDIRECTS) return errorResult(`web_fetch: more than ${MAX_REDIRECTS} redirects`);
        url = new URL(location, url);
        continue;
      }
      break;
    }
    const type = (res.headers.get('content-type') ?? 'application/octet-stream').split(';')[0].trim().toLowerCase();
    if (!TEXTUAL.test(type)) {
      await res.body?.cancel().catch(() => undefined);
      return errorResult(`web_fetch: ${url.href} answered ${res.status} with ${type}, which web_fetch does not turn into text (download it with curl in bash instead)`);
    }
    const { bytes, cut } = await readCapped(res, MAX_BODY_BYTES);
    let text = bytes.toString('utf8');
    if (type === 'text/html' || type === 'application/xhtml+xml') {
      // Loaded by the first HTML page: a server whose agents never fetch one never holds the parser.
      const { convert: htmlToText } = await import('html-to-text');
      text = htmlToText(text, { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }] });
    }
    const header = `URL: ${url.href}\nStatus: ${res.status}\nContent-Type: ${type}${cut ? `\n(the body was cut at ${MAX_BODY_BYTES} bytes)` : ''}\n\n`;
    const body = truncateOutput(text.trim() || '(empty body)', limit);
    return textResult(header + body, !res.ok);
  } catch (e) {
    if (signal?.aborted) return errorResult('web_fetch: interrupted');
    if (timeout.aborted) return errorResult(`web_fetch: no answer from ${url.host} within ${TIMEOUT_MS / 1000} s`);
    return errorResult(`web_fetch: ${url.host} could not be reached`);
  }
};
