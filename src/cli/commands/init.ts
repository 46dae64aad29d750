import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { CliError } from '../cli-error.js';
import { withJsonOption, type JsonOption } from '../global-options.js';
import { printResult } from '../output.js';
import { MANIFEST_FILE, PACKAGE_KINDS, type PackageKind } from '../../core/packages/kinds.js';

interface InitOptions extends JsonOption {
  kind: PackageKind;
  name?: string;
  scope?: string;
  description?: string;
}

export const registerInitCommand = (program: Command): void => {
  withJsonOption(
    program
      .command('init')
      .description('Create a new package: its manifest and a README.md')
      .argument('[folder]', 'the package folder (created when missing)', '.')
      .addOption(new Option('--kind <kind>', 'the kind of package').choices(PACKAGE_KINDS).makeOptionMandatory())
      .option('--name <name>', 'the package name (default: the folder name)')
      .option('--scope <scope>', 'the scope to publish to, like alice or @alice (required for agents and MCP servers)')
      .option('--description <text>', 'a one-line description'),
  ).action(async (folder: string, opts: InitOptions) => {
    const dir = resolve(folder);
    const name = opts.name ?? basename(dir);
    // Loaded on use: the manifest parsers (YAML, JSON Schema) are most of the CLI's start-up otherwise.
    const [{ scaffoldFiles }, { manifestsIn }] = await Promise.all([import('../scaffold.js'), import('../local-manifest.js')]);
    const { manifestFile, files } = await scaffoldFiles({ kind: opts.kind, name, scope: opts.scope, description: opts.description });
    const existing = await manifestsIn(dir);
    if (existing.length > 0) {
      throw new CliError(`${join(dir, MANIFEST_FILE[existing[0]])} already exists; refusing to overwrite it`);
    }
    await mkdir(dir, { recursive: true });
    const written: string[] = [];
    for (const [file, content] of Object.entries(files)) {
      try {
        await writeFile(join(dir, file), content, { flag: 'wx' });
        written.push(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (file === manifestFile) throw new CliError(`${join(dir, file)} already exists; refusing to overwrite it`);
      }
    }
    const scope = opts.scope?.replace(/^@/, '');
    const label = scope ? `@${scope}/${name}` : name;
    const where = relative(process.cwd(), dir) || '.';
    printResult(opts.json === true, { kind: opts.kind, name, scope: scope ?? null, folder: dir, files: written }, () => [
      `Created ${opts.kind} ${label} in ${where}: ${written.join(', ')}`,
      `Edit ${manifestFile}, then run 'agentry publish${where === '.' ? '' : ` ${where}`}'.`,
    ]);
  });
};
