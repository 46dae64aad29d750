import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentYaml } from '../helpers/packages.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { CliWorkspace, assertBuilt } from './cli-harness.js';

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** The file under `dir` named `name` (the fs blob store keeps a blob under its hex digest). */
const findFile = (dir: string, name: string): string | undefined => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const found = findFile(p, name);
      if (found) return found;
    } else if (e.name === name) return p;
  }
  return undefined;
};

describe.each(testStores)('agentry keygen, sign, publish --sign, pull --verify (%s)', (store) => {
  let server: TestServer;
  let ws: CliWorkspace;
  let aliceToken: string;
  let bobToken: string;
  let alice: Api;
  const bumpTo = (version: string): void => {
    const yaml = ws.path('signed', 'agent.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(/version: .*/, `version: ${version}`));
  };

  beforeAll(async () => {
    assertBuilt();
    server = await startTestServer({ store });
    ws = new CliWorkspace(server.url);
    const admin = new Api(server.url, server.adminToken);
    aliceToken = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token;
    bobToken = (await admin.req('POST', '/api/v1/users', { username: 'bob' })).body.token;
    alice = new Api(server.url, aliceToken);
    await ws.ok(['login', '--token', aliceToken]);
    mkdirSync(ws.path('signed'));
    writeFileSync(ws.path('signed', 'agent.yaml'), agentYaml({ name: 'signed', version: '0.1.0', scope: 'alice', description: 'A signed agent' }));
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.close();
  });

  it('makes key pairs, the private key 0600, and never overwrites one', async () => {
    const made = await ws.json<{ key_id: string; type: string }>(['keygen']);
    expect(made.type).toBe('ecdsa-p256');
    expect(made.key_id).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(ws.path('key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(ws.path('pub.pem'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect((await ws.ok(['keygen', '--type', 'ed25519', '--key', 'ed.pem', '--pub', 'ed.pub'])).trim()).toMatch(/^Wrote the private key to ed\.pem/);
    const again = await ws.run(['keygen']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/key\.pem already exists/);
    const badType = await ws.run(['keygen', '--type', 'rsa', '--key', 'r.pem', '--pub', 'r.pub']);
    expect(badType.stderr).toMatch(/ecdsa-p256, ed25519/);
    expect(existsSync(ws.path('r.pem'))).toBe(false);
  });

  it('signs a published version as a referrer, shows it in the API, and pull --verify checks it', async () => {
    await ws.ok(['publish', 'signed']);
    const before = await alice.req('GET', '/api/v1/agents/@alice/signed/versions/0.1.0/signatures');
    expect(before.body).toMatchObject({ package: '@alice/signed', version: '0.1.0', signed: false, signatures: [] });

    const keyId = (await ws.json<{ key_id: string }>(['keygen', '--key', 'k2.pem', '--pub', 'k2.pub'])).key_id;
    const signed = await ws.json<{ key_id: string; digest: string }>(['sign', '@alice/signed@latest', '--key', 'k2.pem']);
    expect(signed.key_id).toBe(keyId);
    const after = await alice.req('GET', '/api/v1/packages/@alice/signed/versions/latest/signatures');
    expect(after.body).toMatchObject({ version: '0.1.0', signed: true, signatures: [{ key_id: keyId, digest: signed.digest, trusted: null }] });
    expect(after.body.signatures[0].bundle.mediaType).toBe(BUNDLE_TYPE);

    // An ordinary OCI referrer of the version's artifact, so an OCI copy carries it.
    const manifest = await alice.req('GET', '/v2/alice/signed/manifests/0.1.0', undefined, { accept: 'application/vnd.oci.image.manifest.v1+json' });
    const subject = manifest.headers.get('docker-content-digest')!;
    const referrers = await alice.req('GET', `/v2/alice/signed/referrers/${subject}?artifactType=${encodeURIComponent(BUNDLE_TYPE)}`);
    expect(referrers.body.manifests).toEqual([expect.objectContaining({ digest: signed.digest, artifactType: BUNDLE_TYPE })]);

    const ok = await ws.ok(['pull', '@alice/signed', '--verify', '--key', 'k2.pub', '--out', 'pulled-ok']);
    expect(ok.trim()).toMatch(new RegExp(`signature verified with key ${keyId}$`));
    expect(existsSync(ws.path('pulled-ok', 'agent.yaml'))).toBe(true);

    const wrong = await ws.run(['pull', '@alice/signed@0.1.0', '--verify', '--out', 'pulled-wrong'], { env: { AGENTRY_TRUSTED_KEYS: `${ws.path('pub.pem')}:${ws.path('ed.pub')}` } });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/no signature of @alice\/signed@0\.1\.0 verifies with the trusted keys; nothing was extracted/);
    expect(wrong.stderr).toMatch(new RegExp(`made with key ${keyId}, which is not a trusted key`));
    expect(existsSync(ws.path('pulled-wrong'))).toBe(false);

    const noKey = await ws.run(['pull', '@alice/signed', '--verify', '--out', 'pulled-nokey']);
    expect(noKey.stderr).toMatch(/--verify needs a public key/);
  });

  it('publish --sign signs with Ed25519 too; AGENTRY_TRUSTED_KEYS lists the keys; an unsigned version fails --verify', async () => {
    bumpTo('0.2.0');
    expect((await ws.ok(['publish', 'signed', '--sign', '--key', 'ed.pem'])).trim()).toMatch(/^Published @alice\/signed@0\.2\.0 .*, signed$/);
    const env = { AGENTRY_TRUSTED_KEYS: `${ws.path('pub.pem')},${ws.path('ed.pub')}` };
    expect(await ws.ok(['pull', '@alice/signed@0.2.0', '--verify', '--out', 'pulled-ed'], { env })).toMatch(/signature verified/);
    bumpTo('0.2.1');
    await ws.ok(['publish', 'signed']);
    const unsigned = await ws.run(['pull', '@alice/signed@0.2.1', '--verify', '--out', 'pulled-unsigned'], { env });
    expect(unsigned.stderr).toMatch(/@alice\/signed@0\.2\.1 is not signed; nothing was extracted/);
    expect(existsSync(ws.path('pulled-unsigned'))).toBe(false);
  });

  it('refuses a tampered tarball or a signature of other bytes, extracting nothing', async () => {
    const sig = await alice.req('GET', '/api/v1/agents/@alice/signed/versions/0.1.0/signatures');
    const bundle = sig.body.signatures[0].bundle;
    // The same signature offered for another version: its statement names 0.1.0's tarball.
    const replayed = await alice.req('POST', '/api/v1/agents/@alice/signed/versions/0.2.1/signatures', { bundle });
    expect(replayed.status).toBe(422);
    expect(replayed.body.error).toMatch(/The signature is for @alice\/signed@0\.1\.0, not @alice\/signed@0\.2\.1/);
    const garbage = await alice.req('POST', '/api/v1/agents/@alice/signed/versions/0.2.1/signatures', { bundle: { mediaType: BUNDLE_TYPE } });
    expect(garbage.status).toBe(422);
    expect(garbage.body.error).toMatch(/not a Sigstore bundle/);

    const file = findFile(server.dataDir, sig.body.sha256);
    expect(file).toBeDefined();
    const bytes = readFileSync(file!);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(file!, bytes);
    const tampered = await ws.run(['pull', '@alice/signed@0.1.0', '--verify', '--key', 'k2.pub', '--out', 'pulled-tampered']);
    expect(tampered.code).not.toBe(0);
    expect(tampered.stderr).toMatch(/sha256/);
    expect(existsSync(ws.path('pulled-tampered'))).toBe(false);
  });

  it('lets only the scope write signatures and only its owners set its policy', async () => {
    const bobSigns = await ws.run(['sign', '@alice/signed@0.2.1', '--key', 'ed.pem', '--token', bobToken]);
    expect(bobSigns.code).not.toBe(0);
    expect(bobSigns.stderr).toMatch(/You can only publish under @bob scope/);
    const bob = new Api(server.url, bobToken);
    const bundle = (await alice.req('GET', '/api/v1/agents/@alice/signed/versions/0.2.0/signatures')).body.signatures[0].bundle;
    const bobAttaches = await bob.req('POST', '/api/v1/agents/@alice/signed/versions/0.2.0/signatures', { bundle });
    expect(bobAttaches.status).toBe(403);
    expect((await alice.req('GET', '/api/v1/agents/@alice/signed/versions/0.2.0/signatures')).body.signatures).toHaveLength(1);
    const bobPolicy = await bob.req('PUT', '/api/v1/scopes/alice/signing', { required: false, keys: [readFileSync(ws.path('ed.pub'), 'utf8')] });
    expect(bobPolicy.status).toBe(403);
    expect(bobPolicy.body.error).toMatch(/Only an owner of @alice/);
    const anonSigns = await new Api(server.url).req('POST', '/api/v1/agents/@alice/signed/versions/0.2.1/signatures', { bundle: {} });
    expect(anonSigns.status).toBe(401);
  });

  it('refuses publishes to a scope that requires signatures unless signed with a key it trusts', async () => {
    const empty = await alice.req('PUT', '/api/v1/scopes/alice/signing', { required: true, keys: [] });
    expect(empty.status).toBe(400);
    const notAKey = await alice.req('PUT', '/api/v1/scopes/alice/signing', { required: true, keys: ['hello'] });
    expect(notAKey.status).toBe(400);
    expect(notAKey.body.details.join()).toMatch(/keys\[0\] is not a PEM public key/);

    const set = await ws.ok(['scope', 'signing', '@alice', '--trust', 'pub.pem', '--require']);
    expect(set).toMatch(/@alice: publishes must be signed; 1 trusted key/);
    bumpTo('0.3.0');
    const unsigned = await ws.run(['publish', 'signed']);
    expect(unsigned.code).not.toBe(0);
    expect(unsigned.stderr).toMatch(/@alice requires signed packages/);
    const untrusted = await ws.run(['publish', 'signed', '--sign', '--key', 'ed.pem']);
    expect(untrusted.stderr).toMatch(/not a trusted key/);
    expect((await alice.req('GET', '/api/v1/agents/@alice/signed/versions/0.3.0/signatures')).status).toBe(404);
    expect(await ws.ok(['publish', 'signed', '--sign', '--key', 'key.pem'])).toMatch(/Published @alice\/signed@0\.3\.0 .*, signed/);
    const listed = await alice.req('GET', '/api/v1/agents/@alice/signed/versions/0.3.0/signatures');
    expect(listed.body.signatures).toEqual([expect.objectContaining({ trusted: true })]);
    // Earlier signatures by keys the scope does not trust show as untrusted.
    expect((await alice.req('GET', '/api/v1/agents/@alice/signed/versions/0.2.0/signatures')).body.signatures).toEqual([expect.objectContaining({ trusted: false })]);
    // A signature whose envelope was altered does not verify.
    const bundle = listed.body.signatures[0].bundle;
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString().replace('"predicate":{}', '"predicate":{"x":1}');
    const altered = { ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope, payload: Buffer.from(payload).toString('base64') } };
    const refused = await alice.req('POST', '/api/v1/agents/@alice/signed/versions/0.3.0/signatures', { bundle: altered });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatch(/does not verify with key/);
    expect(await ws.json(['scope', 'signing', '@alice', '--no-require'])).toMatchObject({ scope: '@alice', required: false });
  });
});
