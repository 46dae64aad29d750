import type { Command } from 'commander';
import { saveUserConfig } from '../config-file.js';
import { connect } from '../connection.js';
import { withRegistryOptions, type RegistryOptions } from '../global-options.js';
import { writeLine } from '../output.js';

export const registerLogoutCommand = (program: Command): void => {
  withRegistryOptions(program.command('logout').description('Forget the token saved for the registry')).action(async (opts: RegistryOptions) => {
    const conn = await connect(opts);
    if (!conn.config.registries[conn.registry]) {
      writeLine(`Not logged in to ${conn.registry}`);
      return;
    }
    delete conn.config.registries[conn.registry];
    await saveUserConfig(conn.configPath, conn.config);
    writeLine(`Logged out of ${conn.registry}`);
  });
};
