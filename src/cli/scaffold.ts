import { CliError } from './cli-error.js';
import { MANIFEST_FILES, type PackageKind } from './package-kinds.js';

export interface ScaffoldInput {
  kind: PackageKind;
  name: string;
  /** Without `@`; required for agents and MCP servers, whose manifest names their scope. */
  scope?: string;
  description?: string;
}

export const MCP_SERVER_SCHEMA = 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';
export const INITIAL_VERSION = '0.1.0';

const PACKAGE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{0,126}[a-zA-Z0-9])?$/;
const SCOPE = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,98}[a-zA-Z0-9])?$/;

/** The rules each kind's manifest puts on a package name, checked before anything is written. */
const nameProblem = (kind: PackageKind, name: string): string | undefined => {
  if (kind === 'agent' && !(/^[a-z0-9-]+$/.test(name) && name.length <= 100)) return 'an agent name is lower-case letters, digits and hyphens (at most 100)';
  if (kind === 'skill' && !(/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(name) && name.length <= 64)) {
    return 'a skill name is lower-case letters, digits and single hyphens, not at either end (at most 64)';
  }
  if (!PACKAGE_NAME.test(name) || name.includes('..')) return "a package name is 1-128 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  return undefined;
};

const scopeProblem = (kind: PackageKind, scope: string): string | undefined => {
  if (!SCOPE.test(scope) || scope.includes('..')) return "a scope is 1-100 letters, digits, '-' or '.', starting and ending with a letter or digit";
  if (kind === 'agent' && scope !== scope.toLowerCase()) return "an agent's scope (its `author`) is lower-case";
  return undefined;
};

/** The files of a new, valid package of `kind`: its manifest and a README.md. */
export const scaffoldFiles = async (input: ScaffoldInput): Promise<{ manifestFile: string; files: Record<string, string> }> => {
  const { kind, name } = input;
  const scope = input.scope?.replace(/^@/, '');
  const problems: string[] = [];
  const np = nameProblem(kind, name);
  if (np) problems.push(`name '${name}': ${np}`);
  if (scope !== undefined) {
    const sp = scopeProblem(kind, scope);
    if (sp) problems.push(`scope '${scope}': ${sp}`);
  } else if (kind === 'agent' || kind === 'mcp-server') {
    problems.push(`--scope is required for ${kind === 'agent' ? 'an agent' : 'an MCP server'}: its manifest names the scope it publishes to`);
  }
  if (problems.length > 0) throw new CliError(problems.length === 1 ? problems[0] : 'cannot scaffold this package', problems.length === 1 ? [] : problems);

  const manifestFile = MANIFEST_FILES[kind];
  const description = input.description ?? defaultDescription(kind, name);
  const maxDescription = kind === 'mcp-server' ? 100 : kind === 'skill' ? 1024 : 500;
  if (description.length > maxDescription) throw new CliError(`the description is longer than ${maxDescription} characters`);
  const { stringify } = await import('yaml');
  const manifest = manifestText(kind, name, scope, description, stringify);
  return { manifestFile, files: { [manifestFile]: manifest, 'README.md': readmeText(kind, name, scope, description) } };
};

const defaultDescription = (kind: PackageKind, name: string): string => {
  switch (kind) {
    case 'agent':
      return `${name}: an agent (describe what it does)`;
    case 'skill':
      return `${name}: describe what this skill does and when an agent should use it`;
    case 'mcp-server':
      return `${name}: an MCP server`;
    case 'recipe':
      return `${name}: a recipe (describe the workflow it sets up)`;
  }
};

const manifestText = (kind: PackageKind, name: string, scope: string | undefined, description: string, stringifyYaml: (value: unknown) => string): string => {
  switch (kind) {
    case 'agent':
      return stringifyYaml({
        name,
        version: INITIAL_VERSION,
        description,
        author: `@${scope}`,
        license: 'MIT',
        tags: [],
        category: 'other',
        permissions: { filesystem: false, network: false, execute_commands: false },
        examples: [{ prompt: `What can ${name} do for me?` }],
      });
    case 'skill': {
      const front = stringifyYaml({
        name,
        description,
        license: 'MIT',
        metadata: { version: INITIAL_VERSION, ...(scope ? { scope } : {}) },
      });
      return `---\n${front}---\n\n# ${name}\n\nInstructions for the agent: when to use this skill, and how, step by step.\n`;
    }
    case 'mcp-server':
      return `${JSON.stringify({ $schema: MCP_SERVER_SCHEMA, name: `${scope}/${name}`, description, version: INITIAL_VERSION }, null, 2)}\n`;
    case 'recipe':
      return stringifyYaml({
        name,
        version: INITIAL_VERSION,
        description,
        ...(scope ? { author: `@${scope}` } : {}),
        license: 'MIT',
        tags: [],
      });
  }
};

const readmeText = (kind: PackageKind, name: string, scope: string | undefined, description: string): string => {
  const full = scope ? `@${scope}/${name}` : name;
  return `# ${name}\n\n${description}\n\n## Install\n\n\`\`\`sh\nagentry pull ${full}\n\`\`\`\n\nEdit \`${MANIFEST_FILES[kind]}\`, then publish a new version with \`agentry publish\`.\n`;
};
