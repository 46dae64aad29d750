import { badRequest } from '../../errors.js';
import { isPlainObject } from '../../packages/manifest/fields.js';
import { AGENT_PACKAGE_NAME } from '../../sessions/formats/agent-yaml-servers.js';
import { newMetadata, patchMetadata, type Metadata } from '../metadata.js';

/**
 * A managed agent's configuration, as stored in every revision: the fields of the SDK's agent
 * type (name, model, system, tools, mcp_servers, skills, multiagent, …) plus 002's environment.
 */
export interface AgentConfig {
  name: string;
  description: string | null;
  model: ModelConfig;
  system: string | null;
  tools: Array<Record<string, unknown>>;
  mcp_servers: McpServerConfig[];
  skills: Array<{ type: string; skill_id: string; version: string }>;
  metadata: Metadata;
  multiagent: Record<string, unknown> | null;
  execution_identity: Record<string, unknown>;
  /** 002: the environment the agent runs in; an environment in use cannot be deleted. */
  environment_id: string | null;
}

/**
 * A declared MCP server: a Streamable HTTP URL (the SDK's only kind), or (Agentry) one of this
 * server's own MCP workloads by name, or (Agentry) the server `name` of an agent.yaml package's
 * `mcp_servers`, run as a sandboxed workload of the session's account (docs/run.md).
 */
export type McpServerConfig = { name: string; type: 'url'; url: string } | { name: string; type: 'workload'; workload: string } | { name: string; type: 'package'; package: string; version: string };

export interface ModelConfig {
  id: string;
  effort?: { type: string };
  speed?: string;
  inference_geo?: string;
}

/** What a create or update request may carry (already shape-checked by the door's schema). */
export interface AgentInput {
  name?: string;
  description?: string | null;
  model?: string | { id: string; effort?: string | { type: string } | null; speed?: string | null; inference_geo?: string | null };
  system?: string | null;
  tools?: Array<Record<string, unknown>> | null;
  mcp_servers?: Array<{ name: string; type?: 'url' | 'workload' | 'package'; url?: string; workload?: string; package?: string; version?: string }> | null;
  skills?: Array<{ type: string; skill_id: string; version?: string | null }> | null;
  metadata?: Record<string, string | null> | null;
  multiagent?: Record<string, unknown> | null;
  execution_identity?: Record<string, unknown> | null;
  environment_id?: string | null;
}

const NAME_MAX = 256;
const SYSTEM_MAX = 100_000;
const DESCRIPTION_MAX = 2048;
const TOOLSET_TYPES = new Set(['agent_toolset_20260401', 'mcp_toolset', 'custom']);
const DEFAULT_POLICY = { type: 'always_allow' };
const DEFAULT_IDENTITY = { type: 'service_account' };

const model = (m: NonNullable<AgentInput['model']>): ModelConfig => {
  if (typeof m === 'string') {
    if (m.trim() === '') throw badRequest('model must not be empty');
    return { id: m };
  }
  if (typeof m.id !== 'string' || m.id.trim() === '') throw badRequest('model.id must not be empty');
  const out: ModelConfig = { id: m.id };
  if (m.effort != null) out.effort = typeof m.effort === 'string' ? { type: m.effort } : { type: m.effort.type };
  if (m.speed != null) out.speed = m.speed;
  if (m.inference_geo != null) out.inference_geo = m.inference_geo;
  return out;
};

const toolConfig = (c: Record<string, unknown>): Record<string, unknown> => ({
  ...c,
  enabled: c.enabled ?? true,
  permission_policy: c.permission_policy ?? DEFAULT_POLICY,
  ...(typeof c.name === 'string' && ['bash', 'edit', 'read', 'write', 'glob', 'grep', 'web_fetch', 'web_search'].includes(c.name) ? { type: c.type ?? c.name } : {}),
});

/** Tools with the SDK's defaults filled in (an enabled, always-allowed default config, no per-tool configs). */
const tools = (list: Array<Record<string, unknown>>): Array<Record<string, unknown>> =>
  list.map((t, i) => {
    const type = t.type;
    if (typeof type !== 'string' || !TOOLSET_TYPES.has(type)) {
      throw badRequest(`tools[${i}].type must be one of ${[...TOOLSET_TYPES].join(', ')}`);
    }
    if (type === 'custom') {
      if (typeof t.name !== 'string' || t.name === '') throw badRequest(`tools[${i}].name is required for a custom tool`);
      if (!isPlainObject(t.input_schema)) throw badRequest(`tools[${i}].input_schema must be a JSON schema object`);
      return { ...t, description: t.description ?? '' };
    }
    if (type === 'mcp_toolset' && (typeof t.mcp_server_name !== 'string' || t.mcp_server_name === '')) {
      throw badRequest(`tools[${i}].mcp_server_name is required for an mcp_toolset`);
    }
    const configs = Array.isArray(t.configs) ? (t.configs as Array<Record<string, unknown>>).map(toolConfig) : [];
    const def = isPlainObject(t.default_config) ? t.default_config : {};
    return { ...t, configs, default_config: { enabled: def.enabled ?? true, permission_policy: def.permission_policy ?? DEFAULT_POLICY } };
  });

const mcpServers = (list: NonNullable<AgentInput['mcp_servers']>): AgentConfig['mcp_servers'] => {
  const names = new Set<string>();
  return list.map((s, i): McpServerConfig => {
    if (names.has(s.name)) throw badRequest(`mcp_servers[${i}].name '${s.name}' is used twice`);
    names.add(s.name);
    if (s.type === 'workload') {
      if (typeof s.workload !== 'string' || s.workload === '' || s.url !== undefined || s.package !== undefined)
        throw badRequest(`mcp_servers[${i}]: a 'workload' server names its workload (workload) and has no url`);
      return { name: s.name, type: 'workload', workload: s.workload };
    }
    if (s.type === 'package') {
      if (typeof s.package !== 'string' || !AGENT_PACKAGE_NAME.test(s.package) || typeof s.version !== 'string' || s.version === '' || s.url !== undefined || s.workload !== undefined)
        throw badRequest(`mcp_servers[${i}]: a 'package' server names an agent package ('@scope/name') and its version, and has no url or workload`);
      return { name: s.name, type: 'package', package: s.package, version: s.version };
    }
    if (typeof s.url !== 'string' || !/^https?:\/\//.test(s.url) || s.workload !== undefined || s.package !== undefined) throw badRequest(`mcp_servers[${i}].url must be an http(s) URL`);
    return { name: s.name, type: 'url', url: s.url };
  });
};

const skills = (list: NonNullable<AgentInput['skills']>): AgentConfig['skills'] => list.map((s) => ({ type: s.type, skill_id: s.skill_id, version: s.version ?? 'latest' }));

const text = (field: string, value: string | null | undefined, max: number): string | null => {
  if (value == null) return null;
  if (value.length > max) throw badRequest(`${field} is longer than ${max} characters`);
  return value;
};

const name = (value: string): string => {
  const n = value.trim();
  if (n.length === 0 || n.length > NAME_MAX) throw badRequest(`name must be 1-${NAME_MAX} characters`);
  return n;
};

/** A new agent's configuration from a create request: required name and model, defaults for the rest. */
export const newAgentConfig = (input: AgentInput): AgentConfig => {
  if (input.name === undefined) throw badRequest("missing required field 'name'");
  if (input.model === undefined) throw badRequest("missing required field 'model'");
  return {
    name: name(input.name),
    description: text('description', input.description, DESCRIPTION_MAX),
    model: model(input.model),
    system: text('system', input.system, SYSTEM_MAX),
    tools: tools(input.tools ?? []),
    mcp_servers: mcpServers(input.mcp_servers ?? []),
    skills: skills(input.skills ?? []),
    metadata: newMetadata(input.metadata ?? undefined),
    multiagent: input.multiagent ?? null,
    execution_identity: input.execution_identity ?? DEFAULT_IDENTITY,
    environment_id: input.environment_id ?? null,
  };
};

/**
 * An update applied to a configuration: fields that are present replace the old ones (null
 * clears a nullable field or empties a list), metadata is merged key by key, absent fields stay.
 */
export const patchAgentConfig = (current: AgentConfig, input: AgentInput): AgentConfig => ({
  name: input.name === undefined ? current.name : name(input.name),
  description: input.description === undefined ? current.description : text('description', input.description, DESCRIPTION_MAX),
  model: input.model === undefined ? current.model : model(input.model),
  system: input.system === undefined ? current.system : text('system', input.system, SYSTEM_MAX),
  tools: input.tools === undefined ? current.tools : tools(input.tools ?? []),
  mcp_servers: input.mcp_servers === undefined ? current.mcp_servers : mcpServers(input.mcp_servers ?? []),
  skills: input.skills === undefined ? current.skills : skills(input.skills ?? []),
  metadata: patchMetadata(current.metadata, input.metadata),
  multiagent: input.multiagent === undefined ? current.multiagent : input.multiagent,
  execution_identity: input.execution_identity === undefined ? current.execution_identity : (input.execution_identity ?? DEFAULT_IDENTITY),
  environment_id: input.environment_id === undefined ? current.environment_id : input.environment_id,
});

/** A canonical JSON text of a value (object keys sorted), to tell a change from a no-op. */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) => (isPlainObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
