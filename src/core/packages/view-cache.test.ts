import { describe, expect, it } from 'vitest';
import type { PackageRecord, PackageViewRecord, VersionRecord } from './package-repo.js';
import { ViewCache, viewBytes } from './view-cache.js';

/** A view whose package has a readme of `readmeChars` characters (only what viewBytes reads matters here). */
const view = (name: string, readmeChars: number): PackageViewRecord => {
  const readme = 'r'.repeat(readmeChars);
  return {
    pkg: { key: `alice/${name}`, name, description: 'A test package', readme } as PackageRecord,
    latest: { version: '1.0.0', manifest: { name, version: '1.0.0' }, readme } as unknown as VersionRecord,
    owner: undefined,
    distTags: {},
  };
};

/** Puts a view in the cache: a view enters on its second read (see ViewCache.admit). */
const put = (cache: ViewCache, v: PackageViewRecord): void => {
  cache.set(v.pkg.key, v, cache.generation);
  cache.set(v.pkg.key, v, cache.generation);
};

describe('ViewCache', () => {
  it('holds views up to a number of bytes, least recently used out, whatever the number of views allowed', () => {
    const cache = new ViewCache(10_000, 256 * 1024);
    const views = Array.from({ length: 40 }, (_, i) => view(`p${i}`, 8 * 1024));
    const each = viewBytes(views[0]!);
    expect(each).toBeGreaterThan(16 * 1024);
    for (const v of views) put(cache, v);
    expect(cache.bytes).toBeLessThanOrEqual(256 * 1024);
    expect(cache.size).toBe(Math.floor((256 * 1024) / each));
    // The newest views stayed, the oldest went.
    expect(cache.get('alice/p39')).toBe(views[39]);
    expect(cache.get('alice/p0')).toBeUndefined();
  });

  it('keeps count of the bytes as views are replaced, invalidated and cleared', () => {
    const cache = new ViewCache(100, 1024 * 1024);
    const small = view('a', 100);
    const big = view('a', 10_000);
    put(cache, small);
    expect(cache.bytes).toBe(viewBytes(small));
    put(cache, big);
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(viewBytes(big));
    put(cache, view('b', 100));
    cache.invalidate('alice/a');
    expect(cache.bytes).toBe(viewBytes(view('b', 100)));
    cache.clear();
    expect(cache.bytes).toBe(0);
  });

  it('does not keep a view bigger than an eighth of its bytes', () => {
    const cache = new ViewCache(100, 64 * 1024);
    put(cache, view('small', 1000));
    put(cache, view('huge', 8 * 1024));
    expect(cache.has('alice/huge')).toBe(false);
    expect(cache.has('alice/small')).toBe(true);
  });
});
