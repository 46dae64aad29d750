import { createServer, type Server } from 'node:http';
import { createDevModel, type RecordedRequest } from '../../src/dev-model/server.js';

/**
 * The model providers the capability-probe tests talk to: the dev model (src/dev-model), mounted
 * under `/ant` (an Anthropic base URL) and `/oai` (`/oai/v1` is an OpenAI base URL), accepting only
 * `goodKey`. `GET /hang/...` never answers (for the probe's time limit): a network fault, not a
 * provider behaviour, so it lives here and not in the dev model.
 */
export interface FakeProviders {
  url: string;
  goodKey: string;
  seen: RecordedRequest[];
  close(): Promise<void>;
}

export const startFakeProviders = async (goodKey: string): Promise<FakeProviders> => {
  const model = createDevModel({ apiKey: goodKey, models: { anthropic: ['claude-sonnet-4-6', 'claude-haiku-4-5'], openai: ['gpt-4o', 'local-llama'] } });
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/hang/')) return; // never answers
    const m = /^\/(ant|oai)(\/.*)$/.exec(req.url ?? '');
    if (!m) return res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    req.url = m[2];
    model.handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    goodKey,
    seen: model.requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
};
