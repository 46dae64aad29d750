import { sql, type Generated, type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import type {
  ManagedKind,
  ManagedObjectPatch,
  ManagedObjectQuery,
  ManagedObjectRecord,
  ManagedRepo,
  MemoryRecord,
  NewManagedObject,
  NewMemory,
  RevisionRecord,
} from '../../core/managed/managed-storage.js';
import { searchWords, type SqlDialectName } from './dialect.js';
import type { Database } from './schema.js';

/** The tables of migration 0008-managed. */
export interface ManagedDatabase {
  managed_objects: {
    seq: Generated<number>;
    id: string;
    kind: string;
    account_id: number;
    parent_id: string | null;
    ref_id: string | null;
    name: string | null;
    digest: string | null;
    version: number;
    data: string;
    archived_at: string | null;
    expires_at: string | null;
    created_at: string;
    updated_at: string;
  };
  managed_revisions: { object_id: string; revision: number; data: string; created_at: string };
  managed_memories: {
    seq: Generated<number>;
    id: string;
    store_id: string;
    path: string;
    content: string;
    sha256: string;
    size_bytes: number;
    embedding: string | null;
    created_at: string;
    updated_at: string;
  };
}

type ObjectRow = Selectable<ManagedDatabase['managed_objects']>;
type MemoryRow = Selectable<ManagedDatabase['managed_memories']>;

const parse = <T>(text: string | null, fallback: T): T => {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

const toObject = (r: ObjectRow): ManagedObjectRecord => ({
  seq: Number(r.seq),
  id: r.id,
  kind: r.kind as ManagedKind,
  accountId: Number(r.account_id),
  parentId: r.parent_id,
  refId: r.ref_id,
  name: r.name,
  digest: r.digest,
  version: Number(r.version),
  data: parse<Record<string, unknown>>(r.data, {}),
  archivedAt: r.archived_at,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const rowOf = (o: NewManagedObject): Insertable<ManagedDatabase['managed_objects']> => ({
  id: o.id,
  kind: o.kind,
  account_id: o.accountId,
  parent_id: o.parentId,
  ref_id: o.refId,
  name: o.name,
  digest: o.digest,
  version: o.version,
  data: JSON.stringify(o.data),
  archived_at: o.archivedAt,
  expires_at: o.expiresAt,
  created_at: o.createdAt,
  updated_at: o.updatedAt,
});

const toMemory = (r: MemoryRow): MemoryRecord => ({
  seq: Number(r.seq),
  id: r.id,
  storeId: r.store_id,
  path: r.path,
  content: r.content,
  sha256: r.sha256,
  sizeBytes: Number(r.size_bytes),
  embedding: parse<number[] | null>(r.embedding, null),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Managed objects, revisions and memories on either SQL dialect. */
export class SqlManagedRepo implements ManagedRepo {
  private readonly db: Kysely<ManagedDatabase>;

  constructor(
    db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {
    this.db = db as unknown as Kysely<ManagedDatabase>;
  }

  async insert(o: NewManagedObject): Promise<ManagedObjectRecord> {
    const row = await this.db.insertInto('managed_objects').values(rowOf(o)).returningAll().executeTakeFirstOrThrow();
    return toObject(row);
  }

  async insertUnlessNamed(o: NewManagedObject): Promise<ManagedObjectRecord | undefined> {
    const row = await this.db
      .insertInto('managed_objects')
      .values(rowOf(o))
      // The keys' unique indexes (migrations 0029, 0034) are partial, so no conflict target: any uniqueness.
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    return row && toObject(row);
  }

  async find(id: string): Promise<ManagedObjectRecord | undefined> {
    const row = await this.db.selectFrom('managed_objects').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toObject(row);
  }

  async withDigest(digest: string, limit: number): Promise<ManagedObjectRecord[]> {
    const rows = await this.db.selectFrom('managed_objects').selectAll().where('digest', '=', digest).orderBy('seq').limit(limit).execute();
    return rows.map(toObject);
  }

  async lock(id: string): Promise<ManagedObjectRecord | undefined> {
    let q = this.db.selectFrom('managed_objects').selectAll().where('id', '=', id);
    if (this.dialect === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && toObject(row);
  }

  async findByName(kind: ManagedKind, accountId: number, name: string): Promise<ManagedObjectRecord | undefined> {
    const row = await this.db.selectFrom('managed_objects').selectAll().where('kind', '=', kind).where('account_id', '=', accountId).where('name', '=', name).executeTakeFirst();
    return row && toObject(row);
  }

  async update(id: string, p: ManagedObjectPatch): Promise<void> {
    const set: Updateable<ManagedDatabase['managed_objects']> = {};
    if (p.refId !== undefined) set.ref_id = p.refId;
    if (p.name !== undefined) set.name = p.name;
    if (p.version !== undefined) set.version = p.version;
    if (p.data !== undefined) set.data = JSON.stringify(p.data);
    if (p.archivedAt !== undefined) set.archived_at = p.archivedAt;
    if (p.digest !== undefined) set.digest = p.digest;
    if (p.updatedAt !== undefined) set.updated_at = p.updatedAt;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('managed_objects').set(set).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('managed_objects').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async list(q: ManagedObjectQuery): Promise<ManagedObjectRecord[]> {
    if (q.accountIds.length === 0 && q.sharedParentId === undefined) return [];
    const shared = q.sharedParentId;
    let query = this.db.selectFrom('managed_objects').selectAll().where('kind', '=', q.kind);
    if (shared === undefined) query = query.where('account_id', 'in', q.accountIds);
    else if (q.accountIds.length === 0) query = query.where('parent_id', '=', shared);
    else query = query.where((eb) => eb.or([eb('account_id', 'in', q.accountIds), eb('parent_id', '=', shared)]));
    if (q.parentId !== undefined) query = query.where('parent_id', '=', q.parentId);
    if (q.archived === 'exclude') query = query.where('archived_at', 'is', null);
    if (q.archived === 'only') query = query.where('archived_at', 'is not', null);
    if (q.beforeSeq !== undefined) query = query.where('seq', '<', q.beforeSeq);
    if (q.liveAt !== undefined) {
      const at = q.liveAt;
      query = query.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]));
    }
    const rows = await query.orderBy('seq', 'desc').limit(q.limit).execute();
    return rows.map(toObject);
  }

  async referrers(kind: ManagedKind, refId: string, limit: number): Promise<ManagedObjectRecord[]> {
    const rows = await this.db.selectFrom('managed_objects').selectAll().where('kind', '=', kind).where('ref_id', '=', refId).where('archived_at', 'is', null).orderBy('seq').limit(limit).execute();
    return rows.map(toObject);
  }

  async expired(at: string, limit: number): Promise<ManagedObjectRecord[]> {
    const rows = await this.db.selectFrom('managed_objects').selectAll().where('expires_at', 'is not', null).where('expires_at', '<=', at).orderBy('seq').limit(limit).execute();
    return rows.map(toObject);
  }

  async insertRevision(r: RevisionRecord): Promise<void> {
    await this.db
      .insertInto('managed_revisions')
      .values({ object_id: r.objectId, revision: r.revision, data: JSON.stringify(r.data), created_at: r.createdAt })
      .execute();
  }

  async findRevision(objectId: string, revision: number): Promise<RevisionRecord | undefined> {
    const row = await this.db.selectFrom('managed_revisions').selectAll().where('object_id', '=', objectId).where('revision', '=', revision).executeTakeFirst();
    return row && { objectId: row.object_id, revision: Number(row.revision), data: parse(row.data, {}), createdAt: row.created_at };
  }

  async listRevisions(objectId: string, beforeRevision: number | undefined, limit: number): Promise<RevisionRecord[]> {
    let q = this.db.selectFrom('managed_revisions').selectAll().where('object_id', '=', objectId);
    if (beforeRevision !== undefined) q = q.where('revision', '<', beforeRevision);
    const rows = await q.orderBy('revision', 'desc').limit(limit).execute();
    return rows.map((row) => ({ objectId: row.object_id, revision: Number(row.revision), data: parse(row.data, {}), createdAt: row.created_at }));
  }

  async insertMemory(m: NewMemory): Promise<MemoryRecord> {
    const row = await this.db
      .insertInto('managed_memories')
      .values({
        id: m.id,
        store_id: m.storeId,
        path: m.path,
        content: m.content,
        sha256: m.sha256,
        size_bytes: m.sizeBytes,
        embedding: m.embedding ? JSON.stringify(m.embedding) : null,
        created_at: m.createdAt,
        updated_at: m.updatedAt,
      })
      .returning(['seq', 'id', 'store_id', 'path', 'content', 'sha256', 'size_bytes', 'embedding', 'created_at', 'updated_at'])
      .executeTakeFirstOrThrow();
    return toMemory(row);
  }

  private memoryColumns = ['seq', 'id', 'store_id', 'path', 'content', 'sha256', 'size_bytes', 'embedding', 'created_at', 'updated_at'] as const;

  async findMemory(id: string): Promise<MemoryRecord | undefined> {
    const row = await this.db.selectFrom('managed_memories').select(this.memoryColumns).where('id', '=', id).executeTakeFirst();
    return row && toMemory(row);
  }

  async findMemoryByPath(storeId: string, path: string): Promise<MemoryRecord | undefined> {
    const row = await this.db.selectFrom('managed_memories').select(this.memoryColumns).where('store_id', '=', storeId).where('path', '=', path).executeTakeFirst();
    return row && toMemory(row);
  }

  async updateMemory(id: string, p: Partial<Pick<MemoryRecord, 'path' | 'content' | 'sha256' | 'sizeBytes' | 'embedding' | 'updatedAt'>>): Promise<void> {
    const set: Updateable<ManagedDatabase['managed_memories']> = {};
    if (p.path !== undefined) set.path = p.path;
    if (p.content !== undefined) set.content = p.content;
    if (p.sha256 !== undefined) set.sha256 = p.sha256;
    if (p.sizeBytes !== undefined) set.size_bytes = p.sizeBytes;
    if (p.embedding !== undefined) set.embedding = p.embedding ? JSON.stringify(p.embedding) : null;
    if (p.updatedAt !== undefined) set.updated_at = p.updatedAt;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('managed_memories').set(set).where('id', '=', id).execute();
  }

  async deleteMemory(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('managed_memories').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listMemories(storeId: string, opts: { beforeSeq?: number; pathPrefix?: string; limit: number }): Promise<MemoryRecord[]> {
    let q = this.db.selectFrom('managed_memories').select(this.memoryColumns).where('store_id', '=', storeId);
    if (opts.beforeSeq !== undefined) q = q.where('seq', '<', opts.beforeSeq);
    if (opts.pathPrefix) q = q.where(sql<boolean>`substr(path, 1, ${opts.pathPrefix.length}) = ${opts.pathPrefix}`);
    const rows = await q.orderBy('seq', 'desc').limit(opts.limit).execute();
    return rows.map(toMemory);
  }

  async searchMemories(storeId: string, text: string, limit: number): Promise<Array<{ memory: MemoryRecord; score: number }>> {
    const words = searchWords(text);
    if (words.length === 0) return [];
    if (this.dialect === 'postgres') {
      // Any of the words matches; more matching words (and denser ones) rank higher.
      const query = words.map((w) => `${w}:*`).join(' | ');
      const { rows } = await sql<MemoryRow & { score: number }>`
        SELECT seq, id, store_id, path, content, sha256, size_bytes, embedding, created_at, updated_at,
               ts_rank(search_vector, to_tsquery('simple', ${query})) AS score
        FROM managed_memories
        WHERE store_id = ${storeId} AND search_vector @@ to_tsquery('simple', ${query})
        ORDER BY score DESC, seq DESC LIMIT ${limit}`.execute(this.db);
      return rows.map((r) => ({ memory: toMemory(r), score: Number(r.score) }));
    }
    const query = words.map((w) => `"${w}"*`).join(' OR ');
    const { rows } = await sql<MemoryRow & { score: number }>`
      SELECT m.seq, m.id, m.store_id, m.path, m.content, m.sha256, m.size_bytes, m.embedding, m.created_at, m.updated_at,
             -bm25(managed_memory_fts, 2.0, 1.0) AS score
      FROM managed_memory_fts JOIN managed_memories m ON m.seq = managed_memory_fts.rowid
      WHERE managed_memory_fts MATCH ${query} AND m.store_id = ${storeId}
      ORDER BY score DESC, m.seq DESC LIMIT ${limit}`.execute(this.db);
    return rows.map((r) => ({ memory: toMemory(r), score: Number(r.score) }));
  }

  async memoriesWithEmbeddings(storeId: string, limit: number): Promise<MemoryRecord[]> {
    const rows = await this.db
      .selectFrom('managed_memories')
      .select(this.memoryColumns)
      .where('store_id', '=', storeId)
      .where('embedding', 'is not', null)
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toMemory);
  }
}
