#!/usr/bin/env node
/**
 * A2A round-trip overhead over a direct session (issue 20): `agentry serve` and `agentry dev-model`
 * (a zero-latency local provider) each in their own process, driven over HTTP from this one.
 *
 *   npm run build && node bench/a2a.mjs [--rounds 30] [--store sqlite|postgres]
 *
 * Same agent (a managed agent on the dev model), same prompt, in one loop that alternates which
 * path goes first each round:
 *   - new:      A2A `message/send` without a contextId (a new session, one turn)
 *               vs `POST /v1/sessions` + `POST /v1/sessions/{id}/messages` (SSE until idle);
 *   - continue: A2A `message/send` with the first task's contextId (its session, one more turn)
 *               vs `POST /v1/sessions/{id}/messages` on a session of its own.
 * The direct session path is the anchor, measured in the same run: the figures are the medians of
 * each path and the median of the per-round differences (A2A minus direct). The load average is
 * printed before and after (the machine is shared).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServerProcess } from './server-process.mjs';
import { startDevModel, withPgAt } from './session-bench-helpers.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    store: { type: 'string', default: 'sqlite' },
    'database-url': { type: 'string', default: process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ROUNDS = Number(args.rounds);
const WARM = 3;
const PROMPT = 'Say hello in five words.';
const load = () => loadavg().map((x) => +x.toFixed(2));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const withPg = (fn) => withPgAt(args['database-url'], fn);

const model = await startDevModel();
const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
const dataDir = mkdtempSync(join(tmpdir(), 'agentry-bench-a2a-'));
const schema = args.store === 'postgres' ? `bench_a2a_${randomBytes(4).toString('hex')}` : undefined;
if (schema) await withPg((c) => c.query(`CREATE SCHEMA "${schema}"`));
const server = await startServerProcess({ dataDir, adminToken, env: { AGENTRY_EGRESS_ALLOW: '127.0.0.1' }, ...(schema ? { databaseUrl: args['database-url'], databaseSchema: schema } : {}) });

const api = async (token, method, path, body) => {
  const r = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
};

try {
  const { token } = await api(adminToken, 'POST', '/api/v1/users', { username: 'bench' });
  await api(token, 'POST', '/v1/model_cards', { model_id: 'dev', provider: 'ant-compatible', model: 'dev-model', base_url: model.url, api_key: 'bench' });
  const environment = await api(token, 'POST', '/v1/environments', { name: 'bench' });
  const agent = await api(token, 'POST', '/v1/agents', { name: 'bench', model: 'dev', environment_id: environment.id });
  const endpoint = `${server.url}/a2a/agents/${agent.id}`;

  /** One A2A message/send (blocking): its task must complete. */
  const a2a = async (contextId) => {
    const message = { kind: 'message', role: 'user', messageId: randomUUID(), parts: [{ kind: 'text', text: PROMPT }], ...(contextId ? { contextId } : {}) };
    const r = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'message/send', params: { message } }),
    });
    const body = await r.json();
    if (body.result?.status?.state !== 'completed') throw new Error(`message/send: ${JSON.stringify(body).slice(0, 500)}`);
    return body.result;
  };
  /** One turn through the native session routes: POST /messages streams the turn until the session is idle. */
  const direct = async (sessionId) => {
    const id = sessionId ?? (await api(token, 'POST', '/v1/sessions', { agent: agent.id, environment_id: environment.id })).id;
    const r = await fetch(`${server.url}/v1/sessions/${id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ content: PROMPT }),
    });
    const text = await r.text();
    if (!text.includes('event: session.status_idle')) throw new Error(`direct turn did not end idle: ${text.slice(-300)}`);
    return id;
  };
  const time = async (fn) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };

  const loadBefore = load();
  const first = await a2a();
  const contextId = first.contextId;
  const ownSession = await direct();
  const figures = { new: { a2a: [], direct: [] }, continue: { a2a: [], direct: [] } };
  for (let i = 0; i < ROUNDS + WARM; i++) {
    const keep = i >= WARM;
    const pairs = [
      ['new', () => a2a(), () => direct()],
      ['continue', () => a2a(contextId), () => direct(ownSession)],
    ];
    for (const [mode, viaA2a, viaSession] of pairs) {
      // The paths take turns going first.
      const order =
        i % 2 === 0
          ? [
              ['a2a', viaA2a],
              ['direct', viaSession],
            ]
          : [
              ['direct', viaSession],
              ['a2a', viaA2a],
            ];
      for (const [path, run] of order) {
        const ms = await time(run);
        if (keep) figures[mode][path].push(ms);
      }
    }
  }
  const loadAfter = load();
  console.log(`A2A round trip vs a direct session (${args.store}, ${ROUNDS} rounds after ${WARM} warm-up, dev model, prompt "${PROMPT}")`);
  console.log(`load average before: ${loadBefore.join(' ')}   after: ${loadAfter.join(' ')}   (${(await import('node:os')).cpus().length} cores)`);
  for (const mode of ['new', 'continue']) {
    const f = figures[mode];
    const diffs = f.a2a.map((x, i) => x - f.direct[i]);
    console.log(
      `${mode.padEnd(9)} message/send median ${median(f.a2a).toFixed(1)} ms   direct session (anchor) median ${median(f.direct).toFixed(1)} ms   overhead: median of per-round differences ${median(diffs).toFixed(1)} ms (${((median(f.a2a) / median(f.direct) - 1) * 100).toFixed(0)}% on the medians)`,
    );
  }
} finally {
  await server.stop();
  model.stop();
  rmSync(dataDir, { recursive: true, force: true });
  if (schema) await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}
