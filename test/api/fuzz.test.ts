import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUZZER_KNOWN, formatFailures, loadOperations, runFuzz, type FuzzRequest } from '../helpers/fuzz.js';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Schema-driven fuzzing over every operation `/openapi.json` and `/openapi.yaml` document: bad and
 * edge values per parameter type and body, anonymously and with a user's token. No answer may be a
 * 5xx and the server must stay up. `AGENTRY_FUZZ_REQUESTS` (default 2500 per store) and
 * `AGENTRY_FUZZ_SEED` (default 12) reproduce or widen a run; `fuzz-campaign.test.ts` is the large run
 * (many seeds, trace logging checked for tokens), behind `AGENTRY_FUZZ_CAMPAIGN`.
 */
const COUNT = Number(process.env.AGENTRY_FUZZ_REQUESTS ?? 2500);
const SEED = Number(process.env.AGENTRY_FUZZ_SEED ?? 12);

/** Operations that call another server the request names: its failure is a 502 (Bad Gateway), by design. */
const OUTBOUND = /^(GET|POST) \/registry\/(repositories|tags|pull|publish)( \+.*)?$/;

/**
 * The only 5xx answers that are not failures: 501 states that this server does not offer something
 * (sign-in with no OAuth provider configured, ToolHive's upstream source), and 502 says another
 * server the request named did not answer. Every other 5xx fails the test.
 */
const deliberate = (r: FuzzRequest, status: number): boolean => status === 501 || (status === 502 && OUTBOUND.test(r.operation));

describe.each(testStores)('schema-driven fuzzing: no 5xx, server stays up (%s)', (store) => {
  let server: TestServer;
  let userToken: string;

  beforeAll(async () => {
    server = await startTestServer({ store });
    const admin = new Api(server.url, server.adminToken);
    const user = await admin.req('POST', '/api/v1/users', { username: 'fuzzer' });
    expect(user.status).toBe(201);
    userToken = user.body.token;
    // Something real to find, so plausible parameters reach the handlers' deeper paths.
    const alice = admin.with(userToken);
    expect((await alice.publish('/api/v1/agents/@fuzzer/pkg', await agentTarball({ name: 'pkg', version: '1.0.0', scope: 'fuzzer' }))).status).toBe(200);
  });
  afterAll(async () => server?.close());

  it(`answers ${COUNT} generated requests below 500 (seed ${SEED})`, async () => {
    const ops = await loadOperations(server.url);
    expect(ops.length).toBeGreaterThan(150);
    const result = await runFuzz({
      base: server.url,
      ops,
      seed: SEED,
      count: COUNT,
      concurrency: 6,
      tokens: [undefined, userToken],
      deliberate,
      // Some hand-built requests too: odd headers, Range, encoded traversal, unicode OCI names, JSON-RPC, multipart extremes.
      extraRate: 0.15,
      known: FUZZER_KNOWN,
    });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    if (result.failures.length > 0) expect.fail(formatFailures(result.failures, SEED));
    expect(result.sent + result.skipped).toBe(COUNT);
    expect(result.skipped).toBeLessThan(COUNT / 10);
  }, 180_000);
});
