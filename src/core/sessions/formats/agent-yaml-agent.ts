import { badRequest } from '../../errors.js';
import type { AgentInput } from '../../managed/agents/agent-config.js';
import { isPlainObject } from '../../packages/manifest/fields.js';
import { AGENT_NETWORK_KEY, BUILTIN_TOOL_NAMES, BUILTIN_TOOLSET_TYPE } from '../../tools/builtin-toolset.js';
import { agentYamlServers } from './agent-yaml-servers.js';

/** The `config` keys of an agent.yaml that a run reads; any other key is refused by name. */
export const AGENT_YAML_CONFIG_KEYS = ['system_prompt', 'model'] as const;
/** Fields that carry no behaviour of a run (registry metadata): read by nothing here, refused by nothing. */
const METADATA_FIELDS = new Set(['name', 'version', 'description', 'author', 'license', 'tags', 'category', 'repository', 'homepage']);
const SYSTEM_MAX = 100_000;

/** What a run of an agent.yaml package becomes: a managed agent's create input, and its examples. */
export interface AgentYamlMapping {
  input: AgentInput;
  /** `examples[].prompt`: prompts to suggest to whoever runs the agent. */
  suggestedPrompts: string[];
}

const refuse = (field: string, why: string): never => {
  throw badRequest(`agent.yaml field '${field}' cannot run on Agentry yet: ${why}`);
};

const nonEmpty = (v: unknown): boolean => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && !(isPlainObject(v) && Object.keys(v).length === 0);

/**
 * Maps a validated agentx `agent.yaml` (the stored manifest of a package version) and its README
 * onto a managed agent (docs/run.md, field by field). Pure: no store, no clock. What the mapping
 * cannot express is refused with the field's name, never dropped: `requires`, unknown `config`
 * keys, `mcp_servers` entries the sandbox cannot run (agent-yaml-servers.ts). Each server becomes
 * an `mcp_toolset` of a `package` MCP server, run at session time as a sandboxed workload.
 * `model` (the caller's override) wins over `config.model`.
 */
export const agentYamlToAgent = (manifest: Record<string, unknown>, readme: string | null, opts: { model?: string } = {}): AgentYamlMapping => {
  for (const key of Object.keys(manifest)) {
    if (METADATA_FIELDS.has(key) || ['config', 'permissions', 'examples', 'secrets', 'mcp_servers', 'requires'].includes(key)) continue;
    refuse(key, 'unknown field');
  }
  if (nonEmpty(manifest.requires)) refuse('requires', 'requirements are not checked by the runtime');

  const config = isPlainObject(manifest.config) ? manifest.config : {};
  for (const key of Object.keys(config)) {
    if (!(AGENT_YAML_CONFIG_KEYS as readonly string[]).includes(key)) refuse(`config.${key}`, `the runtime reads only config.${AGENT_YAML_CONFIG_KEYS.join(' and config.')}`);
  }
  if (config.system_prompt !== undefined && typeof config.system_prompt !== 'string') refuse('config.system_prompt', 'it must be a string');
  if (config.model !== undefined && (typeof config.model !== 'string' || config.model.trim() === '')) refuse('config.model', 'it must be a model card id (a string)');

  const model = opts.model ?? (config.model as string | undefined);
  if (model === undefined) throw badRequest('agent.yaml names no model (config.model): pass agent.model, the model_id of one of your model cards');

  const description = typeof manifest.description === 'string' ? manifest.description : '';
  const system = typeof config.system_prompt === 'string' ? config.system_prompt : [description.trim(), (readme ?? '').trim()].filter((s) => s !== '').join('\n\n');
  if (system.length > SYSTEM_MAX) refuse(typeof config.system_prompt === 'string' ? 'config.system_prompt' : 'README', `the system prompt is longer than ${SYSTEM_MAX} characters`);

  const permissions = isPlainObject(manifest.permissions) ? manifest.permissions : {};
  const off = new Set<string>();
  if (permissions.execute_commands === false) off.add('bash');
  if (permissions.filesystem === false) for (const t of ['write', 'edit']) off.add(t);
  if (permissions.network === false) off.add('web_fetch');
  const toolset = {
    type: BUILTIN_TOOLSET_TYPE,
    default_config: { enabled: true, permission_policy: { type: 'always_allow' } },
    configs: BUILTIN_TOOL_NAMES.filter((n) => off.has(n)).map((name) => ({ name, enabled: false })),
  };

  const examples = Array.isArray(manifest.examples) ? manifest.examples : [];
  const suggestedPrompts = examples
    .filter(isPlainObject)
    .map((e) => e.prompt)
    .filter((p): p is string => typeof p === 'string');

  const name = typeof manifest.name === 'string' ? manifest.name : 'agent';
  const author = typeof manifest.author === 'string' ? manifest.author : '';
  const version = String(manifest.version ?? '');
  const servers = agentYamlServers(manifest).map(([id]) => id);
  return {
    input: {
      name: `${author}/${name}@${version}`.slice(0, 256),
      description: description.slice(0, 2048) || null,
      model,
      system: system === '' ? null : system,
      tools: [toolset, ...servers.map((id) => ({ type: 'mcp_toolset', mcp_server_name: id }))],
      mcp_servers: servers.map((id) => ({ name: id, type: 'package' as const, package: `${author}/${name}`, version })),
      metadata: {
        'agentry.package': `${author}/${name}`.slice(0, 512),
        'agentry.package_version': version.slice(0, 512),
        ...(permissions.network === false ? { [AGENT_NETWORK_KEY]: 'none' } : {}),
      },
    },
    suggestedPrompts,
  };
};
