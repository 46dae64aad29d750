import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './cli-error.js';

/** What the CLI remembers between runs: the default registry and a token per registry. */
export interface UserConfig {
  default_registry?: string;
  registries: Record<string, SavedLogin>;
}

export interface SavedLogin {
  token: string;
  /** Who the token belonged to when it was saved (for display only). */
  username?: string;
}

/** `$AGENTRY_CONFIG`, else `$XDG_CONFIG_HOME/agentry/config.json`, else `~/.config/agentry/config.json`. */
export const userConfigPath = (env: NodeJS.ProcessEnv = process.env): string => {
  if (env.AGENTRY_CONFIG) return env.AGENTRY_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'agentry', 'config.json');
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the user config; a missing file is an empty config, a corrupt one is an error naming the file. */
export const loadUserConfig = async (path: string): Promise<UserConfig> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { registries: {} };
    throw new CliError(`cannot read the config file ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`the config file ${path} is not valid JSON; fix or delete it`);
  }
  if (!isRecord(parsed)) throw new CliError(`the config file ${path} must hold a JSON object`);
  const registries: Record<string, SavedLogin> = {};
  if (isRecord(parsed.registries)) {
    for (const [url, login] of Object.entries(parsed.registries)) {
      if (isRecord(login) && typeof login.token === 'string') {
        registries[url] = { token: login.token, ...(typeof login.username === 'string' ? { username: login.username } : {}) };
      }
    }
  }
  return {
    ...(typeof parsed.default_registry === 'string' ? { default_registry: parsed.default_registry } : {}),
    registries,
  };
};

/**
 * Writes the user config atomically (a temp file beside it, then rename) with mode 0600,
 * creating its folder with mode 0700 when it does not exist.
 */
export const saveUserConfig = async (path: string, config: UserConfig): Promise<void> => {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.config.json.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw new CliError(`cannot write the config file ${path}: ${(e as Error).message}`);
  }
};
