import type { Command } from 'commander';
import type { VersionList } from '../api-types.js';
import { connect } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { formatBytes, formatDate, printResult, renderTable, truncate } from '../output.js';
import { packagePath, parsePackageRef } from '../package-ref.js';

export const registerVersionsCommand = (program: Command): void => {
  withJsonOption(withRegistryOptions(program.command('versions').description("List a package's versions, newest first").argument('<package>', '@scope/name'))).action(
    async (spec: string, opts: RegistryOptions & JsonOption) => {
      const ref = parsePackageRef(spec);
      const conn = await connect(opts);
      const list = await conn.client.json<VersionList>('GET', `${packagePath(ref)}/versions`, { subject: ref.fullName });
      printResult(opts.json === true, list, () =>
        list.versions.length === 0
          ? `${ref.fullName} has no versions`
          : renderTable(
              ['VERSION', 'PUBLISHED', 'SIZE', 'DOWNLOADS', 'DEPRECATED'],
              list.versions.map((v) => [v.version, formatDate(v.published_at), formatBytes(v.tarball_size), String(v.download_count), truncate(v.deprecated ?? '', 50)]),
            ),
      );
    },
  );
};
