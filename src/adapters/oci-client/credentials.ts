import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { badRequest } from '../../core/errors.js';

/**
 * What the client logs in with: a username and password (or an Agentry token as the password), or an
 * identity token (OAuth2 refresh token, as `docker login` saves for some registries). Never logged,
 * never put in an error message.
 */
export type Credentials = { username: string; password: string } | { identityToken: string; username?: string };

/** Answers the credentials for a registry host (`ghcr.io`, `127.0.0.1:5000`), or none for anonymous. */
export type CredentialResolver = (host: string) => Credentials | undefined | Promise<Credentials | undefined>;

/** The Basic `Authorization` value for username/password credentials. */
export const basicAuthorization = (c: { username: string; password: string }): string => `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export const dockerConfigPath = (env: Record<string, string | undefined> = process.env): string => join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');

interface DockerAuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

/** `https://index.docker.io/v1/`, `http://host:5000`, `host:5000/` → `host:5000`: how docker keys its logins. */
const hostOfKey = (key: string): string =>
  key
    .replace(/^https?:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();

/**
 * Reads the logins of a docker-style config file (`{"auths": {"host": {"auth": base64(user:pass)}}}`,
 * or `username`/`password`, or `identitytoken`), keyed by registry host. A missing file gives no
 * logins; a file that is not JSON is an error naming the file. Credential helpers (`credsStore`,
 * `credHelpers`) are not run: the client never executes programs named in a config file.
 */
export const readDockerConfig = async (path: string = dockerConfigPath()): Promise<Map<string, Credentials>> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw badRequest(`cannot read the docker config file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest(`the docker config file ${path} is not valid JSON`);
  }
  const out = new Map<string, Credentials>();
  const auths = typeof parsed === 'object' && parsed !== null ? (parsed as { auths?: unknown }).auths : undefined;
  if (typeof auths !== 'object' || auths === null) return out;
  for (const [key, raw] of Object.entries(auths as Record<string, unknown>)) {
    if (typeof raw !== 'object' || raw === null) continue;
    const entry = raw as DockerAuthEntry;
    let username = typeof entry.username === 'string' ? entry.username : undefined;
    let password = typeof entry.password === 'string' ? entry.password : undefined;
    if (typeof entry.auth === 'string' && entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        username = decoded.slice(0, colon);
        password = decoded.slice(colon + 1);
      }
    }
    const host = hostOfKey(key);
    if (typeof entry.identitytoken === 'string' && entry.identitytoken) {
      out.set(host, { identityToken: entry.identitytoken, ...(username ? { username } : {}) });
    } else if (username !== undefined && password !== undefined) {
      out.set(host, { username, password });
    }
  }
  return out;
};
