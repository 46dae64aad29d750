import { gunzipSync } from 'node:zlib';
import { Parser } from 'tar';
import { describe, expect, it } from 'vitest';
import { tarballOf } from './tarball-of.js';

interface Listed {
  path: string;
  mode?: number;
  mtime?: Date;
  type: string;
  body: string;
}

const list = async (gz: Buffer): Promise<Listed[]> => {
  const out: Listed[] = [];
  await new Promise<void>((resolve, reject) => {
    const p = new Parser({
      onReadEntry: (e) => {
        const chunks: Buffer[] = [];
        e.on('data', (c: Buffer) => chunks.push(c));
        e.on('end', () => out.push({ path: e.path, mode: e.mode, mtime: e.mtime, type: e.type, body: Buffer.concat(chunks).toString('utf8') }));
      },
    });
    p.on('end', () => resolve());
    p.on('error', reject);
    p.end(gz);
  });
  return out;
};

describe('tarballOf (packages the core assembles, built in memory)', () => {
  const at = new Date('2025-01-02T03:04:05Z');
  const deep = `${'folder/'.repeat(30)}file.txt`;
  const files = [
    { path: 'b.md', data: 'B' },
    { path: 'a/x.txt', data: Buffer.from('hello') },
    { path: deep, data: 'L'.repeat(1000) },
    { path: 'empty', data: '' },
  ];

  it('holds every file, sorted by path, as a regular file of mode 0644 dated mtime, long paths included', async () => {
    const entries = await list(await tarballOf(files, at));
    expect(entries.map((e) => e.path)).toEqual(['a/x.txt', 'b.md', 'empty', deep]);
    expect(entries.map((e) => e.body)).toEqual(['hello', 'B', '', 'L'.repeat(1000)]);
    for (const e of entries) {
      expect(e.type).toBe('File');
      expect(e.mode).toBe(0o644);
      expect(e.mtime?.toISOString()).toBe(at.toISOString());
    }
  });

  it('makes the same bytes from the same files and mtime, whatever their order', async () => {
    const one = await tarballOf(files, at);
    const two = await tarballOf([...files].reverse(), at);
    expect(one.equals(two)).toBe(true);
    expect(gunzipSync(one).length % 512).toBe(0);
    expect((await tarballOf(files, new Date('2025-01-02T03:04:06Z'))).equals(one)).toBe(false);
  });
});
