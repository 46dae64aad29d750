import type { Command } from 'commander';
import type { CreatedUser } from '../api-types.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';

interface AddOptions extends RegistryOptions, JsonOption {
  displayName?: string;
  email?: string;
  admin?: boolean;
}

export const registerUserCommand = (program: Command): void => {
  const user = program.command('user').description('Manage users (admin)');

  withJsonOption(
    withRegistryOptions(
      user
        .command('add')
        .description('Create a user and a publish token for them (admin)')
        .argument('<username>', 'the new username (also their scope)')
        .option('--display-name <name>', 'a display name')
        .option('--email <email>', 'an email address')
        .option('--admin', 'make the user an administrator'),
    ),
  ).action(async (username: string, opts: AddOptions) => {
    const conn = await connect(opts);
    requireToken(conn);
    const created = await conn.client.json<CreatedUser>('POST', '/users', {
      body: {
        username,
        ...(opts.displayName !== undefined ? { display_name: opts.displayName } : {}),
        ...(opts.email !== undefined ? { email: opts.email } : {}),
        ...(opts.admin ? { admin: true } : {}),
      },
    });
    printResult(opts.json === true, created, () => [`Created user ${created.username}${created.is_admin ? ' (admin)' : ''}`, `Publish token (shown only once): ${created.token}`]);
  });
};
