import { existsSync, mkdirSync, statSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/cli-error.js';
import { extractToNewFolder, findUnsafeEntries } from '../../src/cli/extract.js';
import { rawTarball } from './tar-fixtures.js';

describe('extract', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentry-extract-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const refuse = async (tarball: Buffer, reason: RegExp): Promise<void> => {
    const dest = join(dir, 'pkg');
    const error = await extractToNewFolder(tarball, dest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe('refusing to extract an unsafe tarball');
    expect((error as CliError).details.join('\n')).toMatch(reason);
    expect(readdirSync(dir)).toEqual([]);
  };

  it('extracts a good tarball into a new folder, links inside the package included', async () => {
    const gz = rawTarball([
      { path: 'agent.yaml', body: 'name: x\n' },
      { path: 'docs/', type: 'Directory' },
      { path: 'docs/guide.md', body: '# Guide\n' },
      { path: 'guide.md', type: 'SymbolicLink', linkpath: 'docs/guide.md' },
      { path: 'docs/self.md', type: 'SymbolicLink', linkpath: '../agent.yaml' },
    ]);
    expect(await findUnsafeEntries(gz)).toEqual([]);
    const dest = join(dir, 'pkg');
    await extractToNewFolder(gz, dest);
    expect(readFileSync(join(dest, 'agent.yaml'), 'utf8')).toBe('name: x\n');
    expect(readFileSync(join(dest, 'guide.md'), 'utf8')).toBe('# Guide\n');
    expect(readlinkSync(join(dest, 'docs/self.md'))).toBe('../agent.yaml');
    expect(readdirSync(dir)).toEqual(['pkg']);
  });

  it('refuses a path climbing out with ..', async () => {
    await refuse(
      rawTarball([
        { path: 'agent.yaml', body: 'x' },
        { path: '../evil', body: 'owned' },
      ]),
      /path '\.\.\/evil' climbs out/,
    );
    await refuse(rawTarball([{ path: 'a/../../evil', body: 'owned' }]), /climbs out/);
    expect(existsSync(join(dir, '..', 'evil'))).toBe(false);
  });

  it('refuses an absolute path', async () => {
    await refuse(rawTarball([{ path: '/tmp/agentry-evil', body: 'owned' }]), /absolute path '\/tmp\/agentry-evil'/);
  });

  it('refuses a symlink to /etc/passwd and links leaving the package', async () => {
    await refuse(rawTarball([{ path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }]), /link 'passwd' points outside the package \(\/etc\/passwd\)/);
    await refuse(rawTarball([{ path: 'sub/up', type: 'SymbolicLink', linkpath: '../../outside' }]), /link 'sub\/up' points outside/);
    await refuse(rawTarball([{ path: 'hard', type: 'Link', linkpath: '../outside' }]), /link 'hard' points outside/);
    await refuse(rawTarball([{ path: 'hard', type: 'Link', linkpath: '/etc/passwd' }]), /points outside/);
  });

  it('refuses device files and FIFOs', async () => {
    await refuse(rawTarball([{ path: 'null', type: 'CharacterDevice' }]), /'null' is a CharacterDevice/);
    await refuse(rawTarball([{ path: 'disk', type: 'BlockDevice' }]), /'disk' is a BlockDevice/);
    await refuse(rawTarball([{ path: 'pipe', type: 'FIFO' }]), /'pipe' is a FIFO/);
  });

  it('refuses to write through a symlink to a folder inside the package', async () => {
    // `link` -> `.` is inside the package, but `link/../x` style tricks must not escape through it.
    const gz = rawTarball([
      { path: 'dir/', type: 'Directory' },
      { path: 'dir/link', type: 'SymbolicLink', linkpath: '..' },
      { path: 'dir/link/file', body: 'through a symlink' },
    ]);
    const dest = join(dir, 'pkg');
    await expect(extractToNewFolder(gz, dest)).rejects.toThrow(/through symbolic link/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never writes a setuid, setgid or sticky bit to the disk', async () => {
    const gz = rawTarball([
      { path: 'bin/', type: 'Directory', mode: 0o1777 },
      { path: 'bin/run', body: '#!/bin/sh\n', mode: 0o6755 },
      { path: 'agent.yaml', body: 'name: x\n', mode: 0o4644 },
    ]);
    const dest = join(dir, 'pkg');
    await extractToNewFolder(gz, dest);
    expect(statSync(join(dest, 'bin')).mode & 0o7000).toBe(0);
    expect(statSync(join(dest, 'bin/run')).mode & 0o7777).toBe(0o755 & ~process.umask());
    expect(statSync(join(dest, 'agent.yaml')).mode & 0o7000).toBe(0);
  });

  it('refuses a bomb and a tarball compressed twice without inflating them whole', async () => {
    const { gzipSync } = await import('node:zlib');
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    expect(await findUnsafeEntries(bomb, { maxUnpackedBytes: 1024 * 1024, maxEntries: 10 })).toEqual([expect.stringMatching(/expands to more than \d+ bytes/)]);
    const twice = gzipSync(rawTarball([{ path: 'a', body: 'x' }]));
    await expect(findUnsafeEntries(twice)).rejects.toThrow(/compressed twice/);
  });

  it('refuses too many bytes or entries', async () => {
    const gz = rawTarball([
      { path: 'a', body: 'x'.repeat(100) },
      { path: 'b', body: 'y' },
    ]);
    expect(await findUnsafeEntries(gz, { maxUnpackedBytes: 50, maxEntries: 10 })).toEqual(['the files add up to more than 50 bytes']);
    expect(await findUnsafeEntries(gz, { maxUnpackedBytes: 1000, maxEntries: 1 })).toEqual(['more than 1 entries']);
  });

  it('refuses an existing folder and something that is not a tarball', async () => {
    const dest = join(dir, 'pkg');
    mkdirSync(dest);
    await expect(extractToNewFolder(rawTarball([{ path: 'a', body: 'x' }]), dest)).rejects.toThrow(/already exists/);
    const notTar = await extractToNewFolder(Buffer.from('not a tarball at all'), join(dir, 'other')).catch((e: unknown) => e);
    expect((notTar as CliError).details).toEqual(['not a valid tarball (not gzip-compressed)']);
    expect(readdirSync(dir)).toEqual(['pkg']);
  });
});
