/**
 * What a publish must pass before anything is stored, whichever door it came through: the tarball
 * within its limits, exactly one manifest (or a PraisonAI bundle) that validates, and agreement
 * between it and what the client declared beside it (name, scope, version, manifest, readme, tag).
 * Pure: reads only the bytes it is given. What the store's state forbids (a version taken, a kind
 * changed) is checked by PackageService.
 */
import { badRequest, validationFailed } from '../errors.js';
import { MANIFEST_FILE, PACKAGE_KINDS } from './kinds.js';
import { distTagProblem } from './latest.js';
import { isPlainObject } from './manifest/fields.js';
import { parseManifest, type PackageManifest } from './manifest/index.js';
import { PRAISON_BUNDLE_MANIFEST, bundleFileProblems, parsePraisonBundleManifest } from './manifest/praison-bundle.js';
import { validateSkillFolder } from './manifest/skill-md.js';
import type { PublishInput } from './package-publisher.js';
import { publishFindings, type VersionFinding } from './publish-findings.js';
import { SecretScan, secretsRefusal } from './secret-scan.js';
import { inspectTarball, type TarballContents, type TarballEntry, type TarballLimits } from './tarball.js';
import { versionSchemeOf } from './version-scheme.js';

const README_NAMES = ['README.md', 'readme.md', 'Readme.md', 'README.MD', 'README'];
const WANTED_FILES = new Set<string>([...Object.values(MANIFEST_FILE), PRAISON_BUNDLE_MANIFEST, ...README_NAMES]);

/** A publish that passed every check that needs no store. */
export interface CheckedPublish {
  contents: TarballContents;
  manifest: PackageManifest;
  version: string;
  /** README.md of the tarball, else the one the client sent, else the manifest's. */
  readme: string | null | undefined;
  /** The dist-tag to set, trimmed (undefined when none). */
  tag: string | undefined;
  /** What the version is flagged for (publish-findings), stored with it. */
  findings: VersionFinding[];
}

/** What a publish check reads of the publish (the rest, who and where, is the service's). */
export type PublishCheckInput = Pick<PublishInput, 'kind' | 'tarball' | 'declaredManifest' | 'readme' | 'version' | 'tag' | 'bundle'>;

/**
 * Runs `checkPublish` somewhere: in this thread by default, or off the event loop (the server
 * runs it in a worker thread, adapters/publish-check): its answer, or the error it threw, the same.
 */
export type PublishCheck = (id: { scope: string; name: string }, input: PublishCheckInput, limits: TarballLimits) => Promise<CheckedPublish>;

/**
 * Reads and checks a publish's tarball against its input; throws `validation_failed` listing every
 * problem at once, then `unprocessable` (422) when a text file holds what looks like a plaintext
 * secret (secret-scan: every file's head is scanned as the archive is read).
 */
export const checkPublish: PublishCheck = async (id, input, limits) => {
  const bundleWanted = input.bundle === true || input.kind === 'recipe' || input.kind === undefined;
  const secrets = new SecretScan();
  const contents = await inspectTarball(input.tarball, WANTED_FILES, limits, { hashFiles: bundleWanted, forStorage: true, fileHeads: secrets });
  const manifest = readManifest(input, contents.texts, { folderName: id.name, entries: contents.entries });
  const version = manifest.version ?? input.version ?? null;
  const problems = crossCheck(id, manifest, version, input, contents.texts);
  // A skill is a folder named as the skill: the whole Agent Skills check, with the package name as that folder.
  if (manifest.kind === 'skill') problems.push(...validateSkillFolder({ folderName: id.name, skillMd: contents.texts.get(manifest.file), entries: contents.entries }).errors);
  if (manifest.file === PRAISON_BUNDLE_MANIFEST) problems.push(...bundleFileProblems(manifest.raw, contents.digests));
  if (problems.length > 0) throw validationFailed(problems);
  if (secrets.hits.length > 0) throw secretsRefusal(secrets.hits);
  const readme = README_NAMES.map((n) => contents.texts.get(n)).find((t) => t !== undefined) ?? input.readme ?? manifest.readme;
  const tag = input.tag?.trim() || undefined;
  if (tag) {
    const p = distTagProblem(tag);
    if (p) throw badRequest('Invalid dist-tag', [p]);
  }
  return { contents, manifest, version: version!, readme, tag, findings: publishFindings(manifest) };
};

const readManifest = (input: PublishCheckInput, texts: Map<string, string>, folder: { folderName: string; entries: TarballEntry[] }): PackageManifest => {
  if (input.bundle && input.kind !== undefined && input.kind !== 'recipe') {
    throw validationFailed([`a ${PRAISON_BUNDLE_MANIFEST} bundle is a recipe, not a package of kind '${input.kind}'`]);
  }
  const bundleText = texts.get(PRAISON_BUNDLE_MANIFEST);
  const asBundle = input.bundle === true || (bundleText !== undefined && (input.kind === 'recipe' || input.kind === undefined) && PACKAGE_KINDS.every((k) => !texts.has(MANIFEST_FILE[k])));
  if (asBundle) {
    if (bundleText === undefined) throw validationFailed([`bundle: no ${PRAISON_BUNDLE_MANIFEST} at the root of the archive`]);
    const result = parsePraisonBundleManifest(bundleText);
    if (!result.manifest) throw validationFailed(result.problems);
    return result.manifest;
  }
  const kinds = input.kind ? [input.kind] : PACKAGE_KINDS.filter((k) => texts.has(MANIFEST_FILE[k]));
  if (kinds.length === 0 || !texts.has(MANIFEST_FILE[kinds[0]])) {
    const expected = input.kind ? MANIFEST_FILE[input.kind] : PACKAGE_KINDS.map((k) => MANIFEST_FILE[k]).join(', ');
    throw validationFailed([`tarball: no manifest at the root of the archive (expected ${expected})`]);
  }
  if (kinds.length > 1) {
    throw validationFailed([`tarball: more than one manifest at the root (${kinds.map((k) => MANIFEST_FILE[k]).join(', ')}); keep exactly one`]);
  }
  const result = parseManifest(kinds[0], texts.get(MANIFEST_FILE[kinds[0]])!);
  if (!result.manifest) {
    // A skill's folder rules are reported with its SKILL.md problems, all at once.
    throw validationFailed(kinds[0] === 'skill' ? validateSkillFolder({ ...folder, skillMd: texts.get(MANIFEST_FILE.skill) }).errors : result.problems);
  }
  return result.manifest;
};

const crossCheck = (id: { scope: string; name: string }, manifest: PackageManifest, version: string | null, input: PublishCheckInput, texts: Map<string, string>): string[] => {
  const problems: string[] = [];
  const file = manifest.file;
  // (A skill's name is checked against its folder, the package name, by the Agent Skills validator.)
  if (manifest.kind !== 'skill' && manifest.name.toLowerCase() !== id.name.toLowerCase()) {
    problems.push(`${file}: name '${manifest.name}' does not match the package being published ('${id.name}')`);
  }
  if (manifest.scope !== null && manifest.scope.toLowerCase() !== id.scope.toLowerCase()) {
    const field = manifest.kind === 'agent' ? 'author' : 'name';
    problems.push(`${file}: ${field} declares scope '@${manifest.scope}' but the package is published to '@${id.scope}'`);
  }
  if (version === null) {
    problems.push(`${file}: no version; set metadata.version in the front matter or send a 'version' field`);
  } else if (versionSchemeOf(manifest.kind).problem(version)) {
    problems.push(versionSchemeOf(manifest.kind).problem(version)!);
  } else if (manifest.version !== null && input.version !== undefined && input.version !== manifest.version) {
    problems.push(`version: '${input.version}' was sent but ${file} says '${manifest.version}'`);
  }
  const declared = input.declaredManifest;
  if (declared !== undefined) {
    if (!isPlainObject(declared.value)) {
      problems.push(`${declared.field}: must be a JSON object`);
    } else {
      const value = declared.value;
      for (const key of new Set([...Object.keys(value), ...Object.keys(manifest.raw)])) {
        if (JSON.stringify(value[key]) !== JSON.stringify(manifest.raw[key])) {
          problems.push(`${declared.field}: field '${key}' differs from ${file} in the tarball`);
        }
      }
    }
  }
  const tarReadme = README_NAMES.map((n) => texts.get(n)).find((t) => t !== undefined);
  if (input.readme !== undefined && tarReadme !== undefined && normalizeText(input.readme) !== normalizeText(tarReadme)) {
    problems.push('readme: differs from README.md in the tarball');
  }
  return problems;
};

const normalizeText = (s: string): string => s.replace(/\r\n/g, '\n').trim();
