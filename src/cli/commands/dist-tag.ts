import type { Command } from 'commander';
import type { DistTags } from '../api-types.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';
import { packagePath, parsePackageRef } from '../package-ref.js';

type Options = RegistryOptions & JsonOption;

const tagLines = (tags: Record<string, string>): string[] => {
  const entries = Object.entries(tags);
  return entries.length === 0 ? ['(no dist-tags)'] : entries.map(([tag, version]) => `${tag}: ${version}`);
};

const tagPath = (ref: { scope: string; name: string }, tag: string): string => `${packagePath(ref)}/dist-tags/${encodeURIComponent(tag)}`;

export const registerDistTagCommand = (program: Command): void => {
  const distTag = program.command('dist-tag').description("Manage a package's dist-tags (named pointers to versions)");

  withJsonOption(
    withRegistryOptions(distTag.command('add').description('Point a dist-tag at a version (adding latest pins it)').argument('<package>', '@scope/name@version').argument('<tag>', 'the dist-tag')),
  ).action(async (spec: string, tag: string, opts: Options) => {
    const ref = parsePackageRef(spec, 'required');
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<DistTags>('PUT', tagPath(ref, tag), { body: { version: ref.version }, subject: ref.fullName });
    printResult(opts.json === true, r, () => `${tag}: ${ref.fullName}@${ref.version}`);
  });

  withJsonOption(
    withRegistryOptions(
      distTag.command('rm').description('Remove a dist-tag (removing latest makes it follow the highest release again)').argument('<package>', '@scope/name').argument('<tag>', 'the dist-tag'),
    ),
  ).action(async (spec: string, tag: string, opts: Options) => {
    const ref = parsePackageRef(spec);
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<DistTags>('DELETE', tagPath(ref, tag), { subject: ref.fullName });
    printResult(opts.json === true, r, () => [`Removed ${tag} from ${ref.fullName}`, ...tagLines(r.dist_tags)]);
  });

  withJsonOption(withRegistryOptions(distTag.command('ls').description("List a package's dist-tags").argument('<package>', '@scope/name'))).action(async (spec: string, opts: Options) => {
    const ref = parsePackageRef(spec);
    const conn = await connect(opts);
    const r = await conn.client.json<DistTags>('GET', `${packagePath(ref)}/dist-tags`, { subject: ref.fullName });
    printResult(opts.json === true, r, () => tagLines(r.dist_tags));
  });
};
