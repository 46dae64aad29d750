import type { Command } from 'commander';
import { dockerConfigPath, OciClient, readDockerConfig, type Credentials } from '../../adapters/oci-client/index.js';
import { CliError } from '../cli-error.js';
import { loadUserConfig, userConfigPath } from '../config-file.js';
import { readSecret } from '../prompt.js';

/** The options every `agentry oci` command takes to reach and log in to a registry. */
export interface OciConnectionOptions {
  username?: string;
  passwordStdin?: boolean;
  dockerConfig?: string;
  plainHttp?: boolean;
  json?: boolean;
}

export const withOciConnectionOptions = (cmd: Command): Command =>
  cmd
    .option('-u, --username <name>', 'username for the registry (env AGENTRY_OCI_USERNAME)')
    .option('--password-stdin', 'read the password or token from the first line of stdin (else env AGENTRY_OCI_PASSWORD)')
    .option('--docker-config <file>', 'docker-style config file with saved logins (default $DOCKER_CONFIG/config.json or ~/.docker/config.json)')
    .option('--plain-http', 'speak plain HTTP to the registry (loopback addresses always do)')
    .option('--json', 'print the result as JSON');

/**
 * The OCI client for a command, with credentials for each registry host, from the first that has
 * them: --username with --password-stdin (or AGENTRY_OCI_USERNAME / AGENTRY_OCI_PASSWORD); the
 * Agentry login saved by `agentry login` for that host (its username and token: Agentry's token
 * endpoint takes them as basic auth), or AGENTRY_TOKEN when AGENTRY_REGISTRY is that host; the docker
 * config file. None: anonymous. Credentials are never printed.
 */
export const ociClientFor = async (opts: OciConnectionOptions, env: NodeJS.ProcessEnv = process.env): Promise<OciClient> => {
  const username = opts.username ?? env.AGENTRY_OCI_USERNAME;
  let password: string | undefined;
  if (opts.passwordStdin) {
    password = await readSecret('Password: ');
    if (!password) throw new CliError('--password-stdin was given but stdin had no password');
  } else password = env.AGENTRY_OCI_PASSWORD;
  if (password !== undefined && !username) throw new CliError('a password was given without a username: pass --username (or AGENTRY_OCI_USERNAME)');
  if (username !== undefined && password === undefined) throw new CliError(`no password for ${username}: pass --password-stdin or set AGENTRY_OCI_PASSWORD`);
  const explicit: Credentials | undefined = username !== undefined && password !== undefined ? { username, password } : undefined;

  const agentryLogins = new Map<string, Credentials>();
  const config = await loadUserConfig(userConfigPath(env));
  for (const [url, login] of Object.entries(config.registries)) {
    const host = hostOf(url);
    if (host && !agentryLogins.has(host)) agentryLogins.set(host, { username: login.username ?? 'agentry', password: login.token });
  }
  if (env.AGENTRY_TOKEN && env.AGENTRY_REGISTRY) {
    const host = hostOf(env.AGENTRY_REGISTRY);
    if (host) agentryLogins.set(host, { username: agentryLogins.get(host)?.username ?? 'agentry', password: env.AGENTRY_TOKEN });
  }
  let docker: Map<string, Credentials> | undefined;
  const dockerPath = opts.dockerConfig ?? dockerConfigPath(env);
  const resolver = async (host: string): Promise<Credentials | undefined> => {
    if (explicit) return explicit;
    const agentry = agentryLogins.get(host);
    if (agentry) return agentry;
    docker ??= await readDockerConfig(dockerPath).catch((e: Error) => {
      throw new CliError(e.message);
    });
    return docker.get(host);
  };
  return new OciClient({ credentials: resolver, plainHttp: opts.plainHttp === true, userAgent: 'agentry-cli' });
};

const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
};
