import type { CoreDeps } from '../core-deps.js';
import semver from 'semver';
import type { RequestContext } from '../auth/principal.js';
import { AgentryError, badGateway, badRequest, isAgentryError } from '../errors.js';
import type { AccountRecord } from '../accounts/account-repo.js';
import type { AgentspaceAgentRecord, AgentspaceRecord, AgentspaceSecretRecord } from './agentspace-repo.js';
import { isoNow } from '../time.js';
import { ASSISTANT_ID, assistantConfigErrors, SECRET_KEY } from './assistant-config.js';
import { agentspaceReader, agentspaceTarget, agentspaceWriter, mustFindAgentspace } from './agentspace-common.js';
import { AgentspaceService } from './agentspace-service.js';
import { migrateSpec } from './migrations.js';
import type { OciArtifactClient, OciCredentials, OciRef, OciRegistryPort } from './oci-registry-port.js';
import { checkParameterDef, type ParameterDef } from './parameters.js';
import { isPlainObject } from './shape.js';

/** The OCI artifact of an agentspace: its type, its layers' media types and its annotations. */
export const AGENTSPACE_ARTIFACT_TYPE = 'application/vnd.alquimia.registry.v1';
export const AGENTS_MEDIA_TYPE = 'application/vnd.alquimia.registry.agents.v1+json';
export const SECRETS_MEDIA_TYPE = 'application/vnd.alquimia.registry.secrets.v1+json';
export const PARAMETERS_MEDIA_TYPE = 'application/vnd.alquimia.registry.parameters.v1+json';
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const ANNOTATION_DESCRIPTION = 'org.opencontainers.image.description';
export const ANNOTATION_VERSION = 'org.opencontainers.image.version';
export const ANNOTATION_NAME = 'ai.alquimia.registry.name';
export const ANNOTATION_NAMESPACE = 'ai.alquimia.registry.namespace';
const MAX_ARTIFACT_BYTES = 16 * 1024 * 1024;

export interface OciTargetOptions {
  /** The OCI registry (`host[:port]` or a URL); default: AGENTRY_OCI_REGISTRY_DEFAULT, else this server's own /v2/. */
  registry?: string;
  /** The repository in it; default `<owner>/<agentspace name, cleaned>`. */
  repository?: string;
  /** The caller's own Agentry token: what Agentry's /v2/ is logged into with. */
  callerToken?: string;
}

export interface PublishResult {
  reference: string;
  digest: string;
  mediaType: string;
  size: number;
  tags: string[];
}

export interface PullResult {
  agentspace: AgentspaceRecord;
  created: boolean;
  reference: string;
  digest: string;
  agents: string[];
  secrets: string[];
  parameters: string[];
}

/** This server's own registry, for what a publish into it needs beyond the push. */
export interface SelfRegistryRepositories {
  /** The repository takes the agentspace's visibility and follows its changes (a no-op for a caller who may not push there). */
  adoptForAgentspace(ctx: RequestContext, repository: string, space: Pick<AgentspaceRecord, 'ownerAccountId' | 'agentspaceId' | 'visibility'>): Promise<boolean>;
  /** Every repository the caller may read (its catalog). */
  listRepositories(ctx: RequestContext): Promise<string[]>;
}

export interface ArtifactOptions {
  /** The OCI client (an adapter the composition root wires in); without it agentspaces are not published. */
  registryClient?: OciRegistryPort;
  /** AGENTRY_OCI_REGISTRY_DEFAULT, when set. */
  defaultRegistry?: string;
  /** Logins for other registries (the server's docker config), by host. */
  credentials?: (host: string) => OciCredentials | undefined | Promise<OciCredentials | undefined>;
}

/** An agentspace name in OCI form: lower case; letters, digits, '-', '.', '_'; spaces → hyphens. */
export const ociName = (name: string): string =>
  name
    .toLowerCase()
    .replace(/\s+/g, '-')
    .replace(/[^a-z0-9._-]+/g, '')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .replace(/[._-]{2,}/g, '-') || 'agentspace';

/**
 * Publishes agentspaces as immutable OCI artifacts and pulls them back, through the OCI client
 * port (`oci-registry-port.ts`), to Agentry's own `/v2/` (in-process) or any OCI registry (through
 * the egress policy). An artifact carries the agents, the secret
 * definitions (never values) and the parameters, one JSON layer each.
 */
export class AgentspaceArtifacts {
  private selfRegistry: string | undefined;

  constructor(
    private readonly deps: CoreDeps,
    private readonly spaces: AgentspaceService,
    private readonly opts: ArtifactOptions = {},
    private readonly selfRepositories?: SelfRegistryRepositories,
  ) {}

  private get ociPort(): OciRegistryPort {
    if (!this.opts.registryClient) throw badRequest('This server has no OCI client configured: agentspaces cannot be published or pulled');
    return this.opts.registryClient;
  }

  /** Set by the composition root once the server listens: its own `/v2/` (`http://127.0.0.1:8080`). */
  useSelfRegistry(url: string): void {
    this.selfRegistry = url;
  }

  /** Where artifacts go when no registry is named. */
  defaultRegistry(): string {
    const r = this.opts.defaultRegistry ?? this.selfRegistry;
    if (!r) throw badRequest('No OCI registry is configured: set AGENTRY_OCI_REGISTRY_DEFAULT or pass registry');
    return r;
  }

  async publish(ctx: RequestContext, id: string, tag: string | undefined, description: string | undefined, o: OciTargetOptions): Promise<PublishResult> {
    const p = agentspaceWriter(this.deps, ctx);
    if (!tag) throw badRequest('tag is required: the OCI tag to publish, e.g. v1.0.0');
    if (!this.ociPort.isTag(tag)) throw badRequest(`'${tag.slice(0, 130)}' is not a valid OCI tag (letters, digits, '_', '.', '-'; at most 128)`);
    const space = await mustFindAgentspace(this.deps.storage, p.account, id);
    const problems = await this.spaces.publishProblems(this.deps.storage, p.account, id);
    if (problems.unvalidated.length > 0)
      throw badRequest(
        'Unvalidated agents detected: run POST /registry/validate first',
        problems.unvalidated.map((a) => `agent '${a}' is not validated`),
      );
    if (problems.unused.length > 0)
      throw badRequest(
        'Unused secrets detected: run POST /registry/validate to delete them',
        problems.unused.map((s) => `${s.scope} secret '${s.key}' is referenced by no agent`),
      );
    const ref = this.target(p.account, space, o, tag);
    const agents = await this.deps.storage.agentspaces.listAgents(p.account.id, id);
    const secrets = await this.referencedSecrets(p.account, id, agents);
    const parameters = (await this.deps.storage.agentspaces.listParameters(p.account.id, id)).map((r) => r.definition);
    const annotations: Record<string, string> = {
      [ANNOTATION_CREATED]: isoNow(this.deps.clock),
      [ANNOTATION_VERSION]: tag,
      [ANNOTATION_NAME]: space.name,
      [ANNOTATION_NAMESPACE]: space.namespace,
    };
    const desc = description ?? space.description ?? undefined;
    if (desc) annotations[ANNOTATION_DESCRIPTION] = desc;
    // Into this server's own /v2/: the repository is as visible as the agentspace, before any byte lands there.
    if (this.selfRegistry && ref.registry.host.toLowerCase() === hostOf(this.selfRegistry)) await this.selfRepositories?.adoptForAgentspace(ctx, ref.repository, space);
    const client = this.client(o.callerToken, p.account);
    const json = (v: unknown) => JSON.stringify(v, null, 2);
    const pushed = await this.oci(
      () =>
        client.pushArtifact({
          ref,
          artifactType: AGENTSPACE_ARTIFACT_TYPE,
          layers: [
            { mediaType: AGENTS_MEDIA_TYPE, data: json(agents.map((a) => a.spec)), title: 'agents.json' },
            {
              mediaType: SECRETS_MEDIA_TYPE,
              data: json(secrets.map((s) => ({ key: s.key, scope: s.scope, description: s.description, ...(s.scope === 'local' ? { assistant_id: s.assistantId } : {}) }))),
              title: 'secrets.json',
            },
            { mediaType: PARAMETERS_MEDIA_TYPE, data: json(parameters), title: 'parameters.json' },
          ],
          annotations,
        }),
      'bad_gateway',
    );
    const tags = [tag];
    if (await this.oci(() => this.isHighestRelease(client, ref, tag), 'bad_gateway')) {
      const fetched = await this.oci(() => client.getManifest({ ...ref, tag: undefined, digest: pushed.digest }), 'bad_gateway');
      await this.oci(() => client.putManifest({ ...ref, tag: 'latest' }, fetched.bytes, fetched.mediaType), 'bad_gateway');
      tags.push('latest');
    }
    await this.deps.storage.transaction(async (tx) => {
      await tx.agentspaces.update({ ...space, tag, updatedAt: isoNow(this.deps.clock) });
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.publish', agentspaceTarget(p.account, id), { reference: this.ociPort.formatReference(ref), digest: pushed.digest, tags });
    });
    return { reference: pushed.reference, digest: pushed.digest, mediaType: pushed.mediaType, size: pushed.size, tags };
  }

  /** Removes a published manifest (OCI deletes by digest: every tag on that manifest goes with it). */
  async unpublish(ctx: RequestContext, id: string, tag: string | undefined, o: OciTargetOptions): Promise<{ reference: string; digest: string }> {
    const p = agentspaceWriter(this.deps, ctx);
    if (!tag) throw badRequest('tag is required: the published tag to remove');
    if (!this.ociPort.isTag(tag)) throw badRequest(`'${tag.slice(0, 130)}' is not a valid OCI tag`);
    const space = await mustFindAgentspace(this.deps.storage, p.account, id);
    const ref = this.target(p.account, space, o, tag);
    const digest = await this.oci(() => this.client(o.callerToken, p.account).deleteManifest(ref));
    await this.deps.audit.record(this.deps.storage.audit, ctx, 'agentspace.unpublish', agentspaceTarget(p.account, id), { reference: this.ociPort.formatReference(ref), digest });
    return { reference: this.ociPort.formatReference(ref), digest };
  }

  /**
   * Pulls an artifact into an agentspace: into an existing one its agents are added or
   * replaced by id (with their secret definitions and parameters); into a new one it is cloned.
   * Secret values never travel: pulled definitions need their values set here.
   */
  async pull(ctx: RequestContext, id: string, target: string | undefined, o: OciTargetOptions): Promise<PullResult> {
    const p = agentspaceWriter(this.deps, ctx);
    if (!target) throw badRequest('target is required: the OCI reference to pull, e.g. registry.example.com/team/agents:v1.0.0');
    const ref = this.parseTarget(target);
    const client = this.client(o.callerToken, p.account);
    const art = await this.oci(() => client.pullArtifact(ref, { maxInMemoryBytes: MAX_ARTIFACT_BYTES }));
    if (art.artifactType !== AGENTSPACE_ARTIFACT_TYPE) {
      throw badRequest(`${this.ociPort.formatReference(ref)} is not an agentspace artifact (artifactType '${art.artifactType ?? 'none'}', expected '${AGENTSPACE_ARTIFACT_TYPE}')`);
    }
    const layer = (mediaType: string, title: string): unknown => {
      const l = art.layers.find((x) => x.descriptor.mediaType === mediaType) ?? art.layers.find((x) => x.descriptor.annotations?.[ANNOTATION_TITLE] === title);
      if (!l?.data) return [];
      try {
        return JSON.parse(Buffer.from(l.data).toString('utf8')) as unknown;
      } catch {
        throw badRequest(`The artifact's ${title} layer is not JSON`);
      }
    };
    const content = parseContent(layer(AGENTS_MEDIA_TYPE, 'agents.json'), layer(SECRETS_MEDIA_TYPE, 'secrets.json'), layer(PARAMETERS_MEDIA_TYPE, 'parameters.json'));
    const ann = art.manifest.annotations ?? {};
    const reference = this.ociPort.formatReference(ref);
    const result = await this.deps.storage.transaction(async (tx) => {
      let space = await tx.agentspaces.find(p.account.id, id);
      const created = !space;
      const now = isoNow(this.deps.clock);
      if (!space) {
        const existing = await tx.agentspaces.list(p.account.id);
        const name = ann[ANNOTATION_NAME] || ref.repository.split('/').pop() || id;
        const namespace = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(ann[ANNOTATION_NAMESPACE] ?? '') ? ann[ANNOTATION_NAMESPACE] : 'pulled';
        let unique = name;
        for (let n = 2; existing.some((a) => a.name === unique && a.namespace === namespace); n++) unique = `${name}-${n}`;
        space = {
          ownerAccountId: p.account.id,
          agentspaceId: id,
          name: unique.slice(0, 128),
          namespace,
          tag: ref.tag ?? 'latest',
          description: ann[ANNOTATION_DESCRIPTION] ?? null,
          visibility: 'private',
          status: 'enabled',
          userId: null,
          sourceRepoId: reference,
          onHold: [],
          createdAt: now,
          updatedAt: now,
        };
        if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(id)) throw badRequest(`agentspace_id '${id.slice(0, 80)}' must be lower-case letters, digits, '.', '_' or '-'`);
        await tx.agentspaces.insert(space);
      } else {
        space = { ...space, sourceRepoId: reference, updatedAt: now };
        await tx.agentspaces.update(space);
      }
      for (const spec of content.agents) {
        const aid = String(spec.assistant_id);
        const migrated = migrateSpec(aid, spec);
        const errors = assistantConfigErrors(migrated.spec);
        const before = await tx.agentspaces.findAgent(p.account.id, id, aid);
        await tx.agentspaces.putAgent({
          ownerAccountId: p.account.id,
          agentspaceId: id,
          assistantId: aid,
          spec,
          validated: errors.length === 0 && migrated.changes.length === 0,
          errors,
          createdAt: before?.createdAt ?? now,
          updatedAt: now,
        });
      }
      for (const s of content.secrets) {
        await tx.agentspaces.putSecret({
          ownerAccountId: p.account.id,
          agentspaceId: s.scope === 'global' ? '' : id,
          assistantId: s.scope === 'local' ? (s.assistant_id ?? '') : '',
          key: s.key,
          scope: s.scope,
          description: s.description ?? null,
          createdAt: now,
          updatedAt: now,
        });
      }
      for (const d of content.parameters) {
        await tx.agentspaces.putParameter({ ownerAccountId: p.account.id, agentspaceId: id, assistantId: d.assistant_id ?? '', key: d.key, definition: { ...d }, createdAt: now, updatedAt: now });
      }
      await this.deps.audit.record(tx.audit, ctx, 'agentspace.pull', agentspaceTarget(p.account, id), { reference, digest: art.digest, created, agents: content.agents.map((a) => a.assistant_id) });
      return { agentspace: space, created };
    });
    return {
      ...result,
      reference,
      digest: art.digest,
      agents: content.agents.map((a) => String(a.assistant_id)),
      secrets: content.secrets.map((s) => s.key),
      parameters: content.parameters.map((d) => d.key),
    };
  }

  async repositories(ctx: RequestContext, registry: string | undefined, callerToken?: string): Promise<{ registry: string; repositories: string[] }> {
    const p = agentspaceReader(this.deps, ctx);
    const reg = registry || this.defaultRegistry();
    // This server's own catalog, in-process and as the caller: only what the caller may read.
    if (this.selfRepositories && this.selfRegistry && hostOf(reg) === hostOf(this.selfRegistry)) {
      return { registry: hostOf(this.selfRegistry), repositories: await this.selfRepositories.listRepositories(ctx) };
    }
    const client = this.client(callerToken, p.account);
    const endpoint = this.oci(() => Promise.resolve(client.registry(reg)));
    const e = await endpoint;
    try {
      return { registry: e.host, repositories: await client.listRepositories(e) };
    } catch (err) {
      // The catalog is optional in the distribution spec: a registry without one is not a missing resource here.
      if (this.ociPort.isRegistryError(err) && err.httpStatus === 404)
        throw badGateway(`The OCI registry ${e.host} does not offer a repository catalog (GET /v2/_catalog answered 404)`, [err.message]);
      return this.oci(() => Promise.reject(err));
    }
  }

  async tags(ctx: RequestContext, repoId: string | undefined, callerToken?: string): Promise<{ repository: string; tags: string[] }> {
    const p = agentspaceReader(this.deps, ctx);
    if (!repoId) throw badRequest('repo_id is required: registry/repository, or a repository of the default registry');
    const ref = this.parseTarget(repoId, true);
    const client = this.client(callerToken, p.account);
    const tags = await this.oci(() => client.listTags(ref));
    return { repository: this.ociPort.formatReference({ ...ref, tag: undefined, digest: undefined }), tags };
  }

  // ---- helpers -------------------------------------------------------------------------------

  private target(owner: AccountRecord, space: AgentspaceRecord, o: OciTargetOptions, tag: string): OciRef {
    const registry = o.registry || this.defaultRegistry();
    const repository = o.repository ?? `${owner.name.toLowerCase()}/${ociName(space.name)}`;
    if (!this.ociPort.isRepositoryName(repository))
      throw badRequest(`'${repository.slice(0, 260)}' is not a valid OCI repository name (lower-case letters, digits, separators '.', '_', '-', and '/')`);
    const host = registry.replace(/\/+$/, '');
    return this.ociPort.parseReference(`${host}/${repository}:${tag}`);
  }

  /** `registry/repo:tag`; without a registry part (no '.', ':' or localhost in the first component) the default registry. */
  private parseTarget(raw: string, allowBare = false): OciRef {
    const text = raw.trim();
    const first = text.replace(/^https?:\/\//i, '').split('/')[0];
    const hasRegistry = /^https?:\/\//i.test(text) || first.includes('.') || first.includes(':') || first === 'localhost';
    const full = hasRegistry ? text : `${this.defaultRegistry().replace(/\/+$/, '')}/${text}`;
    return this.ociPort.parseReference(full, { allowBare });
  }

  private client(callerToken: string | undefined, account: AccountRecord): OciArtifactClient {
    const self = this.selfRegistry && !this.opts.defaultRegistry ? this.selfRegistry : this.opts.defaultRegistry;
    const selfHost = self ? hostOf(self) : undefined;
    return this.ociPort.client({
      retry: { retries: 1, baseDelayMs: 100, maxDelayMs: 1000 },
      credentials: async (host) => {
        if (callerToken && (host === selfHost || (this.selfRegistry && host === hostOf(this.selfRegistry)))) return { username: account.name, password: callerToken };
        return this.opts.credentials?.(host);
      },
    });
  }

  /** Runs an OCI call; an upstream that does not answer, or refuses our login, is a 502. */
  private async oci<T>(fn: () => Promise<T>, notFoundMeans: 'not_found' | 'bad_gateway' = 'not_found'): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (this.ociPort.isRegistryError(e)) {
        if ((e.code === 'not_found' && notFoundMeans === 'not_found') || e.code === 'bad_request') throw new AgentryError(e.code, e.message, e.details);
        throw badGateway(`The OCI registry ${e.registry} did not answer as expected`, [e.message]);
      }
      if (isAgentryError(e)) throw e;
      throw badGateway('The OCI registry did not answer', [e instanceof Error ? e.message : String(e)]);
    }
  }

  /** True when `tag` is a release at least as high as every other release tag of the repository. */
  private async isHighestRelease(client: OciArtifactClient, ref: OciRef, tag: string): Promise<boolean> {
    const v = semver.valid(semver.clean(tag) ?? '');
    if (!v || semver.prerelease(v)) return false;
    const tags = await client.listTags({ ...ref, tag: undefined });
    const releases = tags.map((t) => semver.valid(semver.clean(t) ?? '')).filter((x): x is string => x !== null && semver.prerelease(x) === null);
    return releases.every((r) => semver.gte(v, r));
  }

  /** Local and shared definitions, plus the owner's global ones the agents reference. */
  private async referencedSecrets(owner: AccountRecord, id: string, agents: AgentspaceAgentRecord[]): Promise<AgentspaceSecretRecord[]> {
    const refs = new Set(agents.flatMap((a) => secretRefsOf(a.spec)));
    const here = await this.deps.storage.agentspaces.listSecrets(owner.id, id);
    const globals = (await this.deps.storage.agentspaces.listSecrets(owner.id, '')).filter((s) => refs.has(s.key));
    return [...here, ...globals];
  }
}

const hostOf = (url: string): string =>
  url
    .replace(/^https?:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();

const secretRefsOf = (spec: Record<string, unknown>): string[] => {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!isPlainObject(v)) return;
    if (Object.keys(v).length === 1 && typeof v.$secretRef === 'string') return void out.push(v.$secretRef);
    Object.values(v).forEach(walk);
  };
  walk(spec);
  return out;
};

interface PulledSecret {
  key: string;
  scope: 'local' | 'shared' | 'global';
  description?: string | null;
  assistant_id?: string;
}

/** Checks the layers of a pulled artifact; a hostile or broken artifact is refused whole, with every problem. */
const parseContent = (agents: unknown, secrets: unknown, parameters: unknown): { agents: Array<Record<string, unknown>>; secrets: PulledSecret[]; parameters: ParameterDef[] } => {
  const problems: string[] = [];
  if (!Array.isArray(agents)) problems.push('agents.json: must be a list of agent configs');
  if (!Array.isArray(secrets)) problems.push('secrets.json: must be a list of secret definitions');
  if (!Array.isArray(parameters)) problems.push('parameters.json: must be a list of parameter definitions');
  if (problems.length > 0) throw badRequest('The artifact is not a valid agentspace', problems);
  const a = agents as unknown[];
  const ids = new Set<string>();
  a.forEach((x, i) => {
    const id = isPlainObject(x) ? x.assistant_id : undefined;
    if (typeof id !== 'string' || !ASSISTANT_ID.test(id)) problems.push(`agents.json[${i}]: needs a valid assistant_id`);
    else if (ids.has(id)) problems.push(`agents.json[${i}]: assistant_id '${id}' appears twice`);
    else ids.add(id);
  });
  const s = secrets as unknown[];
  s.forEach((x, i) => {
    if (!isPlainObject(x)) return void problems.push(`secrets.json[${i}]: must be an object`);
    const extra = Object.keys(x).filter((k) => !['key', 'scope', 'description', 'assistant_id'].includes(k));
    if (extra.length > 0) problems.push(`secrets.json[${i}]: unexpected field${extra.length > 1 ? 's' : ''} ${extra.join(', ')} (an artifact never carries secret values)`);
    if (typeof x.key !== 'string' || !SECRET_KEY.test(x.key)) problems.push(`secrets.json[${i}].key: must be a secret key`);
    if (x.scope !== 'local' && x.scope !== 'shared' && x.scope !== 'global') problems.push(`secrets.json[${i}].scope: must be local, shared or global`);
    if (x.scope === 'local' && (typeof x.assistant_id !== 'string' || !ids.has(x.assistant_id))) problems.push(`secrets.json[${i}]: a local secret needs the assistant_id of an agent in the artifact`);
    if (x.description !== undefined && x.description !== null && typeof x.description !== 'string') problems.push(`secrets.json[${i}].description: must be a string`);
  });
  const params: ParameterDef[] = [];
  (parameters as unknown[]).forEach((x, i) => {
    try {
      const d = checkParameterDef(x);
      if (d.assistant_id && !ids.has(d.assistant_id)) problems.push(`parameters.json[${i}]: assistant_id '${d.assistant_id}' is not an agent of the artifact`);
      params.push(d);
    } catch (e) {
      problems.push(...(isAgentryError(e) ? e.details.map((d) => `parameters.json[${i}].${d}`) : [`parameters.json[${i}]: invalid`]));
    }
  });
  if (problems.length > 0) throw badRequest('The artifact is not a valid agentspace', problems);
  return { agents: a as Array<Record<string, unknown>>, secrets: s as PulledSecret[], parameters: params };
};
