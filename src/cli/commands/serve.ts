import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import { withRegistryOptions, type RegistryOptions } from '../global-options.js';
import { writeLine } from '../output.js';
import { nextStopSignal } from '../stop-signal.js';
import { DEFAULT_SETTINGS_FILE, SETTINGS, envName, type ServeFlags, type SettingName, type SettingSpec } from '../../app/settings.js';

/** `--help` text of a setting: its help, its variable and its default. */
const helpOf = (s: SettingSpec): string => {
  const dflt = s.default !== undefined ? `; default ${s.default}` : s.defaultDoc !== undefined ? `; default ${s.defaultDoc.replace(/`/g, '')}` : '';
  const env = s.type === 'boolean' ? `${envName(s.name)}=${s.negated ? 'false' : 'true'}` : envName(s.name);
  return `${s.help} (env ${env}${s.type === 'boolean' ? '' : dflt})`;
};

const CONFIG_HELP = `read settings from this YAML file, keys spelled as the long flags (default ./${DEFAULT_SETTINGS_FILE} when it exists); flags win over env, env over the file`;

/** Declares the settings as options of `command`: `--<name> <arg>`, or `--no-<name>` for a setting on by default. */
const addSettingOptions = (command: Command, settings: readonly SettingSpec[]): void => {
  for (const s of settings) command.option(`--${s.negated ? 'no-' : ''}${s.name}${s.arg ? ` ${s.arg}` : ''}`, helpOf(s));
};

/**
 * The flags given on the command line. Commander gives a `--no-<name>` option a default of true; that
 * default is left out, so the environment and the config file still decide when the flag is absent.
 */
const givenFlags = (command: Command, opts: ServeFlags): ServeFlags => Object.fromEntries(Object.entries(opts).filter(([key]) => command.getOptionValueSource(key) !== 'default')) as ServeFlags;

/** The config file (`--config`, else ./agentry.yaml when it exists), its warnings printed, and the server configuration. */
const configOf = async (command: Command, opts: ServeFlags & { config?: string }, overrides: ServeFlags = {}) => {
  const { resolveConfig } = await import('../../app/config.js');
  const { loadSettingsFile } = await import('../../app/settings-file.js');
  const { config: configFile, ...flags } = opts;
  const file = loadSettingsFile(configFile);
  for (const warning of file?.warnings ?? []) process.stderr.write(`agentry: warning: ${warning}\n`);
  return resolveConfig({ ...givenFlags(command, flags), ...overrides }, process.env, file);
};

/**
 * `agentry serve`: the only command that runs server code. The server modules are loaded when
 * the command runs, so the other commands start without them.
 */
export const registerServeCommand = (program: Command): void => {
  const serve = program.command('serve').description('Run the registry server').option('--config <file>', CONFIG_HELP);
  addSettingOptions(serve, SETTINGS);
  serve.action(async (opts: ServeFlags & { config?: string }) => {
    const config = await configOf(serve, opts);
    const { startServer } = await import('../../app/server.js');
    const server = await startServer(config);
    const stopped = nextStopSignal();
    const lines = [`Agentry listening on ${server.url}`, ...server.notices];
    if (!config.runtime) {
      lines.push(
        config.databaseUrl
          ? 'No session workers in this process (--no-runtime): sessions run in `agentry runtime` processes on this database.'
          : 'No session workers in this process (--no-runtime): run `agentry runtime` on the same data dir; without PostgreSQL, streams here see its events at each heartbeat only.',
      );
    }
    if (server.adminToken) {
      lines.push(
        '',
        '================================================================',
        ' The admin account was created. Its token is shown only once:',
        '',
        `   ${server.adminToken}`,
        '',
        ` Log in with: agentry login --registry ${server.url} --token <token>`,
        '================================================================',
        '',
      );
    }
    writeLine(lines.join('\n'));
    const signal = await stopped;
    writeLine(`Received ${signal}, shutting down`);
    await server.close();
  });
};

/** The settings `agentry runtime` takes as flags; the others come from the environment or the config file, as for `serve`. */
const RUNTIME_FLAGS: readonly SettingName[] = ['data-dir', 'database-url', 'blob-store', 'egress-allow', 'log-level'];

/**
 * `agentry runtime`: session workers without the HTTP server, for scale-out: they share the
 * database (PostgreSQL) with `agentry serve --no-runtime` processes and take running sessions from it.
 */
export const registerRuntimeCommand = (program: Command): void => {
  const runtime = program.command('runtime').description('Run session workers only (no HTTP): they take running sessions from the shared database').option('--config <file>', CONFIG_HELP);
  addSettingOptions(
    runtime,
    (SETTINGS as readonly SettingSpec[]).filter((s) => (RUNTIME_FLAGS as readonly string[]).includes(s.name)),
  );
  runtime.action(async (opts: ServeFlags & { config?: string }) => {
    // A `runtime: false` meant for the serving processes of a shared config file does not apply here.
    const config = await configOf(runtime, opts, { runtime: true });
    const { startServer } = await import('../../app/server.js');
    const running = await startServer(config, { http: false });
    const stopped = nextStopSignal();
    writeLine(`Agentry session runtime running on ${config.databaseUrl ? 'PostgreSQL' : config.dataDir}`);
    const signal = await stopped;
    writeLine(`Received ${signal}, shutting down`);
    await running.close();
  });
};

interface WorkerFlags extends RegistryOptions {
  environment: string;
  key?: string;
  workdir?: string;
  network: string;
  allowHost?: string[];
  unsafeLocalTools?: boolean;
  maxIdle?: string;
}

/**
 * `agentry worker --environment <id>`: runs a self-hosted environment's tool calls on this machine.
 * It takes work from the server's queue with the environment's key (`--key`, env
 * AGENTRY_ENVIRONMENT_KEY) or the logged-in token, and runs Agentry's built-in toolset here (bash in
 * bubblewrap, the file tools in `<workdir>/<session id>`), posting each result back to the session.
 */
export const registerWorkerCommand = (program: Command): void => {
  const worker = withRegistryOptions(
    program
      .command('worker')
      .description("Run a self-hosted environment's tools on this machine: take its sessions' tool calls from the server and post the results")
      .requiredOption('--environment <id>', 'the self-hosted environment (env_…)')
      .option('--key <key>', "the environment's key, shown when it was made (env AGENTRY_ENVIRONMENT_KEY; default: the API token)")
      .option('--workdir <dir>', 'where session workspaces are made (default ./agentry-worker)')
      .option('--network <mode>', 'network for bash and web_fetch: unrestricted, limited (with --allow-host) or none', 'unrestricted')
      .option('--allow-host <host...>', 'hosts a limited network may reach')
      .option('--unsafe-local-tools', 'run bash without bubblewrap when it is missing (no isolation: your own machine only)')
      .option('--max-idle <seconds>', 'release a session this long after it went idle', '60'),
  );
  worker.action(async (opts: WorkerFlags) => {
    const conn = await connect(opts);
    const key = opts.key || process.env.AGENTRY_ENVIRONMENT_KEY || conn.token;
    if (!key) throw new CliError("no credentials: pass --key with the environment's key (or set AGENTRY_ENVIRONMENT_KEY), or log in");
    if (!/^env_[0-9A-Za-z]+$/.test(opts.environment)) throw new CliError(`'${opts.environment}' is not an environment id (env_…)`);
    const network =
      opts.network === 'none'
        ? ({ type: 'none' } as const)
        : opts.network === 'limited'
          ? ({ type: 'limited', allowedHosts: opts.allowHost ?? [] } as const)
          : opts.network === 'unrestricted'
            ? ({ type: 'unrestricted' } as const)
            : undefined;
    if (!network) throw new CliError(`--network must be unrestricted, limited or none, not '${opts.network}'`);
    const maxIdle = Number(opts.maxIdle);
    if (!Number.isFinite(maxIdle) || maxIdle < 0) throw new CliError('--max-idle must be a number of seconds');
    const { resolve } = await import('node:path');
    const { mkdir } = await import('node:fs/promises');
    const workdir = resolve(opts.workdir ?? 'agentry-worker');
    await mkdir(workdir, { recursive: true });
    const { runSelfHostedWorker } = await import('../../app/self-hosted-worker.js');
    const ac = new AbortController();
    void nextStopSignal().then((signal) => {
      writeLine(`Received ${signal}, stopping`);
      ac.abort();
    });
    writeLine(`Agentry worker for ${opts.environment} on ${conn.registry}; workspaces in ${workdir}`);
    await runSelfHostedWorker({
      baseUrl: conn.registry,
      environmentId: opts.environment,
      key,
      workdir,
      network,
      unsafeLocalTools: opts.unsafeLocalTools === true,
      maxIdleMs: maxIdle * 1000,
      signal: ac.signal,
      log: (line) => writeLine(line),
    });
  });
};
