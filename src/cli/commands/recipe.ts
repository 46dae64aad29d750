import { readFile, stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken, type Connection } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { readJson } from '../http-client.js';
import { wholeNumber } from '../option-parsers.js';
import { printResult, renderTable, truncate, writeWarning } from '../output.js';
import { ProgressBar } from '../progress.js';
import { ACCESS_HELP, accessLevel, type AccessLevel } from '../visibility-option.js';
import { downloadVerified } from '../verified-download.js';

/** PraisonAI's recipe registry API (`/v1`, seed 001), as the `recipe` commands use it. */
interface RecipeItem {
  name: string;
  version: string;
  description: string;
  tags: string[];
}
interface RecipeList {
  recipes: RecipeItem[];
  total: number;
  limit: number;
  offset: number;
}
interface RecipeInfo {
  name: string;
  latest: string | null;
  versions: Record<string, { checksum: string; published_at: string }>;
}
interface VersionInfo {
  name: string;
  version: string;
  checksum: string;
  size: number;
  published_at: string;
}
interface PublishAnswer {
  ok: boolean;
  name: string;
  version: string;
  checksum: string;
  published_at: string;
}

/** `<registry>/v1<path>?query`. */
const v1 = (conn: Connection, path: string, query: Record<string, string | number | undefined> = {}): string => {
  const url = new URL(`${conn.registry}/v1${path}`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  return url.toString();
};

const getJson = async <T>(conn: Connection, path: string, query: Record<string, string | number | undefined> = {}, subject?: string): Promise<T> =>
  (await readJson(await conn.client.send('GET', v1(conn, path, query), { headers: { accept: 'application/json' }, subject }))) as T;

const table = (items: RecipeItem[]): string =>
  renderTable(
    ['NAME', 'VERSION', 'TAGS', 'DESCRIPTION'],
    items.map((r) => [r.name, r.version, r.tags.slice(0, 3).join(', '), truncate(r.description, 60)]),
  );

interface ListOptions extends RegistryOptions, JsonOption {
  tags?: string;
  limit?: number;
  offset?: number;
}
interface SearchOptions extends RegistryOptions, JsonOption {
  tags?: string;
  limit?: number;
}
interface PublishOptions extends RegistryOptions, JsonOption {
  force?: boolean;
  access?: AccessLevel;
}
interface PullOptions extends RegistryOptions, JsonOption {
  output?: string;
}

/** `agentry recipe list|search|publish|pull`: PraisonAI's recipe commands, against Agentry's `/v1` door. */
export const registerRecipeCommand = (program: Command): void => {
  const recipe = program.command('recipe').description("PraisonAI recipes (.praison bundles) through the recipe registry API at /v1, like 'praisonai recipe'");

  withJsonOption(
    withRegistryOptions(
      recipe
        .command('list')
        .description('List the recipes in the registry')
        .option('--tags <tags>', 'only recipes with any of these tags (comma-separated)')
        .option('--limit <n>', 'at most this many (default 50)', wholeNumber(1))
        .option('--offset <n>', 'skip this many', wholeNumber(0)),
    ),
  ).action(async (opts: ListOptions) => {
    const conn = await connect(opts);
    const list = await getJson<RecipeList>(conn, '/recipes', { tags: opts.tags, limit: opts.limit, offset: opts.offset });
    printResult(opts.json === true, list, () => {
      if (list.recipes.length === 0) return list.total > 0 ? `No more recipes (${list.total} in all)` : 'No recipes found in the registry';
      const footer = list.total > list.offset + list.recipes.length ? [`(${list.offset + 1}-${list.offset + list.recipes.length} of ${list.total}; use --offset for more)`] : [];
      return [table(list.recipes), ...footer];
    });
  });

  withJsonOption(
    withRegistryOptions(
      recipe
        .command('search')
        .description('Search recipes by name, description and tags')
        .argument('<query...>', 'words to search for')
        .option('--tags <tags>', 'only recipes with any of these tags (comma-separated)')
        .option('--limit <n>', 'at most this many (default 50)', wholeNumber(1)),
    ),
  ).action(async (words: string[], opts: SearchOptions) => {
    const conn = await connect(opts);
    const q = words.join(' ');
    const found = await getJson<RecipeItem[]>(conn, '/search', { q, tags: opts.tags, limit: opts.limit });
    printResult(opts.json === true, found, () => (found.length === 0 ? `No recipes found matching '${q}'` : [`Found ${found.length} recipe(s) matching '${q}':`, table(found)]));
  });

  withJsonOption(
    withRegistryOptions(
      recipe
        .command('publish')
        .description('Publish a recipe folder (packed into a .praison bundle) or a .praison file')
        .argument('<path>', 'a recipe folder (TEMPLATE.yaml, recipe.yaml or agents.yaml with name and version) or a .praison file')
        .option('--force', 'replace the content of a version that already exists (you must be allowed to publish it)')
        .option('--access <visibility>', ACCESS_HELP, accessLevel),
    ),
  ).action(async (path: string, opts: PublishOptions) => {
    const conn = await connect(opts);
    requireToken(conn);
    const abs = resolve(path);
    let info;
    try {
      info = await stat(abs);
    } catch {
      throw new CliError(`${path} does not exist`);
    }
    let bundle: Buffer;
    let name: string;
    let version: string;
    // Loaded on use: the tar reader and writer are most of the CLI's start-up otherwise.
    const { packRecipeFolder, readBundleMeta } = await import('../recipe-bundle.js');
    if (info.isDirectory()) {
      const packed = await packRecipeFolder(abs);
      ({ bundle } = packed);
      ({ name, version } = packed.meta);
    } else {
      bundle = await readFile(abs);
      ({ name, version } = await readBundleMeta(bundle));
    }
    // The same upload as praisonai's client: multipart with a `force` field and the `bundle` file.
    const form = (): FormData => {
      const f = new FormData();
      f.set('force', opts.force ? 'true' : 'false');
      if (opts.access) f.set('access', opts.access);
      f.set('bundle', new Blob([bundle], { type: 'application/gzip' }), `${name}-${version}.praison`);
      return f;
    };
    const bar = new ProgressBar(`Uploading ${name}@${version}`, bundle.length);
    let answer: PublishAnswer;
    try {
      // A fresh Idempotency-Key, the same on every attempt: a retry after a lost reply is never a 409.
      answer = (await conn.client.publishIdempotently(
        'POST',
        v1(conn, `/recipes/${encodeURIComponent(name)}/${encodeURIComponent(version)}`),
        () => ({ headers: { accept: 'application/json' }, body: form(), subject: `${name}@${version}` }),
        { onRetry: (reason) => writeWarning(`the reply to the upload was lost (${reason}); sending it again`) },
      )) as PublishAnswer;
    } catch (e) {
      bar.clear();
      throw e;
    }
    bar.advance(bundle.length);
    bar.finish();
    printResult(opts.json === true, answer, () => `Published ${answer.name}@${answer.version} (${answer.checksum})`);
  });

  withJsonOption(
    withRegistryOptions(
      recipe
        .command('pull')
        .description('Download a recipe, verify its sha256 and extract it into <output>/<name>')
        .argument('<recipe>', 'name or name@version (default: the latest, the highest version)')
        .option('-o, --output <dir>', 'the folder to extract into (default: the current folder)', '.'),
    ),
  ).action(async (spec: string, opts: PullOptions) => {
    const at = spec.lastIndexOf('@');
    const name = at > 0 ? spec.slice(0, at) : spec;
    let version = at > 0 ? spec.slice(at + 1) : undefined;
    if (!name || version === '') throw new CliError(`'${spec}' is not a recipe: use name or name@version`);
    const dest = resolve(opts.output ?? '.', name);
    // Loaded on use: the tar reader is most of the CLI's start-up otherwise.
    const { extractToNewFolder, refuseExisting } = await import('../extract.js');
    await refuseExisting(dest);
    const conn = await connect(opts);
    const enc = encodeURIComponent;
    if (version === undefined) {
      const info = await getJson<RecipeInfo>(conn, `/recipes/${enc(name)}`, {}, name);
      if (!info.latest) throw new CliError(`${name} has no versions`);
      version = info.latest;
    }
    const v = await getJson<VersionInfo>(conn, `/recipes/${enc(name)}/${enc(version)}`, {}, `${name}@${version}`);
    const bar = new ProgressBar(`Downloading ${name}@${version}`, v.size);
    let bundle: Buffer;
    try {
      bundle = await downloadVerified(conn.client, v1(conn, `/recipes/${enc(name)}/${enc(version)}/download`), { sha256: v.checksum, size: v.size }, (n) => bar.advance(n));
    } catch (e) {
      bar.clear();
      throw e;
    }
    bar.finish();
    await extractToNewFolder(bundle, dest);
    const shown = relative(process.cwd(), dest);
    const where = shown.startsWith('..') ? dest : `./${shown}`;
    printResult(opts.json === true, { name: v.name, version: v.version, path: dest, checksum: v.checksum, size: v.size }, () => `Pulled ${v.name}@${v.version} into ${where} (${v.checksum})`);
  });
};
