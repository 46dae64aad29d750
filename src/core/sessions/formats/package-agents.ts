import type { RequestContext } from '../../auth/principal.js';
import { AgentryError, badRequest, conflict, notFound } from '../../errors.js';
import type { AgentService } from '../../managed/agents/agent-service.js';
import { writer, type ManagedDeps } from '../../managed/managed-deps.js';
import type { StorageRepos } from '../../storage.js';
import type { AgentRefResolver } from '../agent-refs.js';
import { agentYamlToAgent } from './agent-yaml-agent.js';
import { a2aAgentOf } from './a2a-agent.js';
import { AGENT_PACKAGE_NAME } from './agent-yaml-servers.js';

const REF_KEYS = new Set(['type', 'name', 'version', 'model']);
/** The first revision of the managed agent a package version maps to: runs stay on it even if its owner edits the agent. */
const MAPPED_REVISION = 1;
/** The mapping's own revision, part of the run key: agents mapped by an earlier mapping are not reused (2: `permissions.network: false` takes bash's network away). */
const MAPPING = 'mapping-2';

/**
 * `agent: {type: "package", name: "@scope/name", version?, model?}` (issue 19): an agent.yaml
 * package run as a session. The package is read as the caller (one it may not read is 404), the
 * version resolved (default `latest`), the manifest mapped (agent-yaml-agent.ts), and the first run
 * of a version (with a model) creates a managed agent owned by the caller; later runs find it by its
 * recorded key (the managed object's unique `name`) and share it.
 */
export const packageAgentResolver =
  (deps: ManagedDeps, agents: AgentService): AgentRefResolver =>
  async (ctx: RequestContext, ref: Record<string, unknown>) => {
    const p = writer(deps, ctx);
    for (const key of Object.keys(ref)) if (!REF_KEYS.has(key)) throw badRequest(`agent.${key.slice(0, 64)}: a package agent takes only type, name, version and model`);
    const m = typeof ref.name === 'string' ? AGENT_PACKAGE_NAME.exec(ref.name) : null;
    if (!m) throw badRequest("agent.name must be a package name like '@scope/name'");
    if (ref.version !== undefined && ref.version !== null && (typeof ref.version !== 'string' || ref.version === '')) throw badRequest('agent.version must be a version or dist-tag string');
    if (ref.model !== undefined && ref.model !== null && (typeof ref.model !== 'string' || ref.model === '')) throw badRequest('agent.model must be the model_id of one of your model cards');
    const [, scope, name] = m;
    const pkg = await deps.packages.find(ctx, scope, name);
    if (pkg.kind !== 'agent') throw badRequest(`agent.name: @${scope}/${name} is a ${pkg.kind} package, not an agent`);
    const wanted = (ref.version as string | null | undefined) ?? 'latest';
    const version = await deps.packages.resolve(pkg, wanted).catch((e: unknown) => {
      throw e instanceof AgentryError && e.status === 404 ? notFound(`agent.version: @${scope}/${name} has no version '${wanted.slice(0, 64)}'`) : e;
    });
    // An imported A2A agent (issue 20) runs on its remote agent: no model card, no tools.
    const remote = version.manifest.a2a !== undefined && version.manifest.a2a !== null;
    if (remote && ref.model !== undefined && ref.model !== null) throw badRequest(`agent.model: @${scope}/${name} is a remote A2A agent: it runs on its own model, not one of yours`);
    const mapped = remote ? a2aAgentOf(version.manifest) : agentYamlToAgent(version.manifest, version.readme, { model: (ref.model as string | null | undefined) ?? undefined });
    const model = mapped.input.model as string;
    if (!remote) {
      const card = await deps.storage.managed.findByName('model_card', p.account.id, model);
      if (!card || card.archivedAt) throw badRequest(`config.model: you have no model card '${model.slice(0, 128)}' (pass agent.model to use another)`);
    }

    const sha256 = version.digest.replace(/^sha256:/, '');
    const source = {
      type: 'package',
      name: `@${scope}/${name}`,
      version: version.version,
      sha256,
      suggested_prompts: mapped.suggestedPrompts,
      ...('remote' in mapped ? { a2a: mapped.remote } : {}),
    };
    const counted = (tx: StorageRepos) => tx.packages.countSession(version.id);
    // The record that makes later runs share the agent: one key per package version, bytes, model and mapping.
    const key = `package:@${scope}/${name}@${version.version}#${sha256}#${model}#${MAPPING}`;
    // Insert-or-read on the key's unique index (migration 0029): concurrent first runs make one agent.
    for (let attempt = 0; ; attempt++) {
      const known = await deps.storage.managed.findByName('agent', p.account.id, key);
      if (known && !known.archivedAt) return { id: known.id, version: MAPPED_REVISION, source, counted };
      if (known) await deps.storage.managed.update(known.id, { name: null });
      const created = await agents.createKeyed(ctx, mapped.input, key);
      if (created) return { id: created.id, version: MAPPED_REVISION, source, counted };
      if (attempt >= 2) throw conflict(`the agent of ${key.slice(0, 200)} changed during this run: try again`);
    }
  };
