import { stringify } from 'yaml';
import type { RequestContext } from '../../auth/principal.js';
import { badRequest } from '../../errors.js';
import { isStrictSemver } from '../../packages/manifest/fields.js';
import type { PackageService } from '../../packages/package-service.js';
import { tarballOf } from '../tarball-of.js';
import type { AgentView } from './agent-service.js';

export interface AgentPublishInput {
  /** The package name (default: the agent's name, made a slug). */
  name?: string;
  /** The semver version (default: `<agent version>.0.0`, so revision 3 is 3.0.0). */
  version?: string;
  /** The client's `Idempotency-Key`: a retry of the same publish answers the original (PackageService.publish). */
  idempotencyKey?: string | string[];
}

export interface AgentPublishResult {
  scope: string;
  name: string;
  version: string;
  digest: string;
  agentId: string;
  agentVersion: number;
}

/** A package name from an agent's name: lower-case letters, digits and hyphens. */
export const packageSlug = (name: string): string =>
  name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100)
    .replace(/-+$/, '');

/**
 * Publishes one revision of a managed agent as an agent package (`agent.yaml` in agentx's
 * format, its managed configuration under `config.managed_agent`, the system prompt as
 * README.md): the bridge from integer revisions to semver releases.
 */
export const publishAgentPackage = async (packages: PackageService, ctx: RequestContext, agent: AgentView, input: AgentPublishInput): Promise<AgentPublishResult> => {
  const scope = ctx.principal!.account.name;
  const name = input.name ?? (packageSlug(agent.config.name) || `agent-${agent.id.slice(-8).toLowerCase()}`);
  if (!/^[a-z0-9-]{1,100}$/.test(name)) throw badRequest(`name '${name.slice(0, 120)}' must match ^[a-z0-9-]+$ (at most 100 characters)`);
  const version = input.version ?? `${agent.version}.0.0`;
  if (!isStrictSemver(version)) throw badRequest(`version '${version.slice(0, 60)}' is not valid semver`);
  const c = agent.config;
  const description = (c.description ?? `Managed agent ${c.name}`).slice(0, 500);
  const manifest = {
    name,
    version,
    description,
    author: `@${scope}`,
    tags: ['managed-agent'],
    config: {
      managed_agent: {
        id: agent.id,
        version: agent.version,
        name: c.name,
        model: c.model,
        system: c.system,
        tools: c.tools,
        mcp_servers: c.mcp_servers,
        skills: c.skills,
        metadata: c.metadata,
        multiagent: c.multiagent,
        execution_identity: c.execution_identity,
      },
    },
  };
  const readme = `# ${c.name}\n\n${description}\n\nPublished from managed agent \`${agent.id}\`, version ${agent.version}.\n${c.system ? `\n## System prompt\n\n${c.system}\n` : ''}`;
  // Dated by the agent version, not the clock: the same revision makes the same bytes, so a retry
  // with the same Idempotency-Key is recognised as the same publish.
  const tarball = await tarballOf(
    [
      { path: 'agent.yaml', data: stringify(manifest) },
      { path: 'README.md', data: readme },
    ],
    new Date(agent.updatedAt),
  );
  const { pkg, version: v } = await packages.publish(ctx, { kind: 'agent', scope, name, tarball, idempotencyKey: input.idempotencyKey });
  return { scope: pkg.scope, name: pkg.name, version: v.version, digest: v.digest, agentId: agent.id, agentVersion: agent.version };
};
