import { CATEGORY_SLUGS } from '../categories.js';
import { PACKAGE_NAME_PATTERN } from '../names.js';
import { FieldChecker } from './fields.js';
import type { ManifestResult } from './package-manifest.js';
import { parseMapping } from './parse-text.js';

const FILE = 'recipe.yaml';
export const RECIPE_DESCRIPTION_MAX = 500;
const FIELDS = ['name', 'version', 'description', 'tags', 'author', 'license', 'category', 'requires', 'config', 'files', 'repository', 'homepage'] as const;

/** A recipe's recipe.yaml: a named, versioned bundle of agent workflow files. */
export const parseRecipeManifest = (text: string): ManifestResult => {
  const { data, problem } = parseMapping(FILE, text, 'yaml');
  if (!data) return { problems: [problem!] };
  const c = new FieldChecker(FILE, data);
  c.unknownFields(FIELDS);
  const name = c.string('name', { required: true, max: 100, pattern: PACKAGE_NAME_PATTERN, patternHint: "must be letters, digits, '-', '_' or '.'" });
  const version = c.version();
  const description = c.string('description', { max: RECIPE_DESCRIPTION_MAX });
  const tags = c.stringList('tags', { max: 10, itemMax: 50 });
  c.string('author', { max: 100 });
  const license = c.string('license', { max: 100 });
  const category = c.string('category', { oneOf: CATEGORY_SLUGS });
  c.stringList('files');
  c.object('requires');
  c.object('config');
  const repository = c.string('repository', { max: 500 });
  const homepage = c.string('homepage', { max: 500 });
  if (c.problems.length > 0 || !name || !version) return { problems: c.problems };
  return {
    problems: [],
    manifest: {
      kind: 'recipe',
      file: FILE,
      name,
      scope: null,
      version,
      description: description ?? null,
      category: category ?? null,
      tags,
      license: license ?? null,
      repository: repository ?? null,
      homepage: homepage ?? null,
      readme: null,
      raw: data,
    },
  };
};
