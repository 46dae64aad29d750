import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { mergeScopes, parseChallenges } from './challenge.js';
import { readDockerConfig } from './credentials.js';
import { safeTitlePath } from './artifacts.js';
import { nextLink } from './oci-client.js';
import { parseRetryAfter, parseRegistryErrors } from './oci-client-error.js';
import { parseReference, parseRegistry } from './reference.js';

describe('parseReference', () => {
  it('reads registry, repository, tag and digest', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseReference('127.0.0.1:5000/team/agent:1.0.0')).toEqual({ registry: { host: '127.0.0.1:5000', baseUrl: 'http://127.0.0.1:5000' }, repository: 'team/agent', tag: '1.0.0' });
    expect(parseReference(`ghcr.io/a/b@${d}`)).toEqual({ registry: { host: 'ghcr.io', baseUrl: 'https://ghcr.io' }, repository: 'a/b', digest: d });
    expect(parseReference(`localhost:5000/a:v1@${d}`)).toMatchObject({ repository: 'a', tag: 'v1', digest: d, registry: { baseUrl: 'http://localhost:5000' } });
    expect(parseReference('https://127.0.0.1:5000/a:v1').registry.baseUrl).toBe('https://127.0.0.1:5000');
    expect(parseReference('registry.example:5000/a:v1', { plainHttp: true }).registry.baseUrl).toBe('http://registry.example:5000');
    expect(parseReference('registry.example/a', { allowBare: true })).toMatchObject({ repository: 'a' });
  });

  it.each([
    ['agent:1.0.0', /expected registry\/repository/],
    ['team/agent:1.0.0', /starting with a registry host \(there is no default registry\)/],
    ['127.0.0.1:5000/Team/agent:1', /not a valid repository name/],
    ['127.0.0.1:5000/team/agent', /name a tag/],
    ['127.0.0.1:5000/team/agent:-bad', /not a valid tag/],
    ['127.0.0.1:5000/team/agent@sha256:abc', /not a sha256 or sha512 digest/],
    ['bad host!.x/a:b', /invalid registry/],
    ['127.0.0.1:5000/a//b:1', /not a valid repository name/],
  ])('refuses %s', (raw, message) => {
    expect(() => parseReference(raw)).toThrow(message);
  });

  it('parses registries alone', () => {
    expect(parseRegistry('http://127.0.0.1:8080/')).toEqual({ host: '127.0.0.1:8080', baseUrl: 'http://127.0.0.1:8080' });
    expect(parseRegistry('[::1]:5000').baseUrl).toBe('http://[::1]:5000');
    expect(() => parseRegistry('ftp://x')).toThrow(/invalid registry/);
  });
});

describe('WWW-Authenticate', () => {
  it('parses Bearer and Basic challenges, quoted commas included', () => {
    expect(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
    ]);
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(parseChallenges('Basic realm="a", Bearer realm="https://t/x", error="insufficient_scope"')).toEqual([
      { scheme: 'basic', params: { realm: 'a' } },
      { scheme: 'bearer', params: { realm: 'https://t/x', error: 'insufficient_scope' } },
    ]);
    expect(parseChallenges('Bearer realm=https://t/x,service=s')).toEqual([{ scheme: 'bearer', params: { realm: 'https://t/x', service: 's' } }]);
    expect(parseChallenges('Bearer realm="a\\"b"')).toEqual([{ scheme: 'bearer', params: { realm: 'a"b' } }]);
    expect(parseChallenges('')).toEqual([]);
  });

  it('merges scopes by resource', () => {
    expect(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull', 'repository:a:pull,push'])).toEqual(['repository:a:pull,push', 'repository:b:pull']);
    expect(mergeScopes(['registry:catalog:*'])).toEqual(['registry:catalog:*']);
  });
});

describe('registry answers', () => {
  it('reads the next Link', () => {
    expect(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"')).toBe('/v2/a/tags/list?last=b&n=2');
    expect(nextLink('<https://x/v2/_catalog?n=1&last=a>; rel=next')).toBe('https://x/v2/_catalog?n=1&last=a');
    expect(nextLink('</a>; rel="prev", </b>; rel="next"')).toBe('/b');
    expect(nextLink(null)).toBeUndefined();
    expect(nextLink('</a>; rel="prev"')).toBeUndefined();
  });

  it('reads error bodies and Retry-After', () => {
    expect(parseRegistryErrors('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}')).toEqual([{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }]);
    expect(parseRegistryErrors('404 page not found')).toEqual([]);
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 5_000)).toBe(5);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('layer titles', () => {
  it('keeps plain relative paths and refuses escapes', () => {
    expect(safeTitlePath('a/b.txt')).toBe(join('a', 'b.txt'));
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', 'a\\b', './a', 'a/.']) expect(() => safeTitlePath(bad)).toThrow(/not a plain relative file path/);
  });
});

describe('docker config', () => {
  it('reads auth, username/password and identity tokens by host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentry-dockercfg-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'config.json');
    writeFileSync(
      path,
      JSON.stringify({
        auths: {
          '127.0.0.1:5000': { auth: Buffer.from('alice:s3cr:et').toString('base64') },
          'https://ghcr.io/v1/': { username: 'bob', password: 'pw' },
          'quay.io': { identitytoken: 'refresh-me' },
          'empty.example': {},
        },
        credsStore: 'desktop',
      }),
    );
    const creds = await readDockerConfig(path);
    expect(Object.fromEntries(creds)).toEqual({
      '127.0.0.1:5000': { username: 'alice', password: 's3cr:et' },
      'ghcr.io': { username: 'bob', password: 'pw' },
      'quay.io': { identityToken: 'refresh-me' },
    });
    expect((await readDockerConfig(join(dir, 'missing.json'))).size).toBe(0);
    writeFileSync(path, '{nope');
    await expect(readDockerConfig(path)).rejects.toThrow(/is not valid JSON/);
  });
});
