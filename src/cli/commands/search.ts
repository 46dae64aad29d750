import { Option, type Command } from 'commander';
import type { PackageList } from '../api-types.js';
import { connect } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { wholeNumber } from '../option-parsers.js';
import { printResult, renderTable, truncate } from '../output.js';
import { PACKAGE_KINDS } from '../../core/packages/kinds.js';
import { SEARCH_MODES } from '../../core/search/search-mode.js';

interface SearchOptions extends RegistryOptions, JsonOption {
  kind?: string;
  category?: string;
  tag?: string;
  sort?: string;
  mode?: string;
  limit?: number;
  page?: number;
}

export const registerSearchCommand = (program: Command): void => {
  withJsonOption(
    withRegistryOptions(
      program
        .command('search')
        .description('Search the registry')
        .argument('<query...>', 'words to search for')
        .addOption(new Option('--kind <kind>', 'only this kind').choices(PACKAGE_KINDS))
        .option('--category <category>', 'only this category')
        .option('--tag <tag>', 'only packages with this tag')
        .addOption(new Option('--sort <sort>', 'order of the results (default: relevance)').choices(['relevance', 'downloads', 'stars', 'newest', 'name']))
        .addOption(new Option('--mode <mode>', 'keyword (default), semantic (by meaning) or hybrid (both); the last two need embeddings on the server').choices([...SEARCH_MODES]))
        .option('--limit <n>', 'results per page (at most 100)', wholeNumber(1))
        .option('--page <n>', 'page number, from 1', wholeNumber(1)),
    ),
  ).action(async (words: string[], opts: SearchOptions) => {
    const conn = await connect(opts);
    const q = words.join(' ');
    const list = await conn.client.json<PackageList>('GET', '/packages', {
      query: {
        q,
        kind: opts.kind,
        category: opts.category,
        tag: opts.tag,
        sort: opts.sort,
        mode: opts.mode,
        limit: opts.limit,
        page: opts.page,
      },
    });
    // Semantic search asked for but unavailable on the server's side: say so on stderr, show the keyword results.
    if (list.semantic_unavailable) process.stderr.write(`agentry: semantic search unavailable (${list.semantic_unavailable})\n`);
    printResult(opts.json === true, list, () => {
      if (list.packages.length === 0) return list.total > 0 ? `No more results (${list.total} in all)` : `No packages found for '${q}'`;
      const table = renderTable(
        ['NAME', 'VERSION', 'KIND', 'DOWNLOADS', 'DESCRIPTION'],
        list.packages.map((p) => [p.full_name, p.latest_version ?? '-', p.kind, String(p.download_count), truncate(p.description ?? '', 60)]),
      );
      const first = (list.page - 1) * list.limit + 1;
      const footer = list.total > list.packages.length ? [`(${first}-${first + list.packages.length - 1} of ${list.total}; use --page for more)`] : [];
      return [table, ...footer];
    });
  });
};
