import type { Command } from 'commander';
import type { DeprecateResult } from '../api-types.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';
import { packagePath, parsePackageRef } from '../package-ref.js';

export const registerDeprecateCommand = (program: Command): void => {
  withJsonOption(
    withRegistryOptions(
      program
        .command('deprecate')
        .description('Deprecate a version with a message (an empty message un-deprecates it)')
        .argument('<package>', '@scope/name@version')
        .argument('<message>', 'why, and what to use instead ("" to un-deprecate)'),
    ),
  ).action(async (spec: string, message: string, opts: RegistryOptions & JsonOption) => {
    const ref = parsePackageRef(spec, 'required');
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<DeprecateResult>('POST', `${packagePath(ref)}/versions/${encodeURIComponent(ref.version ?? '')}/deprecate`, { body: { message }, subject: ref.fullName });
    printResult(opts.json === true, r, () => (r.deprecated ? `Deprecated ${ref.fullName}@${r.version}: ${r.deprecated}` : `${ref.fullName}@${r.version} is no longer deprecated`));
  });
};
