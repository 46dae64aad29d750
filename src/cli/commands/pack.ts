import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { withJsonOption, type JsonOption } from '../global-options.js';
import { formatBytes, printResult } from '../output.js';

interface PackOptions extends JsonOption {
  out?: string;
}

export const registerPackCommand = (program: Command): void => {
  withJsonOption(
    program
      .command('pack')
      .description('Pack a package folder into a .tgz (manifest at the root; skips .git, node_modules, *.tgz and .agentryignore patterns)')
      .argument('[folder]', 'the package folder', '.')
      .option('--out <file>', 'where to write the tarball (default: ./<name>-<version>.tgz)'),
  ).action(async (folder: string, opts: PackOptions) => {
    // Loaded on use: the manifest parsers (YAML, JSON Schema) are most of the CLI's start-up otherwise.
    const { packFolder, tarballFileName } = await import('../pack.js');
    const packed = await packFolder(folder);
    const { manifest } = packed;
    const file = resolve(opts.out ?? tarballFileName(manifest));
    await writeFile(file, packed.tarball);
    const label = manifest.scope ? `@${manifest.scope}/${manifest.name}` : manifest.name;
    printResult(
      opts.json === true,
      { file, size: packed.size, sha256: packed.sha256, kind: manifest.kind, name: manifest.name, scope: manifest.scope ?? null, version: manifest.version, files: packed.files },
      () => [
        `Packed ${label}@${manifest.version} (${manifest.kind}, ${packed.files.length} file${packed.files.length === 1 ? '' : 's'})`,
        `file:   ${file}`,
        `size:   ${formatBytes(packed.size)} (${packed.size} bytes)`,
        `sha256: ${packed.sha256}`,
      ],
    );
  });
};
