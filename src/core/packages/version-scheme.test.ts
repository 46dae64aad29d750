import { describe, expect, it } from 'vitest';
import { integerRevisionScheme, semverOrOpaqueScheme, semverScheme, versionSchemeOf } from './version-scheme.js';

const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
const dated = (versions: string[]) => versions.map((version, i) => ({ version, publishedAt: at(i) }));

describe('version schemes', () => {
  it('gives each kind its scheme', () => {
    expect(versionSchemeOf('agent')).toBe(semverScheme);
    expect(versionSchemeOf('skill')).toBe(semverScheme);
    expect(versionSchemeOf('recipe')).toBe(semverScheme);
    expect(versionSchemeOf('mcp-server')).toBe(semverOrOpaqueScheme);
  });

  it('semver: strict versions only, highest release is latest', () => {
    expect(semverScheme.problem('1.2.3')).toBeUndefined();
    for (const bad of ['1.2', 'v1.0.0', '1.0.0+b', '^1.0.0', 'latest', '2024.06']) expect(semverScheme.problem(bad), bad).toMatch(/not valid semver/);
    const vs = dated(['1.0.0', '2.0.0-rc.1', '1.10.0', '1.2.0']);
    expect(semverScheme.sortDesc(vs).map((v) => v.version)).toEqual(['2.0.0-rc.1', '1.10.0', '1.2.0', '1.0.0']);
    expect(semverScheme.latest(vs)).toBe('1.10.0');
    expect(semverScheme.latest(dated(['1.0.0-alpha', '1.0.0-beta']))).toBe('1.0.0-beta');
    expect(semverScheme.latest([])).toBeNull();
  });

  it('semver-or-opaque: refuses latest, ranges, empty and over-long versions; takes the rest', () => {
    for (const ok of ['1.0.2', '2.1.0-alpha', '1.0.0+20130313144700', '2024.06.01', 'r42', '1.0', 'snapshot-7']) {
      expect(semverOrOpaqueScheme.problem(ok), ok).toBeUndefined();
    }
    expect(semverOrOpaqueScheme.problem('latest')).toMatch(/reserved/);
    expect(semverOrOpaqueScheme.problem('LATEST')).toMatch(/reserved/);
    for (const range of ['^1.2.3', '~1.2.3', '>=1.2.3', '<2', '1.x', '1.*', '1.2.X', '1.0.0 - 2.0.0', '1 || 2', '=1.0.0']) {
      expect(semverOrOpaqueScheme.problem(range), range).toMatch(/is a range/);
    }
    expect(semverOrOpaqueScheme.problem('')).toMatch(/empty/);
    expect(semverOrOpaqueScheme.problem('1'.repeat(256))).toMatch(/255/);
    expect(semverOrOpaqueScheme.problem('a/b')).toMatch(/must not contain/);
  });

  it('semver-or-opaque: semver by precedence above opaque ones, opaque ones by publish time', () => {
    const vs = dated(['2024.06', '1.0.0', 'r2', '0.9.0', '2.0.0-rc.1']);
    expect(semverOrOpaqueScheme.sortDesc(vs).map((v) => v.version)).toEqual(['2.0.0-rc.1', '1.0.0', '0.9.0', 'r2', '2024.06']);
    expect(semverOrOpaqueScheme.latest(vs)).toBe('1.0.0');
    // Only opaque versions: the last published one, whatever its text says.
    expect(semverOrOpaqueScheme.latest(dated(['zeta', 'alpha', 'beta']))).toBe('beta');
    // Published in the same millisecond: the later one in publish order wins.
    expect(
      semverOrOpaqueScheme.latest([
        { version: 'b', publishedAt: at(1) },
        { version: 'a', publishedAt: at(1) },
      ]),
    ).toBe('a');
  });
});

describe('integer revision scheme (managed agents)', () => {
  it('takes whole numbers from 1 and orders them numerically', () => {
    expect(integerRevisionScheme.problem('1')).toBeUndefined();
    expect(integerRevisionScheme.problem('12')).toBeUndefined();
    for (const bad of ['0', '-1', '1.0', '01', 'one', '']) expect(integerRevisionScheme.problem(bad)).toMatch(/not a whole number/);
    const versions = ['2', '10', '1'].map((version) => ({ version, publishedAt: '' }));
    expect(integerRevisionScheme.sortDesc(versions).map((v) => v.version)).toEqual(['10', '2', '1']);
    expect(integerRevisionScheme.latest(versions)).toBe('10');
  });
});
