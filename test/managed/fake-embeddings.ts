import { createServer, type Server } from 'node:http';

/**
 * A small local server speaking the OpenAI embeddings protocol (`POST /v1/embeddings
 * {model, input}` → `{data: [{embedding, index}]}`). Its vectors count words by topic, so
 * synonyms land close together: "kitten" is near "feline", far from "automobile".
 */
const TOPICS: string[][] = [
  ['cat', 'cats', 'kitten', 'kittens', 'feline', 'meow'],
  ['car', 'cars', 'vehicle', 'automobile', 'engine', 'drive'],
  ['rain', 'weather', 'storm', 'umbrella', 'forecast'],
  ['code', 'typescript', 'program', 'software', 'compiler'],
];

export const topicVector = (text: string): number[] => {
  const v = TOPICS.map(() => 0);
  for (const w of text.toLowerCase().match(/[a-z]+/g) ?? []) TOPICS.forEach((t, i) => t.includes(w) && (v[i] += 1));
  return [...v, 0.01];
};

export interface FakeEmbeddings {
  url: string;
  /** Every request, answered or failed. */
  requests: Array<{ model: string; input: string[]; authorization: string | undefined }>;
  /** Answer every request with this status and an OpenAI-style error (as a provider that is down), or normally again (undefined). */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

export const startFakeEmbeddings = async (): Promise<FakeEmbeddings> => {
  const requests: FakeEmbeddings['requests'] = [];
  let failing: number | undefined;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404).end();
        return;
      }
      const parsed = JSON.parse(body) as { model: string; input: string | string[] };
      const input = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
      requests.push({ model: parsed.model, input, authorization: req.headers.authorization });
      if (failing !== undefined) {
        res.writeHead(failing, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'The server is overloaded', type: 'server_error' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', model: parsed.model, data: input.map((t, index) => ({ object: 'embedding', index, embedding: topicVector(t) })) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    failWith: (status) => (failing = status),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
};
