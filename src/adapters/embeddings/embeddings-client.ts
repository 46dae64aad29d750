import { badGateway } from '../../core/errors.js';
import type { Embedder } from '../../core/embeddings/embedder.js';
import { UNREACHABLE, type EgressPolicy } from '../egress/index.js';

/** An OpenAI-compatible embeddings endpoint (`POST {url}/embeddings {model, input}`). */
export interface EmbeddingsConfig {
  /** Base URL, e.g. `https://api.openai.com/v1` or a local server's. */
  url: string;
  model: string;
  apiKey?: string;
  /** Milliseconds before a request is abandoned (default 10 s). */
  timeoutMs?: number;
}

/** Turns texts into vectors through the configured endpoint; any failure is a 502 naming the cause (never the key). */
export class EmbeddingsClient implements Embedder {
  constructor(
    private readonly config: EmbeddingsConfig,
    private readonly egress: EgressPolicy,
  ) {}

  async embed(texts: string[]): Promise<number[][]> {
    const url = `${this.config.url.replace(/\/+$/, '')}/embeddings`;
    let res: Response;
    try {
      res = await this.egress.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}) },
        body: JSON.stringify({ model: this.config.model, input: texts }),
        signal: AbortSignal.timeout(this.config.timeoutMs ?? 10_000),
      });
    } catch (e) {
      throw badGateway('The embeddings endpoint could not be reached', [`${url}: ${e instanceof Error && e.name === 'TimeoutError' ? 'no answer in time' : UNREACHABLE}`]);
    }
    if (!res.ok) throw badGateway(`The embeddings endpoint answered ${res.status}`, [url]);
    let body: { data?: Array<{ embedding?: unknown; index?: unknown }> };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw badGateway('The embeddings endpoint did not answer JSON', [url]);
    }
    const data = Array.isArray(body.data) ? body.data : [];
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i++) {
      const item = data.find((d) => d.index === i) ?? data[i];
      const v = item?.embedding;
      if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
        throw badGateway('The embeddings endpoint answered without a vector for every input', [url]);
      }
      out.push(v as number[]);
    }
    return out;
  }
}
