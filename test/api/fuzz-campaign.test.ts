import { writeFileSync } from 'node:fs';
import { logLines } from '../helpers/log-lines.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FUZZER_KNOWN, loadOperations, runFuzz, type FuzzFailure, type FuzzRequest } from '../helpers/fuzz.js';
import { Api, agentTarball } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * The large campaign behind `AGENTRY_FUZZ_CAMPAIGN` (skipped otherwise; CI runs `fuzz.test.ts`):
 * `AGENTRY_FUZZ_CAMPAIGN=<requests per seed>` over the seeds of `AGENTRY_FUZZ_SEEDS` (comma-separated,
 * default 1..8), on a server logging at trace level. No answer may be a 5xx, the server must stay up, and no
 * log line may hold any of the tokens the run used. `AGENTRY_FUZZ_EXTRA` (default 0.3) is the share of hand-built
 * requests (odd headers, Range, traversal, OCI names, JSON-RPC, multipart extremes). `AGENTRY_FUZZ_REPORT=<file>` writes the figures
 * (requests, status buckets, failures grouped by operation and status) as JSON.
 */
const PER_SEED = Number(process.env.AGENTRY_FUZZ_CAMPAIGN ?? 0);
/** Share of hand-built requests (odd headers, Range, traversal, OCI names, JSON-RPC, multipart extremes). */
const EXTRA = Number(process.env.AGENTRY_FUZZ_EXTRA ?? 0.3);
const SEEDS = (process.env.AGENTRY_FUZZ_SEEDS ?? '1,2,3,4,5,6,7,8').split(',').map(Number);
const OUTBOUND = /^(GET|POST) \/registry\/(repositories|tags|pull|publish)( \+.*)?$/;
const deliberate = (r: FuzzRequest, status: number): boolean => status === 501 || (status === 502 && OUTBOUND.test(r.operation));

/** `AGENTRY_FUZZ_STORE=sqlite|postgres` runs one store only (two processes can then run side by side). */
const STORES = testStores.filter((s) => !process.env.AGENTRY_FUZZ_STORE || s === process.env.AGENTRY_FUZZ_STORE);

describe.skipIf(PER_SEED <= 0).each(STORES)('fuzz campaign at trace level (%s)', (store) => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  const lines: string[] = [];
  /** Error-level lines: an unexpected error (a 500) or something logged as one; the fuzz makes neither. */
  const errorLines: string[] = [];
  const ids: string[] = ['1', '2'];
  const credentialIds: string[] = ['1'];
  const memoryIds: string[] = ['1'];

  beforeAll(async () => {
    // Only what could hold a credential is kept: a line naming no token cannot leak one.
    const stream = logLines((l) => {
      if (l.includes('agentry_') || l.includes('Bearer') || l.includes('Basic') || /[A-Za-z0-9_-]{40,}/.test(l)) lines.push(l);
      if (/"level":(50|60)/.test(l)) errorLines.push(l);
    });
    server = await startTestServer({ store, log: { level: 'trace', stream } });
    tokens.admin = server.adminToken;
    const admin = new Api(server.url, server.adminToken);
    const created = await admin.req('POST', '/api/v1/users', { username: 'fuzzer' });
    expect(created.status).toBe(201);
    tokens.user = created.body.token;
    const read = await admin.with(tokens.user).req('POST', '/api/v1/tokens', { name: 'ro', permission: 'read' });
    expect(read.status).toBe(201);
    tokens.read = read.body.token;
    const user = admin.with(tokens.user);
    expect((await user.publish('/api/v1/agents/@fuzzer/pkg', await agentTarball({ name: 'pkg', version: '1.0.0', scope: 'fuzzer' }))).status).toBe(200);
    // Managed objects of the user's, so `{id}` parameters reach past "not found" (each kept if made).
    const made = async (path: string, body: unknown): Promise<string | undefined> => {
      const r = await user.req('POST', path, body);
      return r.status < 300 && r.body?.id !== undefined ? String(r.body.id) : undefined;
    };
    const env = await made('/v1/environments', { name: 'fuzz-env' });
    const agent = await made('/v1/agents', { name: 'fuzz-agent', model: 'claude-sonnet-4-6', ...(env ? { environment_id: env } : {}) });
    const vault = await made('/v1/vaults', { name: 'fuzz-vault' });
    const credential = vault && (await made(`/v1/vaults/${vault}/credentials`, { auth: { type: 'static_bearer', token: 'ghp_FUZZSECRET0001', mcp_server_url: 'https://mcp.example.com/sse' } }));
    const memStore = await made('/v1/memory_stores', { name: 'fuzz-memories' });
    const memory = memStore && (await made(`/v1/memory_stores/${memStore}/memories`, { path: '/notes/a.md', content: 'a note' }));
    const file = new FormData();
    file.set('file', new Blob(['fuzz file']), 'fuzz.txt');
    const fileId = await made('/v1/files', file);
    const skill = new FormData();
    skill.append('files', new Blob(['---\nname: fuzz-skill\ndescription: A skill to fuzz.\n---\n# fuzz\n']), 'SKILL.md');
    const skillId = await made('/v1/skills', skill);
    const session = agent && (await made('/v1/sessions', { agent, ...(env ? { environment_id: env } : {}) }));
    await admin.req('POST', '/registry/', { name: 'Fuzz', namespace: 'fuzz' });
    ids.push(...[env, agent, vault, memStore, fileId, skillId, session].filter((x): x is string => x !== undefined));
    if (credential) credentialIds.push(credential);
    if (memory) memoryIds.push(memory);
  });
  afterAll(async () => server?.close());

  it(
    `answers ${PER_SEED} requests per seed × ${SEEDS.length} seeds below 500, and logs no token`,
    async () => {
      const ops = await loadOperations(server.url);
      // What a library prints past the logger (no level, no redaction): the fuzz must make none.
      const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      const failures: Array<FuzzFailure & { seed: number }> = [];
      const statuses: Record<string, number> = {};
      let sent = 0;
      let skipped = 0;
      for (const seed of SEEDS) {
        const r = await runFuzz({
          base: server.url,
          ops,
          seed,
          count: PER_SEED,
          concurrency: 6,
          tokens: [undefined, tokens.user, tokens.read, tokens.admin],
          deliberate,
          extraRate: EXTRA,
          known: {
            ...FUZZER_KNOWN,
            id: ids,
            credential_id: credentialIds,
            memory_id: memoryIds,
            agentspace_id: ['default'],
          },
        });
        sent += r.sent;
        skipped += r.skipped;
        for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
        failures.push(...r.failures.map((f) => ({ ...f, seed })));
      }
      await new Promise((r) => setTimeout(r, 200));
      const consoleErrors = printed.mock.calls.map((c) => String(c[0]).slice(0, 300));
      printed.mockRestore();
      const leaks = Object.entries(tokens).flatMap(([name, t]) => {
        const random = t.replace(/^agentry_/, '').slice(0, 24);
        return lines.filter((l) => l.includes(random)).map((l) => `${name}: ${l.slice(0, 300)}`);
      });
      const groups: Record<string, { count: number; example: string; response: string }> = {};
      for (const f of failures) {
        const op = /\[([^\]]+)\]/.exec(f.request)?.[1] ?? f.request;
        const key = `${f.status} ${op}`;
        groups[key] ??= { count: 0, example: `seed ${f.seed}: ${f.request}`, response: f.response };
        groups[key].count++;
      }
      const report = {
        store,
        perSeed: PER_SEED,
        seeds: SEEDS,
        knownIds: ids,
        sent,
        skipped,
        statuses,
        failures: failures.length,
        groups,
        leaks: leaks.slice(0, 20),
        leakCount: leaks.length,
        errorLines: errorLines.slice(0, 20).map((l) => l.slice(0, 600)),
        errorLineCount: errorLines.length,
        consoleErrors: consoleErrors.slice(0, 20),
        consoleErrorCount: consoleErrors.length,
      };
      if (process.env.AGENTRY_FUZZ_REPORT) writeFileSync(`${process.env.AGENTRY_FUZZ_REPORT}.${store}.json`, JSON.stringify(report, null, 2));
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(leaks).toEqual([]);
      expect(groups).toEqual({});
      expect(errorLines.map((l) => l.slice(0, 600))).toEqual([]);
      expect(consoleErrors).toEqual([]);
    },
    24 * 3_600_000,
  );
});
