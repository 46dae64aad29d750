import type { RequestContext } from '../auth/principal.js';
import type { FileService } from '../managed/files/file-service.js';
import type { MemoryStoreService } from '../managed/memory/memory-store-service.js';
import type { ManagedSkillService } from '../managed/skills/managed-skill-service.js';
import type { Storage } from '../storage.js';
import type { SessionToolbox, WorkspaceMount } from '../tools/builtin-toolset.js';
import type { RepositoryCheckout, WorkspaceRepos } from './repo-port.js';

type Ev = Record<string, unknown>;

/** Where a session's resources appear in its workspace (the paths bash and the file tools see). */
export const SKILLS_ROOT = '/mnt/skills';
export const MEMORY_ROOT = '/mnt/memory';
export const UPLOADS_ROOT = '/mnt/session/uploads';

/** Memories mounted per store at most (the newest). */
const MAX_MEMORIES = 1000;

/** A folder or file name the workspace accepts (letters, digits, `. _ - @ + = ,` and spaces). */
export const mountName = (name: string): string => {
  const n = name.replace(/[^A-Za-z0-9._@+=, -]/g, '_').replace(/^\.+$/, '_');
  return n === '' ? '_' : n.slice(0, 128);
};

/** A memory's path as a file path inside its store's folder, or undefined when it cannot be one. */
const memoryFile = (path: string): string | undefined => {
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..') || path.includes('\0')) return undefined;
  return segments.join('/');
};

/**
 * A session's mount path for a file resource: absolute, inside `/workspace` or `/mnt` (not
 * `/mnt/session/outputs`), no `..`, characters a mount path may have. Answers the problem, if any.
 */
export const mountPathProblem = (path: string): string | undefined => {
  if (!path.startsWith('/')) return 'must be an absolute path';
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return 'must not have a ".." segment';
  if (segments.some((s) => !/^[A-Za-z0-9._@+=, -]+$/.test(s))) return 'may only have letters, digits, . _ - @ + = , and spaces';
  const p = `/${segments.join('/')}`;
  if (!(p.startsWith('/workspace/') || p.startsWith('/mnt/'))) return 'must be inside /workspace or /mnt';
  if (p === '/mnt/session/outputs' || p.startsWith('/mnt/session/outputs/')) return 'must not be inside /mnt/session/outputs';
  if (p === SKILLS_ROOT || p.startsWith(`${SKILLS_ROOT}/`) || p === MEMORY_ROOT || p.startsWith(`${MEMORY_ROOT}/`)) return `must not be inside ${SKILLS_ROOT} or ${MEMORY_ROOT}`;
  return undefined;
};

/** The mounts of a session's workspace, and which folders are read-write memory stores. */
export interface SessionMountSet {
  mounts: WorkspaceMount[];
  memory: Array<{ storeId: string; path: string }>;
}

export interface SessionMountsDeps {
  storage: Storage;
  skills: ManagedSkillService;
  files: FileService;
  memory: MemoryStoreService;
  /** Acts as the session's account (reads go through the services' own access rule). */
  contextFor(accountId: number): Promise<RequestContext>;
  /** Clones the session's github_repository resources into its workspace; without it they are not mounted. */
  repos?: WorkspaceRepos;
  /** The token of a repository resource (the resource's own, else one of the session's vaults), read in the worker only. */
  repoToken?(session: { id: string; accountId: number; vaultIds: string[] }, resourceId: string, url: string): Promise<string | undefined>;
}

const readAll = async (body: AsyncIterable<unknown>): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
};

/**
 * What a session's workspace holds besides its own files: the agent's skills (the files of the
 * skill versions, read-only, at `/mnt/skills/<name>/`), the files attached to the session
 * (read-only, at their `mount_path`, default `/mnt/session/uploads/<file_id>`), and its memory
 * stores (at `/mnt/memory/<store name>/`, one file per memory; read-write stores are written back
 * to the store after every tool call).
 */
export class SessionMounts {
  constructor(private readonly deps: SessionMountsDeps) {}

  async mountsFor(sessionId: string): Promise<SessionMountSet> {
    const s = await this.deps.storage.sessions.find(sessionId);
    if (!s) return { mounts: [], memory: [] };
    const ctx = await this.deps.contextFor(s.accountId);
    const agent = (s.data.agent as Ev) ?? {};
    const mounts: WorkspaceMount[] = [];
    const memory: SessionMountSet['memory'] = [];
    const used = new Set<string>();
    const unique = (base: string): string => {
      let p = base;
      for (let i = 2; used.has(p); i++) p = `${base}-${i}`;
      used.add(p);
      return p;
    };
    for (const ref of Array.isArray(agent.skills) ? (agent.skills as Ev[]) : []) {
      const skill = await this.deps.skills.files(ctx, String(ref.skill_id), typeof ref.version === 'string' ? ref.version : 'latest').catch(() => undefined);
      if (!skill) continue;
      mounts.push({ type: 'directory', path: unique(`${SKILLS_ROOT}/${mountName(skill.name)}`), files: skill.files.map((f) => ({ path: f.path, content: f.data })), writable: false });
    }
    for (const r of (s.data.resources as Ev[] | undefined) ?? []) {
      if (r.type === 'file') {
        const opened = await this.deps.files.open(ctx, String(r.file_id)).catch(() => undefined);
        if (!opened) continue;
        mounts.push({ type: 'file', path: String(r.mount_path), content: await readAll(opened.body) });
      } else if (r.type === 'memory_store') {
        const store = await this.deps.memory.get(ctx, String(r.memory_store_id)).catch(() => undefined);
        if (!store) continue;
        const memories = await this.deps.storage.managed.listMemories(store.id, { limit: MAX_MEMORIES });
        const files = memories.flatMap((m) => {
          const p = memoryFile(m.path);
          return p ? [{ path: p, content: m.content }] : [];
        });
        const path = unique(`${MEMORY_ROOT}/${mountName(store.name)}`);
        mounts.push({ type: 'directory', path, files, writable: r.access !== 'read_only' });
        if (r.access !== 'read_only') memory.push({ storeId: store.id, path });
      }
    }
    if (this.deps.repos) {
      const repos: RepositoryCheckout[] = [];
      for (const r of (s.data.resources as Ev[] | undefined) ?? []) {
        if (r.type !== 'github_repository') continue;
        const session = { id: s.id, accountId: s.accountId, vaultIds: (s.data.vault_ids as string[] | undefined) ?? [] };
        const token = await this.deps.repoToken?.(session, String(r.id), String(r.url));
        repos.push({ id: String(r.id), url: String(r.url), path: String(r.mount_path), checkout: (r.checkout as RepositoryCheckout['checkout']) ?? null, token });
      }
      const removed = Array.isArray(s.data.removed_mounts) ? (s.data.removed_mounts as string[]) : [];
      if (repos.length > 0 || removed.length > 0) await this.deps.repos.sync(s.id, repos, removed);
    }
    return { mounts, memory };
  }

  /** Which set of resources the session has: changes when one is added or removed (the workspace is then re-opened). */
  async revision(sessionId: string): Promise<number> {
    const s = await this.deps.storage.sessions.find(sessionId);
    return Number(s?.data.resources_rev ?? 0);
  }

  /**
   * Writes what the agent changed in its read-write memory folders back to their stores: new files
   * become memories, changed files update theirs, removed files delete theirs.
   */
  async writeBack(sessionId: string, box: SessionToolbox, memory: SessionMountSet['memory']): Promise<void> {
    if (memory.length === 0) return;
    const s = await this.deps.storage.sessions.find(sessionId);
    if (!s) return;
    const ctx = await this.deps.contextFor(s.accountId);
    for (const { storeId, path } of memory) {
      const store = await this.deps.memory.get(ctx, storeId).catch(() => undefined);
      if (!store) continue;
      const files = await box.collect(path);
      const memories = await this.deps.storage.managed.listMemories(store.id, { limit: MAX_MEMORIES });
      const byFile = new Map(memories.flatMap((m) => (memoryFile(m.path) ? [[memoryFile(m.path)!, m] as const] : [])));
      for (const f of files) {
        const content = Buffer.from(f.content).toString('utf8');
        const m = byFile.get(f.path);
        byFile.delete(f.path);
        if (!m) await this.deps.memory.addMemory(ctx, store.id, { path: `/${f.path}`, content });
        else if (m.content !== content) await this.deps.memory.updateMemory(ctx, store.id, m.id, { content, expectedSha256: m.sha256 });
      }
      for (const m of byFile.values()) await this.deps.memory.deleteMemory(ctx, store.id, m.id, m.sha256);
    }
  }
}
