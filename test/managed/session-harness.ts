import type Anthropic from '@anthropic-ai/sdk';
import type { DevModel } from '../helpers/dev-model.js';
import type { Api } from '../helpers/packages.js';

/** One SSE frame as a client reads it: its event name, id and data. */
export interface Frame {
  event: string | null;
  id: string | null;
  data: string;
}

/** Parses an SSE text into frames (every field kept; comments dropped). */
export const parseFrames = (text: string): Frame[] =>
  text
    .split(/\r?\n\r?\n/)
    .filter((f) => f.trim() !== '')
    .map((frame) => {
      let event: string | null = null;
      let id: string | null = null;
      const data: string[] = [];
      for (const line of frame.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('id:')) id = line.slice(3).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      return { event, id, data: data.join('\n') };
    });

/**
 * Reads an SSE response until `stop` says so (or the body ends), then cancels it; answers the frames.
 */
export const readFrames = async (res: Response, stop: (frames: Frame[]) => boolean, timeoutMs = 30_000): Promise<Frame[]> => {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no end of stream within ${timeoutMs} ms; got:\n${text.slice(-3000)}`);
      const chunk = await Promise.race([reader.read(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`stream stalled; got:\n${text.slice(-3000)}`)), left))]);
      if (chunk.done) return parseFrames(text);
      text += decoder.decode(chunk.value, { stream: true });
      const complete = text.slice(0, text.lastIndexOf('\n\n') + 2);
      const frames = parseFrames(complete);
      if (stop(frames)) return frames;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
};

export const openStream = (base: string, token: string, path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> =>
  fetch(base + path, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers }, signal });

export const isIdle = (f: Frame): boolean => f.event === 'session.status_idle';
export const dataOf = (frames: Frame[]): any[] => frames.filter((f) => f.event !== 'ping' && f.data).map((f) => JSON.parse(f.data));

/** Waits until the session is idle (polling), answers it. */
export const waitIdle = async (api: Api, id: string, timeoutMs = 30_000): Promise<any> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await api.req('GET', `/v1/sessions/${id}`);
    if (r.status === 200 && r.body.status === 'idle') return r.body;
    if (Date.now() > deadline) throw new Error(`session ${id} is still ${r.body?.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Collects SDK stream events until a session.status_idle that is not requires_action (or any idle when `anyIdle`), or session.status_terminated. */
export const collectSdk = async (stream: AsyncIterable<any>, anyIdle = false): Promise<any[]> => {
  const out: any[] = [];
  for await (const ev of stream) {
    out.push(ev);
    if (ev.type === 'session.status_terminated' || (ev.type === 'session.status_idle' && (anyIdle || ev.stop_reason?.type !== 'requires_action'))) break;
  }
  return out;
};

/** A model card, an environment and an agent of the caller, on the dev model. */
export const setUpAgent = async (
  api: Api,
  model: DevModel,
  opts: { provider?: 'ant' | 'oai' | 'ant-compatible' | 'oai-compatible'; modelId?: string; tools?: unknown[]; baseUrl?: string } = {},
): Promise<{ agentId: string; environmentId: string }> => {
  const provider = opts.provider ?? 'ant';
  const modelId = opts.modelId ?? `dev-${provider}`;
  const cards = await api.req('GET', '/v1/model_cards?limit=100');
  if (!cards.body.data.some((c: any) => c.model_id === modelId)) {
    const card = await api.req('POST', '/v1/model_cards', {
      model_id: modelId,
      provider,
      model: 'dev-model',
      base_url: opts.baseUrl ?? (provider.startsWith('ant') ? model.anthropicBaseUrl : model.openaiBaseUrl),
      api_key: 'sk-dev-model-key-1234',
    });
    if (card.status !== 200) throw new Error(`model card: ${card.status} ${JSON.stringify(card.body)}`);
  }
  const env = await api.req('POST', '/v1/environments', { name: `env-${Math.random().toString(36).slice(2)}` });
  const agent = await api.req('POST', '/v1/agents', { name: 'helper', model: modelId, system: 'You are terse.', tools: opts.tools ?? [], environment_id: env.body.id });
  if (agent.status !== 200) throw new Error(`agent: ${agent.status} ${JSON.stringify(agent.body)}`);
  return { agentId: agent.body.id, environmentId: env.body.id };
};

export type Sdk = Anthropic;
