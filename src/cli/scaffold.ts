import { CliError } from './cli-error.js';
import serverJsonSchema from '../core/packages/manifest/server-json/schema/2025-12-11.json' with { type: 'json' };
import { AGENT_DESCRIPTION_MAX, AGENT_NAME_MAX, AGENT_NAME_PATTERN } from '../core/packages/manifest/agent-yaml.js';
import { RECIPE_DESCRIPTION_MAX } from '../core/packages/manifest/recipe-yaml.js';
import { SKILL_DESCRIPTION_MAX, SKILL_NAME_MAX, SKILL_NAME_PATTERN } from '../core/packages/manifest/skill-md.js';
import { MANIFEST_FILE, type PackageKind } from '../core/packages/kinds.js';
import { PACKAGE_NAME_PATTERN, SCOPE_PATTERN } from '../core/packages/names.js';

export interface ScaffoldInput {
  kind: PackageKind;
  name: string;
  /** Without `@`; required for agents and MCP servers, whose manifest names their scope. */
  scope?: string;
  description?: string;
}

/** The server.json schema new MCP servers declare: the one the registry validates them with. */
export const MCP_SERVER_SCHEMA = serverJsonSchema.$id;
export const INITIAL_VERSION = '0.1.0';

/** The rules each kind's manifest puts on a package name, checked before anything is written. */
const nameProblem = (kind: PackageKind, name: string): string | undefined => {
  if (kind === 'agent' && !(AGENT_NAME_PATTERN.test(name) && name.length <= AGENT_NAME_MAX)) return `an agent name is lower-case letters, digits and hyphens (at most ${AGENT_NAME_MAX})`;
  if (kind === 'skill' && !(SKILL_NAME_PATTERN.test(name) && name.length <= SKILL_NAME_MAX)) {
    return `a skill name is lower-case letters, digits and single hyphens, not at either end (at most ${SKILL_NAME_MAX})`;
  }
  if (!PACKAGE_NAME_PATTERN.test(name) || name.includes('..')) return "a package name is 1-128 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  return undefined;
};

const scopeProblem = (kind: PackageKind, scope: string): string | undefined => {
  if (!SCOPE_PATTERN.test(scope) || scope.includes('..')) return "a scope is 1-100 letters, digits, '-' or '.', starting and ending with a letter or digit";
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

  const manifestFile = MANIFEST_FILE[kind];
  const description = input.description ?? defaultDescription(kind, name);
  const maxDescription = {
    agent: AGENT_DESCRIPTION_MAX,
    skill: SKILL_DESCRIPTION_MAX,
    'mcp-server': serverJsonSchema.definitions.ServerDetail.properties.description.maxLength,
    recipe: RECIPE_DESCRIPTION_MAX,
  }[kind];
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
  return `# ${name}\n\n${description}\n\n## Install\n\n\`\`\`sh\nagentry pull ${full}\n\`\`\`\n\nEdit \`${MANIFEST_FILE[kind]}\`, then publish a new version with \`agentry publish\`.\n`;
};
