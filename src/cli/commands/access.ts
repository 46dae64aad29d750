import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';
import { parsePackageRef } from '../package-ref.js';
import { accessLevel, type AccessLevel } from '../visibility-option.js';

type Options = RegistryOptions & JsonOption;

interface PackageAccess {
  package: string;
  kind: string;
  visibility: AccessLevel;
}

interface ScopeAccess {
  scope: string;
  visibility: AccessLevel;
}

const SCOPE = /^@?([A-Za-z0-9][A-Za-z0-9.-]*)$/;

/** `@scope` or `@scope/name`: the native API path under /access and what to call it in messages. */
const accessTarget = (raw: string): { path: string; subject: string; isScope: boolean } => {
  const scope = SCOPE.exec(raw.trim());
  if (scope) return { path: `/access/${encodeURIComponent(scope[1])}`, subject: `@${scope[1]}`, isScope: true };
  if (!raw.includes('/')) throw new CliError(`invalid target '${raw}': expected @scope or @scope/name`);
  const ref = parsePackageRef(raw);
  return { path: `/access/${encodeURIComponent(ref.scope)}/${encodeURIComponent(ref.name)}`, subject: ref.fullName, isScope: false };
};

const describe = (r: PackageAccess | ScopeAccess): string => ('package' in r ? `${r.package}: ${r.visibility}` : `${r.scope}: ${r.visibility} (the default of its new packages)`);

/**
 * `agentry access get|set`: who may read a package, or what a scope's new packages start with
 * (npm's `npm access`). public: anyone; internal: every signed-in account of the registry; private:
 * members of the owning account or organisation.
 */
export const registerAccessCommand = (program: Command): void => {
  const access = program.command('access').description("Show or change who may read a package (public, internal, private), or a scope's default for new packages");

  withJsonOption(
    withRegistryOptions(
      access.command('get').description("Show a package's visibility, or the visibility a scope's new packages start with").argument('<target>', '@scope/name (a package) or @scope (its default)'),
    ),
  ).action(async (raw: string, opts: Options) => {
    const target = accessTarget(raw);
    const conn = await connect(opts);
    const r = await conn.client.json<PackageAccess | ScopeAccess>('GET', target.path, { subject: target.subject });
    printResult(opts.json === true, r, () => describe(r));
  });

  withJsonOption(
    withRegistryOptions(
      access
        .command('set')
        .description(
          "Change a package's visibility, or the visibility a scope's new packages start with (existing packages keep theirs). Needs a publish token of the scope's owners or maintainers, or an administrator's",
        )
        .argument('<target>', '@scope/name (a package) or @scope (its default)')
        .argument('<visibility>', 'public (anyone), internal (every signed-in account of the registry) or private (members of the owning account or organisation)', accessLevel),
    ),
  ).action(async (raw: string, visibility: AccessLevel, opts: Options) => {
    const target = accessTarget(raw);
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<PackageAccess | ScopeAccess>('PUT', target.path, { body: { visibility }, subject: target.subject });
    printResult(opts.json === true, r, () => describe(r));
  });
};
