import type { RequestContext } from '../auth/principal.js';
import { AgentryError, notFound } from '../errors.js';
import type { AgentspaceAgents } from '../agentspaces/agentspace-agents.js';
import type { AgentService } from '../managed/agents/agent-service.js';
import type { McpServerConfig } from '../managed/agents/agent-config.js';
import { writer, type ManagedDeps } from '../managed/managed-deps.js';
import type { PackageService } from '../packages/package-service.js';
import type { RunnableAgent } from '../sessions/agent-turn.js';
import { agentYamlToAgent } from '../sessions/formats/agent-yaml-agent.js';
import { AGENT_PACKAGE_NAME } from '../sessions/formats/agent-yaml-servers.js';
import { resolveBuiltinToolset } from '../tools/builtin-toolset.js';

/** A tool the agent may use, as its card lists it (a skill). */
export interface ServedTool {
  id: string;
  name: string;
  description: string;
}

/**
 * What an agent card says about one agent the caller may run: read from its manifest (an
 * agent.yaml package's latest or named version, a managed agent's current revision, an
 * agentspace's AssistantConfig) through the access rule of whoever owns it.
 */
export interface ServedAgent {
  agent: RunnableAgent;
  /** The agent's path under `/a2a/` (docs/a2a.md): `@scope/name`, `agents/<id>`, `agentspaces/<id>/<assistant_id>`. */
  path: string;
  name: string;
  description: string;
  version: string;
  /** Prompts it suggests (an agent.yaml's `examples[].prompt`). */
  examples: string[];
  tags: string[];
  tools: ServedTool[];
}

/** The largest number of public agents the server's own card lists (most downloaded first). */
export const MAX_LISTED_AGENTS = 100;

/** An agent's path under `/a2a/`: one form per kind of agent (docs/a2a.md). */
export const servedAgentPath = (a: RunnableAgent): string => {
  switch (a.type) {
    case 'package':
      return a.name;
    case 'agent':
      return `agents/${a.id}`;
    case 'agentspace':
      return `agentspaces/${a.agentspaceId}/${a.assistantId}`;
  }
};

/**
 * The agent a path of servedAgentPath's names (`@scope/name[@version]`, `agents/<id>`,
 * `agentspaces/<id>/<assistant_id>`), for doors that take an agent as one string; undefined for
 * anything else.
 */
export const agentAtPath = (path: string): RunnableAgent | undefined => {
  if (path.startsWith('@')) {
    // `@scope/name`, or `@scope/name@version`: the name is the runtime's own agent package name.
    const at = path.indexOf('@', 1);
    const name = at < 0 ? path : path.slice(0, at);
    const version = at < 0 ? undefined : path.slice(at + 1);
    if (!AGENT_PACKAGE_NAME.test(name) || version === '') return undefined;
    return { type: 'package', name, ...(version !== undefined ? { version } : {}) };
  }
  const managed = /^agents\/([A-Za-z0-9_-]{1,100})$/.exec(path);
  if (managed) return { type: 'agent', id: managed[1] };
  const space = /^agentspaces\/([A-Za-z0-9_-]{1,100})\/([A-Za-z0-9_.-]{1,200})$/.exec(path);
  if (space) return { type: 'agentspace', agentspaceId: space[1], assistantId: space[2] };
  return undefined;
};

/** Skills of the tools an agent config names: built-in tools, MCP toolsets, custom tools. */
export const toolsOf = (tools: ReadonlyArray<Record<string, unknown>>, servers: ReadonlyArray<McpServerConfig>): ServedTool[] => {
  const out: ServedTool[] = resolveBuiltinToolset(tools).map((t) => ({ id: `tool:${t.name}`, name: t.name, description: t.definition.description }));
  for (const t of tools) {
    if (t.type === 'mcp_toolset' && typeof t.mcp_server_name === 'string') {
      const server = servers.find((s) => s.name === t.mcp_server_name);
      const from = server?.type === 'package' ? ` of ${server.package}@${server.version}` : server?.type === 'workload' ? ` (workload ${server.workload})` : '';
      out.push({ id: `mcp:${t.mcp_server_name}`, name: `${t.mcp_server_name} (MCP)`, description: `The tools of the MCP server '${t.mcp_server_name}'${from}` });
    } else if (t.type === 'custom' && typeof t.name === 'string') {
      out.push({ id: `custom:${t.name}`, name: t.name, description: typeof t.description === 'string' && t.description !== '' ? t.description : `The custom tool '${t.name}'` });
    }
  }
  return out;
};

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * The agents A2A serves (issue 20): each agent a caller may run, described for its card. Reads go
 * through the services that own the agents (their access rules): another account's private
 * package, managed agent or agentspace is "not found", exactly like a missing one.
 */
export class ServedAgents {
  constructor(
    private readonly deps: ManagedDeps,
    private readonly packages: PackageService,
    private readonly agents: AgentService,
    private readonly agentspaceAgents: AgentspaceAgents,
  ) {}

  /**
   * The agent for a caller who runs it (a task, or its cancel): running is a session, so it needs
   * what a session needs (a writable server, a token with publish permission), refused before
   * anything is read or written.
   */
  async describeForRun(ctx: RequestContext, agent: RunnableAgent): Promise<ServedAgent> {
    writer(this.deps, ctx);
    return this.describe(ctx, agent);
  }

  async describe(ctx: RequestContext, agent: RunnableAgent): Promise<ServedAgent> {
    switch (agent.type) {
      case 'package':
        return this.describePackage(ctx, agent);
      case 'agent': {
        const a = await this.agents.get(ctx, agent.id, agent.version);
        if (a.archivedAt) throw notFound(`Agent ${agent.id} not found`);
        return {
          agent,
          path: servedAgentPath(agent),
          name: a.config.name,
          description: a.config.description ?? a.config.name,
          version: String(a.version),
          examples: [],
          tags: [],
          tools: toolsOf(a.config.tools, a.config.mcp_servers),
        };
      }
      case 'agentspace': {
        const found = (await this.agentspaceAgents.queryAgents(ctx, agent.agentspaceId, {})).find((a) => a.assistantId === agent.assistantId);
        if (!found) throw notFound(`Agent '${agent.assistantId}' not found in agentspace '${agent.agentspaceId}'`);
        const spec = found.spec;
        const nickname = typeof spec.nickname === 'string' && spec.nickname !== '' ? spec.nickname : agent.assistantId;
        return {
          agent,
          path: servedAgentPath(agent),
          name: nickname,
          description: typeof spec.description === 'string' && spec.description !== '' ? spec.description : nickname,
          version: found.updatedAt,
          examples: [],
          tags: strings(spec.tags),
          tools: [],
        };
      }
    }
  }

  /**
   * The public agent packages, most downloaded first, whoever asks (never an internal or private
   * one); on a server that needs a token for every read, only for a caller with one (else 401).
   */
  async publicAgents(ctx: RequestContext, limit = MAX_LISTED_AGENTS): Promise<ServedAgent[]> {
    const page = await this.packages.query(ctx, { kind: 'agent', sort: 'downloads', offset: 0, limit, publicOnly: true });
    const out: ServedAgent[] = [];
    for (const pkg of page.rows) {
      const described = await this.describePackage(ctx, { type: 'package', name: `@${pkg.scope}/${pkg.name}` }).catch((e: unknown) => {
        // An agent whose manifest cannot run (a field the mapping refuses) is not offered.
        if (e instanceof AgentryError && e.status < 500) return undefined;
        throw e;
      });
      if (described) out.push(described);
    }
    return out;
  }

  private async describePackage(ctx: RequestContext, agent: Extract<RunnableAgent, { type: 'package' }>): Promise<ServedAgent> {
    const m = AGENT_PACKAGE_NAME.exec(agent.name);
    if (!m) throw notFound(`Agent ${agent.name.slice(0, 200)} not found`);
    const pkg = await this.packages.find(ctx, m[1], m[2], 'agent');
    const version = await this.packages.resolve(pkg, agent.version ?? 'latest');
    // The run's own mapping says which tools a run gets (the model is the caller's, chosen at run time).
    const mapped = agentYamlToAgent(version.manifest, version.readme, { model: agent.model ?? '' });
    return {
      agent,
      path: servedAgentPath(agent),
      name: `@${pkg.scope}/${pkg.name}`,
      description: typeof version.manifest.description === 'string' && version.manifest.description !== '' ? version.manifest.description : (pkg.description ?? `@${pkg.scope}/${pkg.name}`),
      version: version.version,
      examples: mapped.suggestedPrompts,
      tags: pkg.tags,
      tools: toolsOf(mapped.input.tools ?? [], (mapped.input.mcp_servers ?? []) as McpServerConfig[]),
    };
  }
}
