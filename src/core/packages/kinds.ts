export type PackageKind = 'agent' | 'skill' | 'mcp-server' | 'recipe';

export const PACKAGE_KINDS: readonly PackageKind[] = ['agent', 'skill', 'mcp-server', 'recipe'];

/** The manifest file at the root of a package tarball, per kind. */
export const MANIFEST_FILE: Record<PackageKind, string> = {
  agent: 'agent.yaml',
  skill: 'SKILL.md',
  'mcp-server': 'server.json',
  recipe: 'recipe.yaml',
};

export const isPackageKind = (s: string): s is PackageKind => (PACKAGE_KINDS as readonly string[]).includes(s);

/** How a kind is named in messages (`Agent not found`); `Package` when no kind was asked for. */
export const kindLabel = (kind?: PackageKind): string => (kind === 'agent' ? 'Agent' : kind === 'skill' ? 'Skill' : kind === 'mcp-server' ? 'MCP server' : kind === 'recipe' ? 'Recipe' : 'Package');
