import type { Command } from 'commander';
import type { GcResult } from '../api-types.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { wholeNumber } from '../option-parsers.js';
import { formatBytes, printResult } from '../output.js';

interface GcOptions extends RegistryOptions, JsonOption {
  dryRun?: boolean;
  graceSeconds?: number;
}

export const registerGcCommand = (program: Command): void => {
  withJsonOption(
    withRegistryOptions(
      program
        .command('gc')
        .description('Remove stored tarballs that no version refers to any more (admin)')
        .option('--dry-run', 'only report what would be removed')
        .option('--grace-seconds <n>', 'keep blobs younger than this (server default: 3600)', wholeNumber(0)),
    ),
  ).action(async (opts: GcOptions) => {
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<GcResult>('POST', '/admin/gc', {
      body: {
        dry_run: opts.dryRun === true,
        ...(opts.graceSeconds !== undefined ? { grace_seconds: opts.graceSeconds } : {}),
      },
    });
    printResult(opts.json === true, r, () => {
      const n = r.removed.length;
      const what = `${n} blob${n === 1 ? '' : 's'} (${formatBytes(r.freed_bytes)})`;
      return [r.dry_run ? `Would remove ${what}; ${r.kept} kept` : `Removed ${what}; ${r.kept} kept`, ...r.removed.map((d) => `  ${d}`)];
    });
  });
};
