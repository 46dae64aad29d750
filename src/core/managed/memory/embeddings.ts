import { badGateway } from '../../errors.js';

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
export class EmbeddingsClient {
  constructor(private readonly config: EmbeddingsConfig) {}

  async embed(texts: string[]): Promise<number[][]> {
    const url = `${this.config.url.replace(/\/+$/, '')}/embeddings`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}) },
        body: JSON.stringify({ model: this.config.model, input: texts }),
        signal: AbortSignal.timeout(this.config.timeoutMs ?? 10_000),
      });
    } catch (e) {
      throw badGateway('The embeddings endpoint could not be reached', [`${url}: ${e instanceof Error ? e.message : 'request failed'}`]);
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

/** Cosine similarity of two vectors (0 when their lengths differ or one is all zeros). */
export const cosine = (a: number[], b: number[]): number => {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
};
