import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { Api } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { setUpAgent } from './session-harness.js';

const DB = process.env.AGENTRY_TEST_DATABASE_URL;

const poll = async <T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 90_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not there within ${timeoutMs} ms: ${JSON.stringify(v).slice(0, 1000)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
};

/**
 * An eval whose runner dies (SIGKILL) in the middle of a trial: another worker process takes the
 * run once the lease runs out and goes on with the same session from the last message sent, so
 * nothing is sent twice and the trial still ends scored.
 */
describe.skipIf(!DB)('evals across processes (postgres)', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const secretKey = randomBytes(32).toString('hex');
  const dirs: string[] = [];
  const children: ChildServer[] = [];
  let model: DevModel;
  let api: ChildServer;
  let alice: Api;

  const child = async (runtime: boolean): Promise<ChildServer> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'agentry-evals-scaleout-'));
    dirs.push(dataDir);
    const c = await startChildServer({
      dataDir,
      adminToken,
      databaseUrl: DB,
      databaseSchema: schema,
      extra: { AGENTRY_SECRET_KEY: secretKey, AGENTRY_EGRESS_ALLOW: '127.0.0.1', AGENTRY_RUNTIME: runtime ? 'true' : 'false', AGENTRY_RUNTIME_LEASE_MS: '2000' },
    });
    children.push(c);
    return c;
  };

  beforeAll(async () => {
    model = await startTestModel();
    api = await child(false);
    const admin = new Api(api.url, adminToken);
    const u = await admin.req('POST', '/api/v1/users', { username: 'alice' });
    alice = admin.with(u.body.token);
  }, 120_000);
  afterAll(async () => {
    for (const c of children) await c.kill();
    await model?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await dropTestSchema(schema);
  });

  it('goes on with a run whose runner was killed mid-trial, in the same session, sending nothing twice', async () => {
    const worker = await child(true);
    const { agentId } = await setUpAgent(alice, model);
    // The first answer is slow: the worker dies while the trial's session waits on it.
    model.script([{ text: 'too late', delayMs: 30_000 }]);
    const created = await alice.req('POST', '/v1/evals', { agent: agentId, cases: [{ id: 'two-turns', messages: ['first', 'second'], verifier: { type: 'regex', pattern: 'You said: "second"' } }] });
    expect(created.status).toBe(200);
    const id = created.body.id;
    const mid = await poll(
      'the first message sent',
      async () => (await alice.req('GET', `/v1/evals/${id}`)).body,
      (r) => r.cases[0].results[0].messages_sent === 1,
    );
    const sessionId = mid.cases[0].results[0].session_id;
    await poll(
      'the model request started',
      async () => (await alice.req('GET', `/v1/sessions/${sessionId}/log`)).body as Array<{ type: string }>,
      (log) => log.some((e) => e.type === 'span.model_request_start'),
    );
    await worker.kill();
    expect((await alice.req('GET', `/v1/evals/${id}`)).body.status).toBe('running');

    await child(true);
    const done = await poll(
      'the run to end',
      async () => (await alice.req('GET', `/v1/evals/${id}`)).body,
      (r) => r.status !== 'running' && r.status !== 'pending',
    );
    expect(done.status).toBe('completed');
    expect(done.cases[0].results[0]).toMatchObject({ status: 'passed', session_id: sessionId, messages_sent: 2 });
    const log = (await alice.req('GET', `/v1/sessions/${sessionId}/log`)).body as Array<{ type: string; content?: Array<{ text: string }> }>;
    expect(log.filter((e) => e.type === 'user.message').map((e) => e.content![0].text)).toEqual(['first', 'second']);
    expect(log.some((e) => e.type === 'session.status_rescheduled')).toBe(true);
    // One session: the new runner made none of its own.
    const sessions = (await alice.req('GET', `/v1/sessions?agent_id=${agentId}&limit=100`)).body.data;
    expect(sessions).toHaveLength(1);
  }, 240_000);
});
