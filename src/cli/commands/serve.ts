import type { Command } from 'commander';
import { writeLine } from '../output.js';
import { nextStopSignal } from '../stop-signal.js';
import { DEFAULT_SETTINGS_FILE, SETTINGS, envName, type ServeFlags, type SettingSpec } from '../../app/settings.js';

/** `--help` text of a setting: its help, its variable and its default. */
const helpOf = (s: SettingSpec): string => {
  const dflt = s.default !== undefined ? `; default ${s.default}` : s.defaultDoc !== undefined ? `; default ${s.defaultDoc.replace(/`/g, '')}` : '';
  const env = s.type === 'boolean' ? `${envName(s.name)}=true` : envName(s.name);
  return `${s.help} (env ${env}${s.type === 'boolean' ? '' : dflt})`;
};

/**
 * `agentry serve`: the only command that runs server code. The server modules are loaded when
 * the command runs, so the other commands start without them.
 */
export const registerServeCommand = (program: Command): void => {
  const serve = program
    .command('serve')
    .description('Run the registry server')
    .option('--config <file>', `read settings from this YAML file, keys spelled as the long flags (default ./${DEFAULT_SETTINGS_FILE} when it exists); flags win over env, env over the file`);
  for (const setting of SETTINGS as readonly SettingSpec[]) serve.option(`--${setting.name}${setting.arg ? ` ${setting.arg}` : ''}`, helpOf(setting));
  serve.action(async (opts: ServeFlags & { config?: string }) => {
    const { resolveConfig } = await import('../../app/config.js');
    const { startServer } = await import('../../app/server.js');
    const { loadSettingsFile } = await import('../../app/settings-file.js');
    const { config: configFile, ...flags } = opts;
    const file = loadSettingsFile(configFile);
    for (const warning of file?.warnings ?? []) process.stderr.write(`agentry: warning: ${warning}\n`);
    const config = resolveConfig(flags, process.env, file);
    const server = await startServer(config);
    const stopped = nextStopSignal();
    const lines = [`Agentry listening on ${server.url}`, ...server.notices];
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
