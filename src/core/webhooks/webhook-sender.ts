import { createHmac } from 'node:crypto';

/** One POST of a delivery. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** What came back: a response (its status and the start of its body), or no response and whether to try again. */
export type WebhookReply = { kind: 'response'; status: number; body: string } | { kind: 'error'; message: string; retry: boolean };

/** The network side of webhooks (an adapter through the egress policy). */
export interface WebhookSender {
  /** Why a webhook may not be made for this URL (its address is refused by the egress policy), or undefined. Names are checked when used. */
  refusal(url: URL): string | undefined;
  send(req: WebhookRequest): Promise<WebhookReply>;
}

/** `X-Agentry-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>`. */
export const webhookSignature = (secret: string, unixSeconds: number, body: string): string => `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;

/** 2xx: delivered. 408, 429, 5xx and no answer: tried again. Any other answer: failed for good. */
export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;
