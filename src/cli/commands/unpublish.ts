import type { Command } from 'commander';
import type { SuccessMessage } from '../api-types.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';
import { packagePath, parsePackageRef } from '../package-ref.js';

export const registerUnpublishCommand = (program: Command): void => {
  withJsonOption(withRegistryOptions(program.command('unpublish').description('Unpublish a version (its number can never be reused)').argument('<package>', '@scope/name@version'))).action(
    async (spec: string, opts: RegistryOptions & JsonOption) => {
      const ref = parsePackageRef(spec, 'required');
      const conn = await connect(opts);
      requireToken(conn);
      const r = await conn.client.json<SuccessMessage>('DELETE', `${packagePath(ref)}/${encodeURIComponent(ref.version ?? '')}`, { subject: ref.fullName });
      printResult(opts.json === true, r, () => `Unpublished ${ref.fullName}@${ref.version}`);
    },
  );
};
