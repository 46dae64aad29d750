import { createServer, type Server } from 'node:http';

/**
 * A local server answering like each provider's models endpoint: Anthropic's
 * (`GET /ant/v1/models`, key in x-api-key) and OpenAI's (`GET /oai/v1/models`, Bearer key).
 * `GET /hang/...` never answers (for the probe's time limit).
 */
export interface FakeProviders {
  url: string;
  goodKey: string;
  seen: Array<{ path: string; headers: Record<string, string | string[] | undefined> }>;
  close(): Promise<void>;
}

export const startFakeProviders = async (goodKey: string): Promise<FakeProviders> => {
  const seen: FakeProviders['seen'] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url?.startsWith('/hang/')) return; // never answers
    if (req.method === 'GET' && req.url === '/ant/v1/models') {
      if (req.headers['x-api-key'] !== goodKey || !req.headers['anthropic-version']) {
        return json(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
      }
      return json(200, { data: [{ type: 'model', id: 'claude-sonnet-4-6', display_name: 'Claude Sonnet 4.6' }, { type: 'model', id: 'claude-haiku-4-5' }], has_more: false, first_id: 'claude-sonnet-4-6', last_id: 'claude-haiku-4-5' });
    }
    if (req.method === 'GET' && req.url === '/oai/v1/models') {
      if (req.headers.authorization !== `Bearer ${goodKey}`) return json(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
      return json(200, { object: 'list', data: [{ id: 'gpt-4o', object: 'model', owned_by: 'openai' }, { id: 'local-llama', object: 'model' }] });
    }
    json(404, { error: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    goodKey,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
};
