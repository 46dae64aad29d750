import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { agentYamlEntry, paxRecord, rawTar, rawTarGz, type RawEntry } from '../../../test/helpers/raw-tar.js';
import { AgentryError } from '../errors.js';
import { inspectTarball, type TarballLimits } from './tarball.js';

const LIMITS: TarballLimits = { maxUnpackedBytes: 1024 * 1024, maxFiles: 20, maxTextFileBytes: 64 * 1024 };
const WANTED = new Set(['agent.yaml', 'README.md']);
const manifest = agentYamlEntry({ name: 'helper', version: '1.0.0', scope: 'alice' });

/** The AgentryError inspectTarball throws for `gz` (fails the test when it accepts it). */
const refusal = async (gz: Buffer, limits: TarballLimits = LIMITS): Promise<AgentryError> => {
  try {
    await inspectTarball(gz, WANTED, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(AgentryError);
    return e as AgentryError;
  }
  throw new Error('the tarball was accepted');
};

const refusedWith = async (entries: RawEntry[], details: string[]): Promise<void> => {
  const e = await refusal(rawTarGz([manifest, ...entries]));
  expect(e.status).toBe(400);
  expect(e.message).toBe('The tarball is not a valid package');
  expect(e.details).toEqual(details);
};

describe('inspectTarball', () => {
  it('reads the wanted root files and counts regular files, normalising ./ paths', async () => {
    const gz = rawTarGz([
      { ...manifest, path: './agent.yaml' },
      { path: './prompts/', type: 'dir' },
      { path: './prompts/system.md', body: 'You are helpful.' },
      { path: 'docs/README.md', body: 'not the root readme' },
      { path: 'README.md', body: '# helper\n' },
      { path: 'prompts/link', type: 'symlink', linkpath: '../README.md' },
      { path: 'again', type: 'hardlink', linkpath: 'README.md' },
    ]);
    const r = await inspectTarball(gz, WANTED, LIMITS);
    expect(r.files).toEqual(['agent.yaml', 'prompts/system.md', 'docs/README.md', 'README.md']);
    expect(r.fileCount).toBe(4);
    expect(r.unpackedSize).toBe(Buffer.byteLength(manifest.body as string) + 16 + 19 + 9);
    expect([...r.texts.keys()].sort()).toEqual(['README.md', 'agent.yaml']);
    expect(r.texts.get('README.md')).toBe('# helper\n');
  });

  it('refuses what is not gzip, truncated gzip, truncated tar and non-tar content', async () => {
    const plain = await refusal(rawTar([manifest]));
    expect([plain.status, plain.message, plain.details]).toEqual([400, 'The tarball is not gzip-compressed', ['tarball: expected a .tar.gz file (gzip magic bytes 1f 8b)']]);
    expect((await refusal(Buffer.alloc(0))).message).toBe('The tarball is not gzip-compressed');

    const whole = rawTarGz([manifest, { path: 'data.bin', body: Buffer.alloc(5000, 7) }]);
    const cut = await refusal(whole.subarray(0, Math.floor(whole.length / 2)));
    expect([cut.status, cut.message, cut.details]).toEqual([400, 'The tarball is corrupt or truncated', ['tarball: unexpected end of file']]);

    // A header promising 10000 bytes followed by 600 and no end blocks.
    const short = await refusal(gzipSync(rawTar([manifest, { path: 'big.bin', body: Buffer.alloc(600, 1), size: 10_000 }], { end: false })));
    expect(short.status).toBe(400);
    expect(short.details).toEqual([expect.stringMatching(/^tarball: Truncated input/)]);

    const garbage = await refusal(gzipSync(Buffer.from('this is not a tar archive at all. '.repeat(40))));
    expect(garbage.status).toBe(400);
    expect(garbage.details).toContain('tarball: Unrecognized archive format');

    const empty = await refusal(gzipSync(Buffer.alloc(0)));
    expect(empty.status).toBe(400);
    expect(empty.details.length).toBeGreaterThan(0);

    const checksum = rawTar([manifest]);
    checksum[150] ^= 1;
    expect((await refusal(gzipSync(checksum))).details).toContain('tarball: checksum failure');
  });

  it("refuses paths that climb out with '..', however they are spelled", async () => {
    await refusedWith([{ path: '../escape.txt', body: 'x' }], ["tarball: path '../escape.txt' escapes the package with '..'"]);
    await refusedWith([{ path: 'prompts/../../escape.txt', body: 'x' }], ["tarball: path 'prompts/../../escape.txt' escapes the package with '..'"]);
    await refusedWith([{ path: 'a\\..\\..\\escape.txt', body: 'x' }], ["tarball: path 'a\\..\\..\\escape.txt' escapes the package with '..'"]);
    // A pax header overriding a harmless ustar name.
    await refusedWith(
      [
        { path: 'PaxHeader', type: 'pax', body: paxRecord('path', '../../pax-escape') },
        { path: 'harmless.txt', body: 'x' },
      ],
      ["tarball: path '../../pax-escape' escapes the package with '..'"],
    );
    // A GNU long name.
    const long = `../${'a'.repeat(120)}`;
    await refusedWith(
      [
        { path: '././@LongLink', type: 'gnu-longname', body: `${long}\0` },
        { path: 'harmless.txt', body: 'x' },
      ],
      [`tarball: path '${long}' escapes the package with '..'`],
    );
  });

  it('refuses absolute paths, POSIX and Windows', async () => {
    await refusedWith([{ path: '/etc/passwd', body: 'x' }], ["tarball: absolute path '/etc/passwd' is not allowed"]);
    await refusedWith([{ path: 'C:\\evil.txt', body: 'x' }], ["tarball: absolute path 'C:\\evil.txt' is not allowed"]);
    await refusedWith([{ path: 'D:/evil.txt', body: 'x' }], ["tarball: absolute path 'D:/evil.txt' is not allowed"]);
  });

  it('refuses symlinks and hard links that point outside the package', async () => {
    await refusedWith([{ path: 'link', type: 'symlink', linkpath: '../../etc/passwd' }], ["tarball: link 'link' points outside the package (../../etc/passwd)"]);
    await refusedWith([{ path: 'link', type: 'symlink', linkpath: '/etc/passwd' }], ["tarball: link 'link' points outside the package (/etc/passwd)"]);
    await refusedWith([{ path: 'prompts/up', type: 'symlink', linkpath: '../..' }], ["tarball: link 'prompts/up' points outside the package (../..)"]);
    await refusedWith([{ path: 'w', type: 'symlink', linkpath: '..\\..\\etc' }], ["tarball: link 'w' points outside the package (..\\..\\etc)"]);
    await refusedWith([{ path: 'w', type: 'symlink', linkpath: 'C:\\Windows' }], ["tarball: link 'w' points outside the package (C:\\Windows)"]);
    await refusedWith([{ path: 'hl', type: 'hardlink', linkpath: '../outside' }], ["tarball: link 'hl' points outside the package (../outside)"]);
    await refusedWith([{ path: 'hl', type: 'hardlink', linkpath: '/etc/shadow' }], ["tarball: link 'hl' points outside the package (/etc/shadow)"]);
  });

  it('follows the archive’s own symlinks when deciding where a link lands', async () => {
    // `up -> .` looks harmless, and so does `esc -> up/..`, but on disk esc is the parent folder.
    await refusedWith(
      [
        { path: 'up', type: 'symlink', linkpath: '.' },
        { path: 'esc', type: 'symlink', linkpath: 'up/..' },
      ],
      ["tarball: link 'esc' points outside the package (up/..)"],
    );
    // The same with the helper link later in the archive and in other case (case-insensitive filesystems).
    await refusedWith(
      [
        { path: 'esc', type: 'symlink', linkpath: 'UP/../x' },
        { path: 'up', type: 'symlink', linkpath: '.' },
      ],
      ["tarball: link 'esc' points outside the package (UP/../x)"],
    );
    // A hard link resolved through a symlink (GNU tar's link(2) would follow it).
    await refusedWith(
      [
        { path: 'up', type: 'symlink', linkpath: '.' },
        { path: 'h', type: 'hardlink', linkpath: 'up/../etc/passwd' },
      ],
      ["tarball: link 'h' points outside the package (up/../etc/passwd)"],
    );
    await refusedWith(
      [
        { path: 'l1', type: 'symlink', linkpath: 'l2' },
        { path: 'l2', type: 'symlink', linkpath: 'l1/x' },
      ],
      ["tarball: link 'l1' is part of a loop of links", "tarball: link 'l2' is part of a loop of links"],
    );
    // Entries written through a symlink.
    await refusedWith(
      [
        { path: 'prompts/', type: 'dir' },
        { path: 'd', type: 'symlink', linkpath: 'prompts' },
        { path: 'd/x.md', body: 'x' },
      ],
      ["tarball: entry 'd/x.md' lies under the symlink 'd'"],
    );
    // Links that stay inside are fine, even through other links.
    const ok = rawTarGz([
      manifest,
      { path: 'prompts/', type: 'dir' },
      { path: 'prompts/s.md', body: 'x' },
      { path: 'prompts/r', type: 'symlink', linkpath: '../agent.yaml' },
      { path: 'p', type: 'symlink', linkpath: 'prompts' },
      { path: 'q', type: 'symlink', linkpath: 'p/r' },
    ]);
    expect((await inspectTarball(ok, WANTED, LIMITS)).files).toEqual(['agent.yaml', 'prompts/s.md']);
  });

  it('refuses device files, FIFOs and entry types the parser would skip', async () => {
    await refusedWith([{ path: 'dev/null', type: 'char' }], ["tarball: entry 'dev/null' has unsupported type CharacterDevice"]);
    await refusedWith([{ path: 'dev/sda', type: 'block' }], ["tarball: entry 'dev/sda' has unsupported type BlockDevice"]);
    await refusedWith([{ path: 'pipe', type: 'fifo' }], ["tarball: entry 'pipe' has unsupported type FIFO"]);
    await refusedWith([{ path: '../sparse', type: 'sparse', body: 'abc' }], ["tarball: entry '../sparse' has unsupported type SparseFile"]);
  });

  it('refuses a tarball that expands beyond the limit (a gzip bomb) with 413', async () => {
    const bomb = gzipSync(rawTar([manifest, { path: 'zeros.bin', body: Buffer.alloc(8 * 1024 * 1024) }]));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const e = await refusal(bomb);
    expect([e.status, e.message]).toEqual([413, 'The tarball expands beyond the limit of 1048576 bytes']);
  });

  it('reads a small archive whole whether it expands a little or far (inflated at once or streamed)', async () => {
    for (const size of [100 * 1024, 900 * 1024]) {
      const gz = gzipSync(rawTar([manifest, { path: 'README.md', body: '# helper\n' }, { path: 'zeros.bin', body: Buffer.alloc(size) }]));
      expect(gz.length).toBeLessThan(16 * 1024);
      const r = await inspectTarball(gz, WANTED, LIMITS);
      expect(r.texts.get('README.md')).toBe('# helper\n');
      expect(r.fileCount).toBe(3);
      expect(r.unpackedSize).toBeGreaterThan(size);
    }
    const e = await refusal(gzipSync(rawTar([manifest, { path: 'zeros.bin', body: Buffer.alloc(200 * 1024) }])), { ...LIMITS, maxUnpackedBytes: 100 * 1024 });
    expect([e.status, e.message]).toEqual([413, 'The tarball expands beyond the limit of 102400 bytes']);
  });

  it('refuses more entries than the limit with 413, directories and links included', async () => {
    const files = await refusal(rawTarGz([manifest, ...Array.from({ length: 20 }, (_, i) => ({ path: `f${i}.txt`, body: 'x' }))]));
    expect([files.status, files.message]).toEqual([413, 'The tarball holds more than 20 files']);
    const dirs = await refusal(rawTarGz([manifest, ...Array.from({ length: 25 }, (_, i): RawEntry => ({ path: `d${i}/`, type: 'dir' }))]));
    expect([dirs.status, dirs.message]).toEqual([413, 'The tarball holds more than 20 files']);
    const exactly = rawTarGz([manifest, ...Array.from({ length: 19 }, (_, i) => ({ path: `f${i}.txt`, body: 'x' }))]);
    expect((await inspectTarball(exactly, WANTED, LIMITS)).fileCount).toBe(20);
  });

  it('names a manifest or README too big to read instead of pretending it is missing', async () => {
    const e = await refusal(rawTarGz([{ path: 'agent.yaml', body: `description: ${'x'.repeat(70_000)}\n` }]));
    expect(e.status).toBe(400);
    expect(e.details).toEqual(["tarball: 'agent.yaml' is 70014 bytes; a manifest or README may be at most 65536 bytes"]);
  });

  it('refuses an oversized pax header the parser would skip', async () => {
    const e = await refusal(rawTarGz([manifest, { path: 'PaxHeader', type: 'pax', body: paxRecord('path', `../../${'x'.repeat(1024 * 1024)}`) }, { path: 'harmless.txt', body: 'x' }]), {
      ...LIMITS,
      maxUnpackedBytes: 4 * 1024 * 1024,
    });
    expect(e.status).toBe(400);
    expect(e.details).toEqual([expect.stringMatching(/^tarball: a metadata entry \(ExtendedHeader\) of \d+ bytes is too large$/)]);
  });

  it('lists every problem at once', async () => {
    const e = await refusal(rawTarGz([manifest, { path: '../a', body: 'x' }, { path: '/b', body: 'x' }, { path: 'c', type: 'symlink', linkpath: '/etc' }, { path: 'd', type: 'fifo' }]));
    expect(e.details).toEqual([
      "tarball: path '../a' escapes the package with '..'",
      "tarball: absolute path '/b' is not allowed",
      "tarball: entry 'd' has unsupported type FIFO",
      "tarball: link 'c' points outside the package (/etc)",
    ]);
  });
});
