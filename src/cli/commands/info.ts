import type { Command } from 'commander';
import type { PackageDetail } from '../api-types.js';
import { connect } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { formatDate, printResult } from '../output.js';
import { packagePath, parsePackageRef } from '../package-ref.js';

export const registerInfoCommand = (program: Command): void => {
  withJsonOption(withRegistryOptions(program.command('info').description("Show a package's details").argument('<package>', '@scope/name'))).action(
    async (spec: string, opts: RegistryOptions & JsonOption) => {
      const ref = parsePackageRef(spec);
      const conn = await connect(opts);
      const d = await conn.client.json<PackageDetail>('GET', packagePath(ref), { subject: ref.fullName });
      printResult(opts.json === true, d, () => {
        const lines = [`${d.full_name}@${d.latest_version ?? '-'} (${d.kind})`];
        if (d.description) lines.push(d.description);
        if (d.deprecated) lines.push(`DEPRECATED: ${d.deprecated}`);
        lines.push('');
        const field = (label: string, value: string | null | undefined): void => {
          if (value) lines.push(`${`${label}:`.padEnd(12)}${value}`);
        };
        field(
          'dist-tags',
          Object.entries(d.dist_tags)
            .map(([tag, v]) => `${tag}: ${v}`)
            .join(', '),
        );
        field('category', d.category);
        field('tags', d.tags.join(', '));
        field('license', d.license);
        field('mirror', d.mirror && `read-only copy of ${d.mirror.upstream}`);
        field('homepage', d.homepage);
        field('repository', d.repository);
        field('downloads', String(d.download_count));
        field('updated', formatDate(d.updated_at));
        lines.push('', `Pull it with: agentry pull ${d.full_name}`);
        return lines;
      });
    },
  );
};
