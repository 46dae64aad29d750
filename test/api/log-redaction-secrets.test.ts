import { logLines } from '../helpers/log-lines.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Beyond tokens (`log-redaction.test.ts`): the secrets users hand the server in bodies and URLs — a
 * model card's key, a secret's value, a webhook's signing secret, a mirror's password (as a field and
 * inside its URL) — never show in a log line at trace level, whether the request succeeds, fails its
 * schema, is malformed JSON, or makes the server call out (and fail).
 */
describe.each(testStores)('log lines hold no secret a body carried, at trace level (%s)', (store) => {
  let server: TestServer;
  const lines: string[] = [];
  const SECRETS = {
    cardKey: 'sk-cardkey-5b8e1d2f9a7c4e60b3d1',
    secretValue: 'secretvalue-8c1f0e9d2b7a4c63',
    webhookSecret: 'whsec-3f7a9c1e5d2b8046a1c9',
    mirrorPassword: 'mirrorpass-6d2e8a4c0f1b9357',
    urlPassword: 'urlpass-1a9c7e5b3d2f8046',
    malformed: 'malformed-9e7c5a3b1d2f4068',
    invalid: 'invalid-4b2d8f6a0c9e1357',
  };

  beforeAll(async () => {
    const stream = logLines((l) => {
      if (l) lines.push(l);
    });
    server = await startTestServer({ store, log: { level: 'trace', stream } });
  });
  afterAll(async () => server?.close());

  it('sends each secret where it belongs, and where it does not', async () => {
    const admin = new Api(server.url, server.adminToken);
    const user = admin.with((await admin.req('POST', '/api/v1/users', { username: 'keeper' })).body.token);
    const answers: number[] = [];
    // A model card: its probe calls out (to a refused address), then fails.
    answers.push((await user.req('POST', '/v1/model_cards', { model_id: 'c1', provider: 'oai-compatible', model: 'm', base_url: 'http://127.0.0.1:9/v1', api_key: SECRETS.cardKey })).status);
    answers.push((await admin.req('POST', '/registry/', { name: 'Logs', namespace: 'prod' })).status);
    answers.push((await admin.req('POST', '/registry/secret', { secret: { key: 'LOGGED_KEY', scope: 'global' }, value: SECRETS.secretValue })).status);
    answers.push((await user.req('POST', '/api/v1/users/keeper/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['package.published'], secret: SECRETS.webhookSecret })).status);
    answers.push((await admin.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'm1', url: 'http://127.0.0.1:9', username: 'token', password: SECRETS.mirrorPassword })).status);
    answers.push((await admin.req('POST', '/api/v1/mirrors', { kind: 'mcp', name: 'm2', url: `http://user:${SECRETS.urlPassword}@127.0.0.1:9` })).status);
    // Reads through the mirrors: each calls out and fails.
    answers.push((await user.req('GET', '/v0.1/servers?limit=5')).status);
    answers.push((await user.req('GET', '/registry/m1/v0.1/servers')).status);
    // Refusals quoting the body: malformed JSON, a wrong type next to the secret.
    answers.push(
      (
        await fetch(`${server.url}/registry/secret`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
          body: `{"value":"${SECRETS.malformed}",`,
        })
      ).status,
    );
    answers.push((await user.req('POST', '/api/v1/users/keeper/webhooks', { url: 42, events: 'x', secret: SECRETS.invalid })).status);
    answers.push((await user.req('POST', '/v1/model_cards', { model_id: 5, api_key: SECRETS.invalid })).status);
    for (const s of answers) expect(s).toBeLessThan(500);
    expect(answers).toContain(400);
  });

  it('finds none of them in any log line', async () => {
    await new Promise((r) => setTimeout(r, 200));
    expect(lines.length).toBeGreaterThan(10);
    for (const [name, secret] of Object.entries(SECRETS)) {
      const leaking = lines.filter((l) => l.includes(secret));
      expect(leaking, `${name} appears in ${leaking.length} log line(s): ${leaking[0]?.slice(0, 400)}`).toEqual([]);
    }
  });
});
