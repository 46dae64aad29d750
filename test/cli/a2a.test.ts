import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestA2aServer, type TestA2aServer } from '../helpers/a2a-agent.js';
import { startManagedFixture, type ManagedFixture } from '../managed/managed-harness.js';
import { assertBuilt, runCli } from './cli-harness.js';

/** Issue 20: `agentry a2a import <url> | --file card.json`, then `agentry run` answers through the remote agent. */
describe('agentry a2a import', () => {
  let f: ManagedFixture;
  let a2a: TestA2aServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    assertBuilt();
    a2a = await startTestA2aServer();
    f = await startManagedFixture('sqlite', { egressAllow: '127.0.0.1' });
    expect((await f.alice.req('POST', '/v1/environments', { name: 'cli-env' })).status).toBe(200);
    env = { AGENTRY_REGISTRY: f.server.url, AGENTRY_TOKEN: f.aliceToken, AGENTRY_CONFIG: '/nonexistent/agentry.json' };
  }, 60_000);
  afterAll(async () => {
    await f?.server.close();
    await a2a?.close();
  });

  it('imports by URL and by file, and agentry run gets the remote agent’s answer', async () => {
    const byUrl = await runCli(['a2a', 'import', a2a.cardUrl('echo')], { env });
    expect(byUrl.code, byUrl.stderr).toBe(0);
    expect(byUrl.stdout).toBe('Imported @alice/test-echo-agent@1.0.0 (kind agent): run it with agentry run @alice/test-echo-agent\n');
    const run = await runCli(['run', '@alice/test-echo-agent', 'ping'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('echo: ping\n');

    const file = join(f.server.dataDir, 'card.json');
    writeFileSync(file, JSON.stringify(a2a.card('stream')));
    const byFile = await runCli(['a2a', 'import', '--file', file, '--name', 'streamer', '--json'], { env });
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(JSON.parse(byFile.stdout)).toMatchObject({ full_name: '@alice/streamer', kind: 'agent', version: '1.0.0' });
    const streamed = await runCli(['run', '@alice/streamer', 'pong'], { env });
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(streamed.stdout).toContain('streamed: pong\n');
  });
});
