import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plantedSecrets } from '../../bench/planted-secrets.mjs';
import { childServerWithAlice } from '../helpers/child-server.js';
import { Api, agentTarball, agentYaml, makeTarball } from '../helpers/packages.js';
import { rawTar } from '../helpers/raw-tar.js';
import { testStores } from '../helpers/server.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * The built server checks publishes in a worker thread (adapters/publish-check; under the test
 * runner's TypeScript sources the check runs in the server's own thread, so this runs the built
 * server as a child process). Whatever the worker answers must be what the check answers in the
 * thread: the version and its bytes, a re-packed tarball's bytes, each refusal with its status,
 * message and details, and many checks at once, each to its own publish.
 */
describe.each(testStores)('publish checks in a worker thread (%s)', (store) => {
  let api: Api;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ api, close } = await childServerWithAlice(store, 'check-worker'));
  });
  afterAll(async () => {
    await close?.();
  });

  const stored = async (name: string, version: string): Promise<Buffer> => {
    const dl = await api.req('GET', `/api/v1/agents/@alice/${name}/download/${version}`);
    expect(dl.status).toBe(200);
    return Buffer.from(await (await fetch(dl.body.tarball_url, { headers: { authorization: `Bearer ${api.token}` } })).arrayBuffer());
  };

  it('publishes many packages at once, each with its own manifest, readme and bytes', async () => {
    const names = Array.from({ length: 24 }, (_, i) => `many-${i}`);
    const tarballs = await Promise.all(names.map((name) => agentTarball({ name, version: '1.2.3', scope: 'alice', description: `the ${name} agent`, readme: `# ${name} readme\n` })));
    const results = await Promise.all(names.map((name, i) => api.publish(`/api/v1/agents/@alice/${name}`, tarballs[i])));
    for (const [i, r] of results.entries()) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ version: '1.2.3', full_name: `@alice/${names[i]}`, sha256: sha256(tarballs[i]) });
    }
    for (const [i, name] of names.entries()) {
      const detail = await api.req('GET', `/api/v1/agents/@alice/${name}`);
      expect(detail.body).toMatchObject({ description: `the ${name} agent`, latest_version: '1.2.3' });
      expect(detail.body.readme).toContain(`# ${name} readme`);
      expect(sha256(await stored(name, '1.2.3'))).toBe(sha256(tarballs[i]));
    }
  });

  it('stores the re-packed bytes of a tarball with a setuid bit, as the check gave them', async () => {
    const tgz = gzipSync(
      rawTar([
        { path: 'agent.yaml', body: agentYaml({ name: 'suid', version: '1.0.0', scope: 'alice' }), mode: 0o4644 },
        { path: 'run.sh', body: '#!/bin/sh\necho hi\n', mode: 0o6755 },
      ]),
    );
    const r = await api.publish('/api/v1/agents/@alice/suid', tgz);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const bytes = await stored('suid', '1.0.0');
    expect(sha256(bytes)).toBe(r.body.sha256);
    expect(sha256(bytes)).not.toBe(sha256(tgz));
  });

  it('answers each refusal of the check with its status, message and details, and stores nothing', async () => {
    const mismatch = await api.publish('/api/v1/agents/@alice/other', await agentTarball({ name: 'named', version: '1.0.0', scope: 'alice' }));
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.details).toEqual(["agent.yaml: name 'named' does not match the package being published ('other')"]);

    const notGzip = await api.publish('/api/v1/agents/@alice/broken', Buffer.from('not a tarball at all'));
    expect(notGzip.status).toBe(400);

    const secret = plantedSecrets(7, 1)[0];
    const leaky = await api.publish('/api/v1/agents/@alice/leaky', await makeTarball({ 'agent.yaml': agentYaml({ name: 'leaky', version: '1.0.0', scope: 'alice' }), [secret.file]: secret.text }));
    expect(leaky.status).toBe(422);
    expect(leaky.body.details).toEqual([expect.stringMatching(new RegExp(`^${secret.file.replace(/\./g, '\\.')}:${secret.line}: ${secret.rule} `))]);

    const badTag = await api.publish('/api/v1/agents/@alice/tagged', await agentTarball({ name: 'tagged', version: '1.0.0', scope: 'alice' }), { tag: 'v1.0.0' });
    expect(badTag.status).toBe(400);
    expect(badTag.body.details).toEqual(["dist-tag 'v1.0.0' looks like a version"]);

    for (const name of ['other', 'broken', 'leaky', 'tagged']) expect((await api.req('GET', `/api/v1/agents/@alice/${name}`)).status).toBe(404);
    // The worker is still there for the next publish.
    const after = await api.publish('/api/v1/agents/@alice/after', await agentTarball({ name: 'after', version: '1.0.0', scope: 'alice' }));
    expect(after.status, JSON.stringify(after.body)).toBe(200);
  });
});
