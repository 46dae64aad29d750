import type { PackageKind } from '../kinds.js';
import { parseAgentManifest } from './agent-yaml.js';
import type { ManifestResult } from './package-manifest.js';
import { parseRecipeManifest } from './recipe-yaml.js';
import { parseServerManifest } from './server-json/parse-server-json.js';
import { parseSkillManifest } from './skill-md.js';

export type { PackageManifest, ManifestResult } from './package-manifest.js';
export { validateAgentManifest } from './agent-yaml.js';

/** Parses and validates the manifest text of a package of `kind`. */
export const parseManifest = (kind: PackageKind, text: string): ManifestResult => {
  switch (kind) {
    case 'agent':
      return parseAgentManifest(text);
    case 'skill':
      return parseSkillManifest(text);
    case 'mcp-server':
      return parseServerManifest(text);
    case 'recipe':
      return parseRecipeManifest(text);
  }
};
