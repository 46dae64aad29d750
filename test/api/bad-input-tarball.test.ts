import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { agentYamlEntry, paxRecord, rawTar, rawTarGz, type RawEntry } from '../helpers/raw-tar.js';
import { expectError, expectNothingWritten, registryState } from '../helpers/refusals.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';

/**
 * Tarballs that are not safe to extract anywhere, built by hand (normal tools sanitise them):
 * each is refused with 400 and a detail naming the entry, writes nothing, and the server serves on.
 */
describe.each(testStores)('bad input: tarball safety (%s)', (store) => {
  let server: TestServer;
  let admin: Api;
  let alice: Api;
  const path = '/api/v1/agents/@alice/helper';
  const manifest = agentYamlEntry({ name: 'helper', version: '1.0.0', scope: 'alice' });
  const readme: RawEntry = { path: 'README.md', body: '# helper\n' };

  const refused = async (tgz: Buffer, error: string, details: Array<string | RegExp>): Promise<void> => {
    const before = await registryState(server, admin, ['helper']);
    expectError(await alice.publish(path, tgz), 400, error, details);
    await expectNothingWritten(server, admin, before);
  };
  const invalid = (entries: RawEntry[], details: Array<string | RegExp>) => refused(rawTarGz([manifest, readme, ...entries]), 'The tarball is not a valid package', details);

  beforeAll(async () => {
    server = await startTestServer({ store });
    admin = new Api(server.url, server.adminToken);
    alice = admin.with((await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token);
  });
  afterAll(() => server?.close());

  it('refuses a tarball that is not gzip', async () => {
    const details = ['tarball: expected a .tar.gz file (gzip magic bytes 1f 8b)'];
    await refused(rawTar([manifest, readme]), 'The tarball is not gzip-compressed', details);
    await refused(Buffer.from('PK\u0003\u0004 this is a zip, not a tarball'), 'The tarball is not gzip-compressed', details);
    await refused(Buffer.alloc(0), 'The tarball is not gzip-compressed', details);
  });

  it('refuses truncated and corrupt tarballs', async () => {
    const whole = rawTarGz([manifest, readme, { path: 'data.bin', body: Buffer.alloc(20_000, 3) }]);
    await refused(whole.subarray(0, whole.length - 40), 'The tarball is corrupt or truncated', ['tarball: unexpected end of file']);
    const cutTar = gzipSync(rawTar([manifest, { path: 'data.bin', body: Buffer.alloc(600, 1), size: 10_000 }], { end: false }));
    await refused(cutTar, 'The tarball is not a valid package', [/^tarball: Truncated input/]);
    const notTar = gzipSync(Buffer.from('definitely not a tar archive\n'.repeat(50)));
    await refused(notTar, 'The tarball is not a valid package', ['tarball: checksum failure', 'tarball: Unrecognized archive format']);
  });

  it("refuses '..' paths, including ones hidden in pax and GNU long-name headers", async () => {
    await invalid([{ path: '../escape.txt', body: 'x' }], ["tarball: path '../escape.txt' escapes the package with '..'"]);
    await invalid([{ path: 'prompts/../../../etc/cron.d/x', body: 'x' }], ["tarball: path 'prompts/../../../etc/cron.d/x' escapes the package with '..'"]);
    await invalid(
      [
        { path: 'PaxHeader', type: 'pax', body: paxRecord('path', '../../pax-escape') },
        { path: 'harmless.txt', body: 'x' },
      ],
      ["tarball: path '../../pax-escape' escapes the package with '..'"],
    );
    const long = `../${'d'.repeat(150)}`;
    await invalid(
      [
        { path: '././@LongLink', type: 'gnu-longname', body: `${long}\0` },
        { path: 'harmless.txt', body: 'x' },
      ],
      [`tarball: path '${long}' escapes the package with '..'`],
    );
  });

  it('refuses absolute paths', async () => {
    await invalid([{ path: '/etc/passwd', body: 'root::0:0' }], ["tarball: absolute path '/etc/passwd' is not allowed"]);
    await invalid([{ path: 'C:\\Windows\\evil.dll', body: 'x' }], ["tarball: absolute path 'C:\\Windows\\evil.dll' is not allowed"]);
  });

  it('refuses symlinks pointing outside the package', async () => {
    await invalid([{ path: 'prompts/system.md', type: 'symlink', linkpath: '../../../../etc/passwd' }], ["tarball: link 'prompts/system.md' points outside the package (../../../../etc/passwd)"]);
    await invalid([{ path: 'ssh', type: 'symlink', linkpath: '/root/.ssh' }], ["tarball: link 'ssh' points outside the package (/root/.ssh)"]);
    // Two links that each look harmless: `up` is the package folder, so `up/..` is its parent.
    await invalid(
      [
        { path: 'up', type: 'symlink', linkpath: '.' },
        { path: 'esc', type: 'symlink', linkpath: 'up/..' },
      ],
      ["tarball: link 'esc' points outside the package (up/..)"],
    );
    await invalid(
      [
        { path: 'prompts/', type: 'dir' },
        { path: 'p', type: 'symlink', linkpath: 'prompts' },
        { path: 'p/x.md', body: 'through the link' },
      ],
      ["tarball: entry 'p/x.md' lies under the symlink 'p'"],
    );
  });

  it('refuses hard links pointing outside the package', async () => {
    await invalid([{ path: 'passwd', type: 'hardlink', linkpath: '../../etc/passwd' }], ["tarball: link 'passwd' points outside the package (../../etc/passwd)"]);
    await invalid([{ path: 'shadow', type: 'hardlink', linkpath: '/etc/shadow' }], ["tarball: link 'shadow' points outside the package (/etc/shadow)"]);
  });

  it('refuses device files, FIFOs and types the registry cannot inspect', async () => {
    await invalid([{ path: 'dev/zero', type: 'char' }], ["tarball: entry 'dev/zero' has unsupported type CharacterDevice"]);
    await invalid([{ path: 'dev/sda', type: 'block' }], ["tarball: entry 'dev/sda' has unsupported type BlockDevice"]);
    await invalid([{ path: 'fifo', type: 'fifo' }], ["tarball: entry 'fifo' has unsupported type FIFO"]);
    await invalid([{ path: 'sparse.bin', type: 'sparse', body: 'abc' }], ["tarball: entry 'sparse.bin' has unsupported type SparseFile"]);
  });

  it('names every bad entry of one tarball', async () => {
    await invalid(
      [
        { path: '../a', body: 'x' },
        { path: '/b', body: 'x' },
        { path: 'c', type: 'symlink', linkpath: '/etc' },
        { path: 'd', type: 'hardlink', linkpath: '../d' },
        { path: 'e', type: 'char' },
      ],
      [
        "tarball: path '../a' escapes the package with '..'",
        "tarball: absolute path '/b' is not allowed",
        "tarball: entry 'e' has unsupported type CharacterDevice",
        "tarball: link 'c' points outside the package (/etc)",
        "tarball: link 'd' points outside the package (../d)",
      ],
    );
  });

  it('still accepts links that stay inside the package (the control)', async () => {
    const ok = rawTarGz([
      manifest,
      readme,
      { path: 'prompts/', type: 'dir' },
      { path: 'prompts/system.md', body: 'You are helpful.' },
      { path: 'prompts/readme', type: 'symlink', linkpath: '../README.md' },
      { path: 'system.md', type: 'hardlink', linkpath: 'prompts/system.md' },
    ]);
    const r = await alice.publish(path, ok);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, version: '1.0.0' });
  });
});
