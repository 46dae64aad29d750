import type { Command } from 'commander';
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
