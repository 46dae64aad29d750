import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { durationSeconds } from '../option-parsers.js';
import { printResult } from '../output.js';

interface MirrorView {
  name: string;
  kind: 'mcp' | 'oci' | 'agentry';
  url: string;
  username: string | null;
  has_password: boolean;
  ttl_seconds: number;
  created_at: string;
}

interface AddOptions extends RegistryOptions, JsonOption {
  url: string;
  username?: string;
  passwordEnv?: string;
  ttl?: number;
}

const KINDS = ['mcp', 'oci', 'agentry'];

const describe = (m: MirrorView): string => `${m.name}  ${m.kind}  ${m.url}${m.username ? `  (as ${m.username}${m.has_password ? ', password in the secret store' : ''})` : ''}  ttl ${m.ttl_seconds}s`;

/** `agentry mirror add|ls|rm`: upstreams (pull-through mirrors), administrators only. */
export const registerMirrorCommand = (program: Command): void => {
  const mirror = program.command('mirror').description('Manage upstreams this registry mirrors (admin)');

  withJsonOption(
    withRegistryOptions(
      mirror
        .command('add <kind> <name>')
        .description('Add an upstream: kind is mcp, oci or agentry; an OCI upstream named hub serves /v2/hub/<upstream repository>')
        .requiredOption('--url <url>', 'the upstream base URL')
        .option('--username <user>', 'log in to the upstream as this user')
        .option('--password-env <VAR>', "the environment variable holding the password (kept in the server's secret store)")
        .option('--ttl <duration>', 'serve tags and listings this long before asking the upstream again (e.g. 300, 5m, 1h; default 5m)', durationSeconds),
    ),
  ).action(async (kind: string, name: string, opts: AddOptions) => {
    if (!KINDS.includes(kind)) throw new CliError(`unknown mirror kind '${kind}': use mcp, oci or agentry`, [], EXIT.usage);
    if ((opts.username === undefined) !== (opts.passwordEnv === undefined)) throw new CliError('--username and --password-env go together', [], EXIT.usage);
    let password: string | undefined;
    if (opts.passwordEnv !== undefined) {
      password = process.env[opts.passwordEnv];
      if (!password) throw new CliError(`the environment variable ${opts.passwordEnv} (--password-env) is not set`, [], EXIT.usage);
    }
    const conn = await connect(opts);
    requireToken(conn);
    const m = await conn.client.json<MirrorView>('POST', '/mirrors', {
      body: {
        kind,
        name,
        url: opts.url,
        ...(opts.username !== undefined ? { username: opts.username, password } : {}),
        ...(opts.ttl !== undefined ? { ttl_seconds: opts.ttl } : {}),
      },
    });
    printResult(opts.json === true, m, () => [`Added mirror ${describe(m)}`]);
  });

  withJsonOption(withRegistryOptions(mirror.command('ls').description('List upstreams'))).action(async (opts: RegistryOptions & JsonOption) => {
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<{ mirrors: MirrorView[] }>('GET', '/mirrors');
    printResult(opts.json === true, r.mirrors, () => (r.mirrors.length === 0 ? ['No mirrors'] : r.mirrors.map(describe)));
  });

  withJsonOption(withRegistryOptions(mirror.command('rm <name>').description('Remove an upstream and its stored password'))).action(async (name: string, opts: RegistryOptions & JsonOption) => {
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<{ success: boolean; message: string }>('DELETE', `/mirrors/${encodeURIComponent(name)}`);
    printResult(opts.json === true, r, () => [r.message]);
  });
};
