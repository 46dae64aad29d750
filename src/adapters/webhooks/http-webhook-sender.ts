import { isEgressError, type EgressPolicy } from '../egress/egress-policy.js';
import type { WebhookReply, WebhookRequest, WebhookSender } from '../../core/webhooks/webhook-sender.js';

/** How much of a response body is read (the delivery log keeps less). */
const READ_MAX = 4096;

const readCapped = async (res: Response): Promise<string> => {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < READ_MAX) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, READ_MAX).toString('utf8');
};

/**
 * Webhook deliveries over HTTP, through the egress policy (a private address is refused unless
 * allow-listed, checked on the address connected to); redirects are not followed (a 3xx is an answer).
 */
export class HttpWebhookSender implements WebhookSender {
  constructor(private readonly egress: EgressPolicy) {}

  refusal(url: URL): string | undefined {
    const kind = this.egress.urlRefusal(url);
    return kind && `the egress policy refuses ${kind} addresses`;
  }

  async send(req: WebhookRequest): Promise<WebhookReply> {
    try {
      const res = await this.egress.fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(req.timeoutMs) });
      return { kind: 'response', status: res.status, body: await readCapped(res) };
    } catch (e) {
      if (isEgressError(e)) return e.refused ? { kind: 'error', message: 'refused by the egress policy', retry: false } : { kind: 'error', message: e.message, retry: true };
      const name = e instanceof Error ? e.name : '';
      if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'error', message: `no answer within ${req.timeoutMs} ms`, retry: true };
      return { kind: 'error', message: 'the request failed', retry: true };
    }
  }
}
