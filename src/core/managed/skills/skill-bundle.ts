import { posix } from 'node:path';
import { walkTarGz } from '../../archives/bounded-gunzip.js';
import { badRequest, notFound } from '../../errors.js';
import { tarballOf } from '../tarball-of.js';
import { refuseSecrets } from '../../packages/secret-scan.js';
import { SKILL_FILE, validateSkillFolder, type SkillDocument, type SkillEntry } from '../../packages/manifest/skill-md.js';

/** One uploaded file of a skill, with the path the client gave it (`my-skill/SKILL.md` or `SKILL.md`). */
export interface UploadedFile {
  path: string;
  data: Buffer;
}

/** A skill folder made of uploaded files, validated by the Agent Skills rules. */
export interface SkillBundle {
  document: SkillDocument;
  /** The files relative to the skill's root (SKILL.md at the top). */
  files: UploadedFile[];
}

const MAX_FILES = 1000;

const cleanPath = (raw: string): string => {
  const p = posix.normalize(raw.replace(/\\/g, '/')).replace(/^(\.\/)+/, '');
  if (p === '' || p === '.' || p.startsWith('/') || p.split('/').includes('..') || /^[A-Za-z]:/.test(p)) {
    throw badRequest(`files: '${raw.slice(0, 200)}' is not a relative path inside the skill`);
  }
  return p;
};

/**
 * Turns uploaded files into a skill folder: SKILL.md at the root, or every file in one top-level
 * folder holding SKILL.md (whose name must then equal the skill's `name`). Validated by the
 * Agent Skills rules of the core (packages/manifest/skill-md.ts); refused with every problem.
 */
export const skillBundle = (uploaded: UploadedFile[], folderHint?: string): SkillBundle => {
  if (uploaded.length === 0) throw badRequest('files: upload at least SKILL.md');
  if (uploaded.length > MAX_FILES) throw badRequest(`files: at most ${MAX_FILES} files`);
  let files = uploaded.map((f) => ({ path: cleanPath(f.path), data: f.data }));
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw badRequest(`files: '${f.path}' is uploaded twice`);
    seen.add(f.path);
  }
  let folderName = folderHint;
  if (!seen.has(SKILL_FILE)) {
    const tops = new Set(files.map((f) => f.path.split('/')[0]));
    const [top] = [...tops];
    if (tops.size === 1 && seen.has(`${top}/${SKILL_FILE}`)) {
      folderName = top;
      files = files.map((f) => ({ path: f.path.slice(top.length + 1), data: f.data }));
    }
  }
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const entries: SkillEntry[] = [
    ...[...dirs].map((path): SkillEntry => ({ path, type: 'directory', size: 0 })),
    ...files.map((f): SkillEntry => ({ path: f.path, type: 'file', size: f.data.length })),
  ];
  const skillMd = files.find((f) => f.path === SKILL_FILE)?.data.toString('utf8');
  const result = validateSkillFolder({ folderName, skillMd, entries });
  if (!result.valid || !result.document) {
    throw badRequest('The skill does not follow the Agent Skills specification', result.errors.length > 0 ? result.errors : [`${SKILL_FILE}: invalid`]);
  }
  refuseSecrets(files);
  return { document: result.document, files };
};

/** The skill's files as a gzip tarball with SKILL.md at its root (the layout of a skill package). */
export const skillTarball = (files: UploadedFile[]): Promise<Buffer> => tarballOf(files);

/** The bytes of one file of a stored skill tarball (404 when it has no such file). */
export const fileInTarball = async (gz: Buffer, path: string, maxUnpackedBytes: number): Promise<Buffer> => {
  const wanted = cleanPath(path);
  let found: Buffer | undefined;
  await walkTarGz(
    gz,
    maxUnpackedBytes,
    {
      onEntry: (entry) => {
        const p = posix.normalize(entry.path).replace(/^(\.\/)+/, '');
        if (p === wanted && entry.type === 'File') {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => (found = Buffer.concat(chunks)));
        } else entry.resume();
      },
    },
    'The stored skill',
  );
  if (!found) throw notFound(`The skill has no file '${wanted}'`);
  return found;
};

/** Every file of a stored skill tarball, paths relative to the skill's root. */
export const filesInTarball = async (gz: Buffer, maxUnpackedBytes: number): Promise<UploadedFile[]> => {
  const out: UploadedFile[] = [];
  await walkTarGz(
    gz,
    maxUnpackedBytes,
    {
      onEntry: (entry) => {
        const p = posix.normalize(entry.path).replace(/^(\.\/)+/, '');
        if (entry.type === 'File' && p !== '' && !p.startsWith('/') && !p.split('/').includes('..')) {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => out.push({ path: p, data: Buffer.concat(chunks) }));
        } else entry.resume();
      },
    },
    'The stored skill',
  );
  return out;
};
