import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CliError } from './cli-error.js';
import { collectFiles } from './pack.js';

/** What a recipe folder says about itself, read from PraisonAI's TEMPLATE.yaml / agents.yaml or Agentry's recipe.yaml. */
export interface RecipeMeta {
  name: string;
  version: string;
  description?: string;
  tags?: string[];
  author?: string;
  /** The file it was read from. */
  source: string;
}

export interface PackedBundle {
  meta: RecipeMeta;
  /** The .praison bytes: a gzip tarball with manifest.json at the root. */
  bundle: Buffer;
  sha256: string;
  files: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** Where a recipe folder keeps its name and version, in the order they are looked for. */
const META_SOURCES: Array<{ file: string; pick: (data: Record<string, unknown>) => Record<string, unknown> }> = [
  { file: 'TEMPLATE.yaml', pick: (d) => d },
  { file: 'recipe.yaml', pick: (d) => d },
  { file: 'agents.yaml', pick: (d) => (isRecord(d.metadata) ? d.metadata : {}) },
];

/** Reads the recipe's name, version, description and tags from its folder. */
export const readRecipeMeta = async (folder: string): Promise<RecipeMeta> => {
  const { parse } = await import('yaml');
  for (const { file, pick } of META_SOURCES) {
    let text: string;
    try {
      text = await readFile(join(folder, file), 'utf8');
    } catch {
      continue;
    }
    let data: unknown;
    try {
      data = parse(text);
    } catch (e) {
      throw new CliError(`${file} is not valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    const m = pick(isRecord(data) ? data : {});
    const name = str(m.name);
    const version = typeof m.version === 'number' ? String(m.version) : str(m.version);
    if (!name || !version) continue;
    const tags = Array.isArray(m.tags) ? m.tags.filter((t): t is string => typeof t === 'string') : undefined;
    return { name, version, description: str(m.description), tags, author: str(m.author), source: file };
  }
  throw new CliError(`no recipe name and version in ${folder}: expected TEMPLATE.yaml, recipe.yaml (name, version) or agents.yaml (metadata.name, metadata.version)`);
};

const FIXED_MTIME = new Date('1985-10-26T08:15:00.000Z');

/**
 * Packs a recipe folder the way `praisonai recipe pack` does: every file except dot-files, plus a
 * manifest.json at the root listing each file's sha256. Symlinks are refused (the server checks
 * regular files only); an existing root manifest.json or *.praison file is left out.
 */
export const packRecipeFolder = async (folder: string, now: Date = new Date()): Promise<PackedBundle> => {
  const root = resolve(folder);
  const meta = await readRecipeMeta(root);
  const all = await collectFiles(root);
  const files: string[] = [];
  for (const rel of all) {
    const base = rel.split('/').pop() ?? rel;
    if (base.startsWith('.') || rel === 'manifest.json' || rel.endsWith('.praison')) continue;
    if ((await lstat(join(root, rel))).isSymbolicLink()) throw new CliError(`refusing to pack symlink '${rel}' into a recipe bundle: copy the file instead`);
    files.push(rel);
  }
  const listed = await Promise.all(
    files.map(async (path) => ({
      path,
      checksum: createHash('sha256')
        .update(await readFile(join(root, path)))
        .digest('hex'),
    })),
  );
  const manifest = {
    name: meta.name,
    version: meta.version,
    ...(meta.description !== undefined ? { description: meta.description } : {}),
    ...(meta.tags !== undefined ? { tags: meta.tags } : {}),
    ...(meta.author !== undefined ? { author: meta.author } : {}),
    created_at: now.toISOString(),
    files: listed,
  };
  const { create } = await import('tar');
  const { mkdtemp, writeFile, rm, cp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  // tar packs from disk: stage the files and the generated manifest.json in a temp folder.
  const stage = await mkdtemp(join(tmpdir(), 'agentry-recipe-'));
  try {
    for (const rel of files) await cp(join(root, rel), join(stage, rel), { recursive: false, force: true, errorOnExist: false });
    await writeFile(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const chunks: Buffer[] = [];
    const stream = create({ gzip: true, portable: true, cwd: stage, mtime: FIXED_MTIME, follow: false, noDirRecurse: true }, [...files, 'manifest.json']);
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    const bundle = Buffer.concat(chunks);
    return { meta, bundle, sha256: createHash('sha256').update(bundle).digest('hex'), files };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
};

/** Name and version from the manifest.json of an existing .praison file. */
export const readBundleMeta = async (bundle: Buffer): Promise<{ name: string; version: string }> => {
  const { Parser } = await import('tar');
  let text: string | undefined;
  await new Promise<void>((done, reject) => {
    const parser = new Parser({
      onReadEntry: (entry) => {
        if (entry.path.replace(/^\.\//, '') === 'manifest.json') {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => (text = Buffer.concat(chunks).toString('utf8')));
        } else entry.resume();
      },
    });
    parser.on('end', () => done());
    parser.on('error', (e: Error) => reject(new CliError(`the bundle is not a gzip tarball: ${e.message}`)));
    parser.end(bundle);
  });
  if (text === undefined) throw new CliError('the bundle has no manifest.json at its root');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new CliError("the bundle's manifest.json is not valid JSON");
  }
  const name = isRecord(data) ? str(data.name) : undefined;
  const version = isRecord(data) ? str(data.version) : undefined;
  if (!name || !version) throw new CliError("the bundle's manifest.json has no name or version");
  return { name, version };
};
