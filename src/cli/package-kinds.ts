/** The four kinds of package and the manifest file at the root of each. */
export type PackageKind = 'agent' | 'skill' | 'mcp-server' | 'recipe';

export const PACKAGE_KINDS: readonly PackageKind[] = ['agent', 'skill', 'mcp-server', 'recipe'];

export const MANIFEST_FILES: Readonly<Record<PackageKind, string>> = {
  agent: 'agent.yaml',
  skill: 'SKILL.md',
  'mcp-server': 'server.json',
  recipe: 'recipe.yaml',
};

export const isPackageKind = (s: string): s is PackageKind => (PACKAGE_KINDS as readonly string[]).includes(s);

/** The agent categories the registry knows. */
export const CATEGORIES: readonly string[] = [
  'productivity', 'devtools', 'communication', 'data', 'research', 'writing',
  'finance', 'marketing', 'education', 'entertainment', 'security', 'other',
];
