import type { RequestContext } from '../auth/principal.js';
import { CLIENT_APPS, clientApp, clientProblem, installMarkerOf, type ClientApp, type ClientPlatform } from '../clients/client-apps.js';
import type { CoreDeps } from '../core-deps.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { DEFAULT_GROUP, groupNameProblem } from '../groups/group-names.js';
import type { GroupStore } from '../groups/group-store.js';
import { SKILL_NAME_MAX, SKILL_NAME_PATTERN } from '../packages/manifest/skill-md.js';
import { isoNow } from '../time.js';
import type { SkillInstallRecord, SkillFolders, SkillInstallStore } from './skill-install-store.js';
import type { SkillService } from './skill-service.js';

/** What an install asks for, in ToolHive's words (installSkillRequest). */
export interface SkillInstallInput {
  /** A stored skill: `@scope/name`, `scope/name` (optionally `@version`), or an OCI reference to this server. */
  name: string;
  version?: string;
  scope?: string;
  projectRoot?: string;
  /** Client ids, or `["all"]`; none: every installed client that reads skills. */
  clients?: string[];
  group?: string;
  /** Replace a folder of that name Agentry did not write. */
  force?: boolean;
}

export interface SkillListFilter {
  scope?: string;
  client?: string;
  projectRoot?: string;
  group?: string;
}

/** Skill names in URLs and folders: the Agent Skills name rule (lowercase, digits, single hyphens; at most 64). */
export const checkSkillName = (name: string): void => {
  if (name.length > SKILL_NAME_MAX || !SKILL_NAME_PATTERN.test(name)) {
    throw badRequest(`invalid skill name '${name.slice(0, 80)}': 1-${SKILL_NAME_MAX} lowercase letters, digits and single hyphens, starting and ending with a letter or digit`);
  }
};

const checkScope = (scope: string | undefined, projectRoot: string | undefined): void => {
  if (scope !== undefined && scope !== '' && scope !== 'user' && scope !== 'project') throw badRequest(`scope must be 'user' or 'project', not '${scope.slice(0, 40)}'`);
  if (scope === 'project' || (projectRoot !== undefined && projectRoot !== '')) {
    throw badRequest("Project-scoped skills are not offered: Agentry installs skills for the user only (scope 'user'), below its clients home");
  }
};

/**
 * Installing the skills of this registry into MCP clients' skills folders (ToolHive's
 * `/api/v1beta/skills` install, list, details and uninstall). The folders are those of the
 * server's clients home (AGENTRY_CLIENTS_HOME), e.g. `~/.claude/skills/<name>/`. Each account's
 * installs are its own: it sees and removes only those, and a folder another account's install
 * holds is refused (409). Any account with a publish token may install a skill it can read (404
 * otherwise); the skill is checked by the same SKILL.md rules as validate before a file is written.
 */
export class SkillInstalls {
  /** Installs and uninstalls of one name run one at a time (they share folders). */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly skills: SkillService,
    private readonly store: SkillInstallStore,
    private readonly folders: SkillFolders,
    private readonly groups: GroupStore | undefined,
    private readonly platform: ClientPlatform,
  ) {}

  async list(ctx: RequestContext, filter: SkillListFilter): Promise<SkillInstallRecord[]> {
    const p = this.deps.policy.requirePrincipal(ctx);
    if (filter.scope !== undefined && filter.scope !== '' && filter.scope !== 'user' && filter.scope !== 'project') {
      throw badRequest(`scope must be 'user' or 'project', not '${filter.scope.slice(0, 40)}'`);
    }
    if (filter.scope === 'project' || (filter.projectRoot ?? '') !== '') return [];
    return (await this.store.list(p.account.id)).filter((r) => (!filter.client || r.clients.includes(filter.client)) && (!filter.group || r.group === filter.group));
  }

  async info(ctx: RequestContext, name: string, scope?: string, projectRoot?: string): Promise<SkillInstallRecord> {
    const p = this.deps.policy.requirePrincipal(ctx);
    checkSkillName(name);
    checkScope(scope, projectRoot);
    const r = await this.store.get(p.account.id, name);
    if (!r) throw notFound(`Skill '${name}' is not installed`);
    return r;
  }

  async install(ctx: RequestContext, input: SkillInstallInput, selfHosts: readonly string[]): Promise<SkillInstallRecord> {
    this.deps.policy.requireWritable();
    const p = this.deps.policy.requirePermission(ctx, 'publish');
    checkScope(input.scope, input.projectRoot);
    const ref = this.refOf(input);
    const group = input.group || DEFAULT_GROUP;
    const groupProblem = groupNameProblem(group);
    if (groupProblem) throw badRequest('Invalid group name', [groupProblem]);
    if (this.groups && !(await this.groups.get(group))) throw notFound(`Group '${group}' not found`);
    const requested = await this.clientsFor(input.clients);
    const skill = await this.skills.installable(ref, { ctx, selfHosts });
    checkSkillName(skill.name);
    return this.serial(skill.name, async () => {
      const own = await this.store.get(p.account.id, skill.name);
      const clients = [...new Set([...(own?.clients ?? []), ...requested.map((a) => a.id)])];
      const apps = clients.map((c) => clientApp(c)).filter((a): a is ClientApp => a?.skillsPath !== undefined);
      const ownDirs = new Set((own?.clients ?? []).map((c) => this.dirKey(c, skill.name)));
      const others = (await this.store.byName(skill.name)).filter((r) => r.accountId !== p.account.id);
      const dirs = new Map<string, string[]>();
      for (const app of apps) dirs.set(this.dirKey(app.id, skill.name), this.dirOf(app, skill.name));
      for (const [key, dir] of dirs) {
        const holder = others.find((r) => r.clients.some((c) => this.dirKey(c, skill.name) === key));
        if (holder) throw conflict(`~/${dir.join('/')} holds another account's install of skill '${skill.name}'`);
        if (!ownDirs.has(key) && !input.force && (await this.folders.exists(dir))) {
          throw conflict(`~/${dir.join('/')} exists and was not installed by Agentry; send force to replace it`);
        }
      }
      for (const dir of dirs.values()) await this.folders.write(dir, skill.files);
      const record: SkillInstallRecord = {
        accountId: p.account.id,
        name: skill.name,
        scope: 'user',
        reference: skill.reference,
        tag: skill.version,
        digest: skill.digest,
        clients,
        group,
        description: skill.description,
        author: skill.author,
        tags: skill.tags,
        installedAt: isoNow(this.deps.clock),
      };
      await this.store.put(record);
      await this.deps.audit.record(this.deps.storage.audit, ctx, 'skill.install', `skill:${skill.name}`, { reference: skill.reference, clients });
      return record;
    });
  }

  async uninstall(ctx: RequestContext, name: string, scope?: string, projectRoot?: string): Promise<void> {
    this.deps.policy.requireWritable();
    const p = this.deps.policy.requirePermission(ctx, 'publish');
    checkSkillName(name);
    checkScope(scope, projectRoot);
    await this.serial(name, async () => {
      const r = await this.store.get(p.account.id, name);
      if (!r) throw notFound(`Skill '${name}' is not installed`);
      const dirs = new Map<string, string[]>();
      for (const c of r.clients) {
        const app = clientApp(c);
        if (app?.skillsPath) dirs.set(this.dirKey(c, name), this.dirOf(app, name));
      }
      for (const dir of dirs.values()) await this.folders.remove(dir);
      await this.store.delete(p.account.id, name);
      await this.deps.audit.record(this.deps.storage.audit, ctx, 'skill.uninstall', `skill:${name}`, { clients: r.clients });
    });
  }

  /** The skill reference to load: `name` with `version` (which must agree with one already in `name`). */
  private refOf(input: SkillInstallInput): string {
    const name = (input.name ?? '').trim();
    if (name === '') throw badRequest('name is required: a skill of this registry, @scope/name (version in version, or @scope/name@version)');
    const version = (input.version ?? '').trim();
    if (/^[a-z0-9-]+$/.test(name)) {
      throw badRequest(`'${name}' names no scope: install a skill of this registry as @scope/${name} (see /registry/default/v0.1/x/dev.toolhive/skills)`);
    }
    if (version === '') return name;
    const oci = !name.startsWith('@') && (name.split('/').length > 2 || name.split('/')[0].includes(':'));
    if (oci) {
      if (/[:@][^/]*$/.test(name.split('/').slice(1).join('/'))) throw badRequest('Send the version either in name or in version, not both');
      return `${name}:${version}`;
    }
    if (name.slice(1).includes('@')) throw badRequest('Send the version either in name or in version, not both');
    return `${name}@${version}`;
  }

  /** The clients asked for: none or `["all"]` means every installed client that reads skills. */
  private async clientsFor(names: string[] | undefined): Promise<ClientApp[]> {
    if (names === undefined || names.length === 0 || (names.length === 1 && names[0].toLowerCase() === 'all')) {
      const found: ClientApp[] = [];
      for (const app of CLIENT_APPS) if (app.skillsPath && (await this.folders.exists(installMarkerOf(app, this.platform)))) found.push(app);
      if (found.length === 0) throw badRequest('No client that reads skills is installed on this server; name the clients to install for (clients)');
      return found;
    }
    const problems: string[] = [];
    for (const n of names) {
      if (n === '') problems.push('clients entries must be non-empty strings');
      else if (n.toLowerCase() === 'all') problems.push("'all' cannot be combined with other client names");
      else {
        const problem = clientProblem(n);
        if (problem) problems.push(problem);
        else if (!clientApp(n)?.skillsPath) problems.push(`client '${n}' does not read skills`);
      }
    }
    if (problems.length > 0) throw badRequest('Invalid clients', [...new Set(problems)]);
    return [...new Set(names)].map((n) => clientApp(n) as ClientApp);
  }

  private dirOf(app: ClientApp, name: string): string[] {
    return [...(app.skillsPath ?? []), name];
  }

  /** Several clients share a skills folder (`~/.agents/skills`): compare folders, not clients. */
  private dirKey(client: string, name: string): string {
    const app = clientApp(client);
    return app?.skillsPath ? this.dirOf(app, name).join('/') : `?${client}`;
  }

  private serial<T>(name: string, work: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(name) ?? Promise.resolve();
    const next = prev.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(name, settled);
    void settled.then(() => {
      if (this.queues.get(name) === settled) this.queues.delete(name);
    });
    return next;
  }
}
