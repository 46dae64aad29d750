import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/cli/connection.js';
import { loadUserConfig, saveUserConfig, userConfigPath } from '../../src/cli/config-file.js';
import { normalizeRegistryUrl } from '../../src/cli/registry-url.js';

describe('user config file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentry-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives at AGENTRY_CONFIG, else $XDG_CONFIG_HOME/agentry/config.json, else ~/.config/agentry/config.json', () => {
    expect(userConfigPath({ AGENTRY_CONFIG: '/x/c.json', XDG_CONFIG_HOME: '/xdg' })).toBe('/x/c.json');
    expect(userConfigPath({ XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/agentry/config.json');
    expect(userConfigPath({})).toBe(join(homedir(), '.config/agentry/config.json'));
  });

  it('is written atomically with mode 0600 in a 0700 folder', async () => {
    const path = join(dir, 'nested', 'agentry', 'config.json');
    await saveUserConfig(path, { default_registry: 'http://r', registries: { 'http://r': { token: 'agentry_x', username: 'alice' } } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested', 'agentry')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'nested', 'agentry'))).toEqual(['config.json']);
    expect(await loadUserConfig(path)).toEqual({ default_registry: 'http://r', registries: { 'http://r': { token: 'agentry_x', username: 'alice' } } });
    await saveUserConfig(path, { registries: {} });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ registries: {} });
    expect(readdirSync(join(dir, 'nested', 'agentry'))).toEqual(['config.json']);
  });

  it('reads a missing file as empty and names a corrupt one', async () => {
    expect(await loadUserConfig(join(dir, 'none.json'))).toEqual({ registries: {} });
    writeFileSync(join(dir, 'bad.json'), '{nope');
    await expect(loadUserConfig(join(dir, 'bad.json'))).rejects.toThrow(`the config file ${join(dir, 'bad.json')} is not valid JSON; fix or delete it`);
  });

  it('resolves registry and token: flag, then environment, then the saved login, then the default', async () => {
    const path = join(dir, 'c', 'config.json');
    mkdirSync(join(dir, 'c'));
    await saveUserConfig(path, { default_registry: 'http://saved:1', registries: { 'http://saved:1': { token: 'saved-token' }, 'http://other:2': { token: 'other-token' } } });
    const env = { AGENTRY_CONFIG: path };
    expect(await connect({}, env)).toMatchObject({ registry: 'http://saved:1', token: 'saved-token' });
    expect(await connect({ registry: 'http://other:2/' }, env)).toMatchObject({ registry: 'http://other:2', token: 'other-token' });
    expect(await connect({}, { ...env, AGENTRY_REGISTRY: 'http://other:2', AGENTRY_TOKEN: 'env-token' })).toMatchObject({ registry: 'http://other:2', token: 'env-token' });
    expect(await connect({ token: 'flag-token' }, { ...env, AGENTRY_TOKEN: 'env-token' })).toMatchObject({ token: 'flag-token' });
    expect(await connect({}, { AGENTRY_CONFIG: join(dir, 'none.json') })).toMatchObject({ registry: 'http://127.0.0.1:8080', token: undefined });
  });

  it('normalizes registry URLs and refuses others', () => {
    expect(normalizeRegistryUrl('http://localhost:8080/')).toBe('http://localhost:8080');
    expect(normalizeRegistryUrl('https://reg.example.com/agentry/?x=1')).toBe('https://reg.example.com/agentry');
    expect(() => normalizeRegistryUrl('ftp://x')).toThrow(/only http and https/);
    expect(() => normalizeRegistryUrl('not a url')).toThrow(/invalid registry URL/);
  });
});
