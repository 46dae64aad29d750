import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, agentTarball } from '../helpers/packages.js';
import { agentYamlEntry, rawTar, rawTarGz, type RawEntry } from '../helpers/raw-tar.js';
import { expectError, expectHealthy, expectNothingWritten, registryState } from '../helpers/refusals.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Size limits and malformed bodies, against a server started with small limits: bombs, too many
 * files and oversized bodies get 413, malformed JSON or multipart 400, a wrong Content-Type 415.
 * Nothing is written and the server keeps serving.
 */
const KB = 1024;
const MB = 1024 * KB;
let bombCache: Buffer | undefined;
/** 50 MB of zeros behind a valid agent.yaml, gzipped to ~50 KB (built once per file). */
const gzipBomb = (manifest: RawEntry): Buffer => (bombCache ??= gzipSync(rawTar([manifest, { path: 'zeros.bin', body: Buffer.alloc(50 * MB) }]), { level: 9 }));

describe.each(testStores)('bad input: limits and malformed bodies (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  const path = '/api/v1/agents/@alice/helper';
  const manifest = agentYamlEntry({ name: 'helper', version: '1.0.0', scope: 'alice' });

  const refused = async (send: () => Promise<{ status: number; body: any }>, status: number, error: string | RegExp, details?: Array<string | RegExp>) => {
    const before = await registryState(server, admin, ['helper']);
    expectError(await send(), status, error, details);
    await expectNothingWritten(server, admin, before);
  };
  /** A raw request with the caller's token. */
  const raw = (method: string, url: string, body: string | Uint8Array, contentType?: string) => alice.req(method, url, body, contentType === undefined ? {} : { 'content-type': contentType });

  beforeAll(async () => {
    server = await startTestServer({ store, limits: { maxUnpackedBytes: 1 * MB, maxFiles: 20, maxTarballBytes: 256 * KB } });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
  });
  afterAll(() => server?.close());

  describe('tarball limits (413)', () => {
    it('refuses a gzip bomb: 50 MB of zeros in a ~50 KB tarball', async () => {
      const bomb = gzipBomb(manifest);
      expect(bomb.length).toBeLessThan(256 * KB);
      await refused(() => alice.publish(path, bomb), 413, 'The tarball expands beyond the limit of 1048576 bytes');
    });

    it('refuses a tarball holding more files than allowed, directories included', async () => {
      const files = Array.from({ length: 25 }, (_, i): RawEntry => ({ path: `prompts/p${i}.md`, body: `prompt ${i}` }));
      await refused(() => alice.publish(path, rawTarGz([manifest, ...files])), 413, 'The tarball holds more than 20 files');
      const dirs = Array.from({ length: 25 }, (_, i): RawEntry => ({ path: `d${i}/`, type: 'dir' }));
      await refused(() => alice.publish(path, rawTarGz([manifest, ...dirs])), 413, 'The tarball holds more than 20 files');
    });

    it('refuses a tarball bigger than the upload limit', async () => {
      const big = rawTarGz([manifest, { path: 'noise.bin', body: randomBytes(300 * KB) }]);
      expect(big.length).toBeGreaterThan(256 * KB);
      await refused(() => alice.publish(path, big), 413, 'Request body is too large', ['request file too large']);
    });

    it('accepts a tarball just under every limit (the control)', async () => {
      const files = Array.from({ length: 18 }, (_, i): RawEntry => ({ path: `f${i}.bin`, body: randomBytes(10 * KB) }));
      const ok = rawTarGz([manifest, { path: 'README.md', body: '# helper' }, ...files]);
      expect(ok.length).toBeLessThan(256 * KB);
      expect((await alice.publish(path, ok)).status).toBe(200);
      expect((await alice.req('GET', `${path}/versions`)).body.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0']);
    });
  });

  describe('JSON bodies', () => {
    it('refuses a JSON body over the size limit with 413', async () => {
      await refused(() => alice.req('POST', '/api/v1/tokens', { name: 'x'.repeat(MB + 10), permission: 'read' }), 413, 'Request body is too large');
    });

    it('refuses malformed and empty JSON with 400', async () => {
      await refused(() => raw('POST', '/api/v1/tokens', '{"name": "ci", "permission": ', 'application/json'), 400, 'Malformed JSON in request body');
      await refused(() => raw('POST', '/api/v1/tokens', "{'name': 'ci'}", 'application/json'), 400, 'Malformed JSON in request body');
      await refused(() => raw('POST', '/api/v1/tokens', '', 'application/json'), 400, 'Request body is empty but Content-Type is application/json');
      await refused(() => raw('PUT', `${path}/dist-tags/beta`, '{"version":', 'application/json'), 400, 'Malformed JSON in request body');
      await refused(() => admin.req('POST', '/api/v1/users', '{"username": "mallory"', { 'content-type': 'application/json' }), 400, 'Malformed JSON in request body');
      expect((await alice.req('GET', '/api/v1/users/mallory')).status).toBe(404);
    });

    it('refuses JSON of the wrong shape with 400 naming the field', async () => {
      await refused(() => alice.req('POST', '/api/v1/tokens', { permission: 'read' }), 400, 'Validation failed', ["body: missing required field 'name'"]);
      await refused(() => alice.req('POST', '/api/v1/tokens', { name: 'x', permission: 'root' }), 400, 'Validation failed', ['body.permission: must be one of read, publish, admin, runtime']);
      await refused(() => alice.req('POST', '/api/v1/tokens', { name: 'x', permission: 'read', expires_in_days: 0 }), 400, 'Validation failed', ['body.expires_in_days: must be >= 1']);
      await refused(() => alice.req('POST', '/api/v1/tokens', ['not', 'an', 'object']), 400, 'Validation failed');
      // Unknown fields are refused, not dropped: a misspelt expiry would make a token that never expires, a misspelt dry run would remove blobs.
      await refused(() => alice.req('POST', '/api/v1/tokens', { name: 'x', permission: 'read', expires_in: 7 }), 400, 'Validation failed', ["body: unknown field 'expires_in'"]);
      await refused(() => admin.req('POST', '/api/v1/users', { username: 'mallory', is_admin: false }), 400, 'Validation failed', ["body: unknown field 'is_admin'"]);
      await refused(() => admin.req('POST', '/api/v1/orgs', { name: 'evil-corp', displayName: 'Evil' }), 400, 'Validation failed', ["body: unknown field 'displayName'"]);
      await refused(() => admin.req('POST', '/api/v1/admin/gc', { dryrun: true, grace_seconds: 0 }), 400, 'Validation failed', ["body: unknown field 'dryrun'"]);
      await refused(() => alice.req('POST', '/api/v1/a2a/imports', { url: 'https://agent.example/card.json', package: 'x' }), 400, 'Validation failed', ["body: unknown field 'package'"]);
    });

    it('refuses unknown fields on the native writes whose every field is required, naming the field', async () => {
      // Without the strict validator each would be handled with the field dropped (a misspelt word ignored, the request done).
      const unknown = (field: string) => [`body: unknown field '${field}'`];
      await refused(() => alice.req('PUT', '/api/v1/access/@alice/helper', { visibility: 'private', recursive: true }), 400, 'Validation failed', unknown('recursive'));
      await refused(() => alice.req('PUT', '/api/v1/access/@alice', { visibility: 'private', existing: true }), 400, 'Validation failed', unknown('existing'));
      await refused(() => admin.req('PUT', '/api/v1/orgs/acme/members/alice', { role: 'member', expires_in_days: 1 }), 400, 'Validation failed', unknown('expires_in_days'));
      await refused(() => alice.req('PUT', `${path}/dist-tags/beta`, { version: '1.0.0', pin: true }), 400, 'Validation failed', unknown('pin'));
      await refused(() => alice.req('POST', `${path}/versions/1.0.0/deprecate`, { message: 'old', all_versions: true }), 400, 'Validation failed', unknown('all_versions'));
      await refused(() => admin.req('POST', '/api/v1/scopes', { name: 'io.github.alice', owner: 'alice', visibility: 'private' }), 400, 'Validation failed', unknown('visibility'));
      await refused(() => alice.req('POST', `${path}/versions/1.0.0/signatures`, { bundle: {}, key_id: 'x' }), 400, 'Validation failed', unknown('key_id'));
      await refused(() => alice.req('PUT', '/api/v1/scopes/@alice/signing', { required: true, keys: [], require: true }), 400, 'Validation failed', unknown('require'));
      const hook = { url: 'https://hooks.example/agentry', events: ['package.published'], secret: 's3cret' };
      await refused(() => admin.req('POST', '/api/v1/orgs/acme/webhooks', { ...hook, active: true }), 400, 'Validation failed', unknown('active'));
      await refused(() => alice.req('POST', '/api/v1/users/alice/webhooks', { ...hook, content_type: 'json' }), 400, 'Validation failed', unknown('content_type'));
    });
  });

  describe('publish bodies', () => {
    it('refuses a publish that is not multipart with 415 and says what it expects', async () => {
      const expected = "Publishing expects multipart/form-data with the package in a 'tarball' file field";
      await refused(() => alice.req('PUT', path, { tarball: 'base64?' }), 415, expected);
      await refused(() => raw('PUT', path, 'hello', 'text/plain'), 415, expected);
      const tgz = await agentTarball({ name: 'helper', version: '2.0.0', scope: 'alice' });
      await refused(() => raw('PUT', path, tgz, 'application/gzip'), 415, "Unsupported Content-Type 'application/gzip'", [
        "publishing expects multipart/form-data with the package in a 'tarball' file field",
      ]);
      await refused(() => raw('PUT', path, tgz, 'application/octet-stream'), 415, "Unsupported Content-Type 'application/octet-stream'", [
        "publishing expects multipart/form-data with the package in a 'tarball' file field",
      ]);
      await refused(() => raw('PUT', path, 'name=helper', 'application/x-www-form-urlencoded'), 415, /^Unsupported Content-Type/);
    });

    it('refuses malformed multipart with 400 (not 500)', async () => {
      const mp = (boundary: string) => `multipart/form-data; boundary=${boundary}`;
      const head = '--XX\r\nContent-Disposition: form-data; name="tarball"; filename="p.tgz"\r\nContent-Type: application/gzip\r\n\r\n';
      await refused(() => raw('PUT', path, 'hello', 'multipart/form-data'), 400, 'Malformed multipart/form-data body', ["the Content-Type header has no 'boundary' parameter"]);
      await refused(() => raw('PUT', path, `${head}\u001f\u008bhalf a tarball`, mp('XX')), 400, 'Malformed multipart/form-data body', ['the body ends before its closing multipart boundary']);
      await refused(() => raw('PUT', path, 'no parts at all, just text', mp('XX')), 400, 'Malformed multipart/form-data body');
      await refused(() => raw('PUT', path, '--x', mp('b'.repeat(300))), 400, 'Malformed multipart/form-data body', ['the multipart boundary is too long']);
    });

    it('refuses multipart forms without a proper tarball file', async () => {
      const form = (build: (f: FormData) => void) => {
        const f = new FormData();
        build(f);
        return f;
      };
      await refused(
        () =>
          alice.req(
            'PUT',
            path,
            form((f) => f.set('readme', '# x')),
          ),
        400,
        'Validation failed',
        ["body: missing required field 'tarball'"],
      );
      await refused(
        () =>
          alice.req(
            'PUT',
            path,
            form((f) => f.set('tarball', 'not a file')),
          ),
        400,
        'Validation failed',
        ['body.tarball: must be an uploaded file'],
      );
      const tgz = await agentTarball({ name: 'helper', version: '2.0.0', scope: 'alice' });
      await refused(
        () =>
          alice.req(
            'PUT',
            path,
            form((f) => {
              f.append('tarball', new Blob([tgz]), 'a.tgz');
              f.append('tarball', new Blob([tgz]), 'b.tgz');
            }),
          ),
        413,
        'Request body is too large',
        ['reach files limit'],
      );
      await refused(
        () =>
          alice.req(
            'PUT',
            path,
            form((f) => {
              f.append('tarball', new Blob([tgz]), 'a.tgz');
              for (let i = 0; i < 12; i++) f.append(`field${i}`, 'x');
            }),
          ),
        413,
        'Request body is too large',
        ['reach fields limit'],
      );
      await refused(
        () =>
          alice.req(
            'PUT',
            path,
            form((f) => {
              f.append('tarball', new Blob([tgz]), 'a.tgz');
              f.append('readme', 'one');
              f.append('readme', 'two');
            }),
          ),
        400,
        'Validation failed',
        ['body.readme: must be string'],
      );
      await refused(
        () =>
          alice.req(
            'PUT',
            path,
            form((f) => {
              f.append('tarball', new Blob([tgz]), 'a.tgz');
              f.append('readme', 'x'.repeat(1_000_001));
            }),
          ),
        400,
        'Validation failed',
        ['body.readme: must NOT have more than 1000000 characters'],
      );
    });
  });

  describe('URLs', () => {
    // The router refuses these before any route runs; they must still come in the native shape.
    it('answers an over-long name segment in the native error shape', async () => {
      const r = await alice.publish(`/api/v1/agents/@alice/${'a'.repeat(101)}`, await agentTarball({ name: 'helper', version: '1.0.0', scope: 'alice' }));
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.code).toBeUndefined();
      expect(r.body.statusCode).toBeUndefined();
    });

    it('answers bad percent-encoding in the native error shape', async () => {
      const r = await alice.req('GET', '/api/v1/agents/%E0%A4%A');
      expect(r.status).toBe(400);
      expect(r.body.code).toBeUndefined();
      expect(r.body.statusCode).toBeUndefined();
    });

    it('still refuses them with a 4xx and writes nothing', async () => {
      const before = await registryState(server, admin, ['helper']);
      const long = await alice.publish(`/api/v1/agents/@alice/${'a'.repeat(101)}`, await agentTarball({ name: 'helper', version: '1.0.0', scope: 'alice' }));
      expect(long.status).toBe(414);
      expect((await alice.req('GET', '/api/v1/agents/%E0%A4%A')).status).toBe(400);
      await expectNothingWritten(server, admin, before);
    });
  });

  it('keeps serving after all of the above', async () => {
    await expectHealthy(server);
    const r = await alice.publish(path, await agentTarball({ name: 'helper', version: '1.1.0', scope: 'alice' }));
    expect(r.status).toBe(200);
  });
});
