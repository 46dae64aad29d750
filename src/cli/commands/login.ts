import type { Command } from 'commander';
import type { Whoami } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { saveUserConfig } from '../config-file.js';
import { connect } from '../connection.js';
import { withRegistryOptions, type RegistryOptions } from '../global-options.js';
import { RegistryClient } from '../http-client.js';
import { writeLine } from '../output.js';
import { readSecret } from '../prompt.js';

export const registerLoginCommand = (program: Command): void => {
  withRegistryOptions(
    program
      .command('login')
      .description('Verify a token and save it for the registry (which also becomes the default registry)')
      .addHelpText('after', '\nWithout --token, the token is read from a hidden prompt, or from the first line of stdin when it is not a terminal.'),
  ).action(async (opts: RegistryOptions) => {
    const conn = await connect({ registry: opts.registry });
    const token = opts.token?.trim() || (await readSecret(`Token for ${conn.registry}: `));
    if (!token) throw new CliError('no token given: pass --token or type it at the prompt');
    const who = await new RegistryClient(conn.registry, token).json<Whoami>('GET', '/whoami');
    conn.config.registries[conn.registry] = { token, username: who.username };
    conn.config.default_registry = conn.registry;
    await saveUserConfig(conn.configPath, conn.config);
    writeLine(`Logged in to ${conn.registry} as ${who.username}${who.is_admin ? ' (admin)' : ''}`);
  });
};
