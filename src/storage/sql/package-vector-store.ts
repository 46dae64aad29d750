import { sql, type Kysely } from 'kysely';
import type { EmbeddingJob, PackageVectorOutbox, PackageVectorStore, StoredVector } from '../../core/search/package-vectors.js';
import type { SqlDialectName } from './dialect.js';
import { runCompiled } from './compiled-statement.js';
import type { Database } from './schema.js';

/** The advisory lock PostgreSQL vector writes take, so `seq` is handed out in commit order (any fixed key). */
const SEQ_LOCK = 0x5e4c0042;

/** A queued row and its package's searchable columns, as `claim` reads them. */
type JobRow = Record<'package_id' | 'generation' | 'attempts', number> &
  Record<'scope' | 'name' | 'kind', string> &
  Record<'text_sha256' | 'model' | 'description' | 'readme' | 'tags' | 'latest_version', string | null>;

const toBytes = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
/** A stored vector back as floats (copied: the driver's buffer need not be aligned for a Float32Array). */
const fromBytes = (b: Uint8Array): Float32Array => new Float32Array(new Uint8Array(b).buffer);

const parseTags = (t: string | null): string[] => {
  try {
    const v: unknown = JSON.parse(t ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
};

/** The queue side a write reaches in its own transaction (StorageRepos.searchOutbox). */
export class SqlPackageVectorOutbox implements PackageVectorOutbox {
  constructor(protected readonly db: Kysely<Database>) {}

  async enqueue(packageId: number): Promise<void> {
    // In a publish's transaction: compiled once.
    await runCompiled(this.db, 'packageEmbeddings.enqueue', [packageId], () => ({
      compile: () =>
        sql`INSERT INTO package_embeddings (package_id, status, generation, attempts, retry_at) VALUES (${packageId}, 'pending', 1, 0, NULL)
            ON CONFLICT (package_id) DO UPDATE SET status = 'pending', generation = package_embeddings.generation + 1, attempts = 0, retry_at = NULL`.compile(this.db),
    }));
  }
}

/** Package vectors and their queue on SQLite and PostgreSQL (migration 0042). */
export class SqlPackageVectorStore extends SqlPackageVectorOutbox implements PackageVectorStore {
  constructor(
    db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {
    super(db);
  }

  async backfill(model: string, now: string): Promise<number> {
    await sql`INSERT INTO package_embeddings (package_id, status) SELECT p.id, 'pending' FROM packages p
      WHERE p.latest_version IS NOT NULL AND NOT EXISTS (SELECT 1 FROM package_embeddings e WHERE e.package_id = p.id)`.execute(this.db);
    await sql`UPDATE package_embeddings SET status = 'pending', generation = generation + 1, updated_at = ${now}
      WHERE status = 'ready' AND vector IS NOT NULL AND (model IS NULL OR model <> ${model})`.execute(this.db);
    await sql`UPDATE package_embeddings SET retry_at = NULL, attempts = 0 WHERE status = 'pending'`.execute(this.db);
    return (await this.counts(model)).pending;
  }

  async claim(owner: string, now: string, until: string, limit: number): Promise<EmbeddingJob[]> {
    const due = sql`status = 'pending' AND (retry_at IS NULL OR retry_at <= ${now}) AND (lease_until IS NULL OR lease_until < ${now})`;
    const ids = (await sql<{ package_id: number }>`SELECT package_id FROM package_embeddings WHERE ${due} ORDER BY package_id LIMIT ${limit}`.execute(this.db)).rows.map((r) => r.package_id);
    if (ids.length === 0) return [];
    const list = sql.join(ids.map((id) => sql`${id}`));
    await sql`UPDATE package_embeddings SET lease_owner = ${owner}, lease_until = ${until} WHERE package_id IN (${list}) AND ${due}`.execute(this.db);
    const rows = await sql<JobRow>`SELECT e.package_id, e.generation, e.text_sha256, e.model, e.attempts,
        p.scope, p.name, p.kind, p.description, p.readme, p.tags, p.latest_version
      FROM package_embeddings e JOIN packages p ON p.id = e.package_id
      WHERE e.package_id IN (${list}) AND e.lease_owner = ${owner} AND e.lease_until = ${until}`.execute(this.db);
    return rows.rows.map((r) => ({
      packageId: Number(r.package_id),
      generation: Number(r.generation),
      storedTextSha256: r.text_sha256,
      storedModel: r.model,
      attempts: Number(r.attempts),
      scope: r.scope,
      name: r.name,
      kind: r.kind,
      description: r.description,
      readme: r.readme,
      tags: parseTags(r.tags),
      latestVersion: r.latest_version,
    }));
  }

  async save(owner: string, job: EmbeddingJob, result: { vector: Float32Array | null | 'unchanged'; model: string; textSha256: string; at: string }): Promise<void> {
    const settled = sql`status = CASE WHEN generation = ${job.generation} THEN 'ready' ELSE 'pending' END, attempts = 0, retry_at = NULL,
      last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ${result.at}`;
    const mine = sql`package_id = ${job.packageId} AND lease_owner = ${owner}`;
    if (result.vector === 'unchanged') {
      await sql`UPDATE package_embeddings SET ${settled} WHERE ${mine}`.execute(this.db);
      return;
    }
    const write = sql`UPDATE package_embeddings SET ${settled}, model = ${result.model}, text_sha256 = ${result.textSha256},
      vector = ${result.vector ? toBytes(result.vector) : null}, seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM package_embeddings WHERE model IS NOT NULL) WHERE ${mine}`;
    // Every row with a `seq` has a model: the highest is read from the index of those (0051).
    // SQLite: one statement by the one writer. PostgreSQL: vector writes one at a time, so a reader
    // that sees a `seq` sees every lower one committed (the index catches up by it).
    if (this.dialect === 'sqlite') await write.execute(this.db);
    else {
      await this.db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${SEQ_LOCK})`.execute(trx);
        await write.execute(trx);
      });
    }
  }

  async fail(owner: string, job: EmbeddingJob, retryAt: string, error: string): Promise<void> {
    await sql`UPDATE package_embeddings SET attempts = attempts + 1, retry_at = CASE WHEN generation = ${job.generation} THEN ${retryAt} ELSE NULL END,
      last_error = ${error}, lease_owner = NULL, lease_until = NULL WHERE package_id = ${job.packageId} AND lease_owner = ${owner}`.execute(this.db);
  }

  async stamp(model: string): Promise<number> {
    const r = await sql<{ s: number | string | null }>`SELECT MAX(seq) AS s FROM package_embeddings WHERE model = ${model}`.execute(this.db);
    return Number(r.rows[0]?.s ?? 0);
  }

  async vectorsAfter(model: string, seq: number, limit: number): Promise<StoredVector[]> {
    const r = await sql<{ package_id: number; seq: number; vector: Uint8Array | null }>`SELECT package_id, seq, vector FROM package_embeddings
      WHERE model = ${model} AND seq > ${seq} ORDER BY seq LIMIT ${limit}`.execute(this.db);
    return r.rows.map((row) => ({ packageId: Number(row.package_id), seq: Number(row.seq), vector: row.vector && row.vector.byteLength > 0 ? fromBytes(row.vector) : null }));
  }

  async counts(model: string): Promise<{ pending: number; indexed: number }> {
    const r = await sql<{ pending: number | string; indexed: number | string }>`SELECT
      SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,
      SUM(CASE WHEN model = ${model} AND vector IS NOT NULL THEN 1 ELSE 0 END) AS indexed FROM package_embeddings`.execute(this.db);
    return { pending: Number(r.rows[0]?.pending ?? 0), indexed: Number(r.rows[0]?.indexed ?? 0) };
  }
}
