import type { Command } from 'commander';
import type { Whoami } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { saveUserConfig } from '../config-file.js';
import { connect } from '../connection.js';
import { withRegistryOptions, type RegistryOptions } from '../global-options.js';
import { RegistryClient } from '../http-client.js';
import { writeLine } from '../output.js';
import { readSecret } from '../prompt.js';
import { wholeNumber } from '../option-parsers.js';
import { loginWithGithub } from './login-github.js';

interface LoginOptions extends RegistryOptions {
  github?: boolean;
  port: number;
  browser: boolean;
  timeout: number;
}

export const registerLoginCommand = (program: Command): void => {
  withRegistryOptions(
    program
      .command('login')
      .description('Verify a token and save it for the registry (which also becomes the default registry)')
      .option('--github', "sign in through the registry's OAuth provider (GitHub) in a browser instead of with a token")
      .option('--port <port>', 'with --github: local port of the http://localhost:<port>/callback listener (0: any free one)', wholeNumber(0), 9876)
      .option('--no-browser', 'with --github: only print the sign-in URL, do not open a browser')
      .option('--timeout <seconds>', 'with --github: how long to wait for the sign-in', wholeNumber(1), 300)
      .addHelpText('after', '\nWithout --token, the token is read from a hidden prompt, or from the first line of stdin when it is not a terminal.'),
  ).action(async (opts: LoginOptions) => {
    const conn = await connect({ registry: opts.registry });
    if (opts.github) {
      if (opts.token) throw new CliError('--github and --token do not go together: pick one way to log in');
      const signedIn = await loginWithGithub(conn, { port: opts.port, browser: opts.browser && process.stdout.isTTY === true, timeoutSeconds: opts.timeout });
      writeLine(`Logged in to ${conn.registry} as ${signedIn.user.username} (signed in with GitHub)`);
      return;
    }
    const token = opts.token?.trim() || (await readSecret(`Token for ${conn.registry}: `));
    if (!token) throw new CliError('no token given: pass --token or type it at the prompt');
    const who = await new RegistryClient(conn.registry, token).json<Whoami>('GET', '/whoami');
    conn.config.registries[conn.registry] = { token, username: who.username };
    conn.config.default_registry = conn.registry;
    await saveUserConfig(conn.configPath, conn.config);
    writeLine(`Logged in to ${conn.registry} as ${who.username}${who.is_admin ? ' (admin)' : ''}`);
  });
};
