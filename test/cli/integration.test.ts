import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startManagedFixture, type ManagedFixture } from '../managed/managed-harness.js';
import { assertBuilt, runCli } from './cli-harness.js';

describe('agentry integration', () => {
  let f: ManagedFixture;
  let env: Record<string, string>;

  beforeAll(async () => {
    assertBuilt();
    f = await startManagedFixture('sqlite');
    const environment = await f.alice.req('POST', '/v1/environments', { name: 'cli-env' });
    const made = await f.alice.req('POST', '/v1/agents', { name: 'helper', model: 'claude-sonnet-4-6', environment_id: environment.body.id });
    if (made.status !== 200) throw new Error(`agent: ${made.status}`);
    env = { AGENTRY_REGISTRY: f.server.url, AGENTRY_TOKEN: f.aliceToken, AGENTRY_CONFIG: '/nonexistent/agentry.json' };
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
  });

  it('adds (secrets from a file and stdin), lists, shows, publishes an agent by name, and removes; never prints a secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentry-intg-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'bot'), 'xoxb-cli-secret-bot-token\n');
    const add = await runCli(['integration', 'add', 'slack', '--name', 'Team Slack', '--credential', `bot_token=@${join(dir, 'bot')}`, '--credential', 'signing_secret=-'], {
      env,
      input: 'cli-signing-secret-123\n',
    });
    expect(add.code, add.stderr).toBe(0);
    const id = /\((intg_\w+)\)/.exec(add.stdout)![1];
    expect(add.stdout).toContain('credentials:  bot_token, signing_secret');
    expect(add.stdout).toContain(`/v1/integrations/${id}/events`);

    const ls = await runCli(['integration', 'ls'], { env });
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`${id}\\s+slack\\s+Team Slack\\s+active`));
    expect(ls.stdout).toMatch(/Providers: slack/);
    const json = JSON.parse((await runCli(['integration', 'ls', '--json'], { env })).stdout);
    expect(json.data.map((i: { id: string }) => i.id)).toEqual([id]);
    const show = await runCli(['integration', 'show', id, '--json'], { env });
    expect(JSON.parse(show.stdout)).toMatchObject({ id, provider: 'slack', status: 'active' });
    for (const out of [add.stdout, ls.stdout, show.stdout]) {
      expect(out).not.toContain('xoxb-cli-secret-bot-token');
      expect(out).not.toContain('cli-signing-secret-123');
    }

    const pub = await runCli(['integration', 'publication', 'add', id, '--agent', 'helper', '--channel', 'C0CLI'], { env });
    expect(pub.code, pub.stderr).toBe(0);
    const pubId = /\((\w+)\)$/m.exec(pub.stdout)![1];
    const pubs = await runCli(['integration', 'publication', 'ls', id], { env });
    expect(pubs.stdout).toMatch(new RegExp(`${pubId}\\s+agent_\\w+\\s+C0CLI\\s+any`));
    expect((await runCli(['integration', 'publication', 'rm', id, pubId], { env })).stdout).toContain(`Deleted ${pubId}`);

    // An OAuth install prints where to go; mistakes are one clear line and a non-zero exit.
    const oauth = await runCli(['integration', 'add', 'slack', '--credential', 'client_id=c1', '--credential', 'client_secret=s1', '--credential', 'signing_secret=x', '--json'], { env });
    expect(oauth.code, oauth.stderr).toBe(0);
    const pending = JSON.parse(oauth.stdout);
    expect(pending.status).toBe('pending');
    expect(pending.install_url).toMatch(/client_id=c1/);
    const bad = await runCli(['integration', 'add', 'nope', '--credential', 'a=b'], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown provider 'nope'/);

    expect((await runCli(['integration', 'rm', id], { env })).stdout).toContain(`Deleted ${id}`);
    expect((await f.alice.req('GET', '/v1/integrations')).body.data.map((i: { id: string }) => i.id)).toEqual([pending.id]);
  }, 60_000);
});
