import type { Command } from 'commander';
import type { Whoami } from '../api-types.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';

export const registerWhoamiCommand = (program: Command): void => {
  withJsonOption(withRegistryOptions(program.command('whoami').description('Show the account the token belongs to'))).action(async (opts: RegistryOptions & JsonOption) => {
    const conn = await connect(opts);
    requireToken(conn);
    const who = await conn.client.json<Whoami>('GET', '/whoami');
    printResult(opts.json === true, who, () => who.username);
  });
};
