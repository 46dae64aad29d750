import type { Command } from 'commander';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';

interface RotateResult {
  active_key_id: string;
  reencrypted: number;
  retired_key_ids: string[];
}

export const registerSecretsCommand = (program: Command): void => {
  const secrets = program.command('secrets').description("Manage the server's secret store (admin)");
  withJsonOption(
    withRegistryOptions(
      secrets
        .command('rotate-key')
        .description('Re-encrypt every secret value under a new root key while the server keeps serving (admin)')
        .addHelpText(
          'after',
          '\nWith the key file in the data directory the server makes the new key itself.\n' +
            'With AGENTRY_SECRET_KEY: restart the server with AGENTRY_SECRET_KEY=<new>,<old>, run this, then drop <old>.',
        ),
    ),
  ).action(async (opts: RegistryOptions & JsonOption) => {
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<RotateResult>('POST', '/admin/secrets/rotate-key', { body: {} });
    printResult(opts.json === true, r, () => [
      `Re-encrypted ${r.reencrypted} secret value${r.reencrypted === 1 ? '' : 's'} under root key ${r.active_key_id}`,
      ...(r.retired_key_ids.length > 0 ? [`No value needs root key ${r.retired_key_ids.join(', ')} any more`] : []),
    ]);
  });
};
