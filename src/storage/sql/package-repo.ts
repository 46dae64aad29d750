import { createHash } from 'node:crypto';
import { CompiledQuery, sql, type Kysely, type RawBuilder } from 'kysely';
import type {
  NewPackage,
  NewVersion,
  PackageDocument,
  PackagePatch,
  PackageQuery,
  PackageRecord,
  PackageRepo,
  PackageVersionRecord,
  PackageViewRecord,
  VersionBrowseQuery,
  VersionContent,
  VersionRecord,
} from '../../core/packages/package-repo.js';
import type { Page } from '../../core/page.js';
import { runCompiled } from './compiled-statement.js';
import { afterPrefix, rowFinder, type RowReader, type RowsReader, type SqlDialectName, type TextMatch, type TextSearch } from './dialect.js';
import { CHANGE_CHANNEL } from './change-feed.js';
import { PACKAGE_COLUMNS, packageColumns } from './package-columns.js';
import { toAccount, toPackage, toVersion, viewJsonSql } from './rows.js';
import type { AccountRecord } from '../../core/accounts/account-repo.js';
import { readFilterSql } from './read-filter.js';
import { KeyBatcher } from './key-batcher.js';
import type { ReadFilter, Visibility } from '../../core/access/visibility.js';
import type { AccountsTable, Database, PackagesTable, VersionsTable } from './schema.js';
import type { Selectable, Updateable } from 'kysely';

const P_COLUMNS = packageColumns('p');
/**
 * A package's stored detail document and its access fields by key (the key's comparison appended).
 * SQLite: through the index that holds those fields (migration 0050), named because the planner
 * would take the key's unique index and then read the package's row as well.
 */
const documentSql = (dialect: SqlDialectName): string =>
  `SELECT p.key, p.kind, p.scope, p.visibility, p.owner_account_id, d.body, d.etag FROM packages p${dialect === 'sqlite' ? ' INDEXED BY packages_document_lookup_idx' : ''} JOIN package_documents d ON d.package_id = p.id WHERE p.key`;
const toDocument = (r: unknown[]): PackageDocument => ({
  kind: r[1] as string,
  scope: r[2] as string,
  visibility: r[3] as Visibility,
  ownerAccountId: Number(r[4]),
  body: r[5] as string,
  etag: r[6] as string,
});
const SQLITE_DOCUMENT_SQL = documentSql('sqlite');
const POSTGRES_DOCUMENT_SQL = documentSql('postgres');
/**
 * The first packages (by id) without a stored document, the start-up fill's scan, reading ids from
 * narrow indexes only and each package's row only for the keys it returns: at 100,000 packages
 * with nothing missing, not the package rows (readmes) nor the documents' (bodies).
 * SQLite: both tables' id indexes (0052), named, as the planner would take the tables' own keys;
 * PostgreSQL: both primary keys (index-only scans).
 */
const WITHOUT_DOCUMENT_HINTS: Record<SqlDialectName, [RawBuilder<unknown>, RawBuilder<unknown>]> = {
  sqlite: [sql.raw(' INDEXED BY packages_id_scan_idx'), sql.raw(' INDEXED BY package_documents_scan_idx')],
  postgres: [sql.raw(''), sql.raw('')],
};
/** How many of the newest matches a relevance-ordered search ranks (see rankedSearch). */
const SEARCH_CANDIDATES = 1000;
/**
 * A LIMIT or OFFSET of the relevance search, on SQLite written into the statement rather than
 * bound. SQLite compiles the statement anew each time its bound LIMITs or OFFSET are bound again
 * (its query plan may use their values), which better-sqlite3 does on every run: measured at
 * 100,000 packages, about 75 µs of CPU a search, half of one that matches nothing. Written in, the
 * statement's text holds the page's size and start: one prepared statement (see
 * withStatementCache) per size and start. PostgreSQL binds them: its prepared ranked statements
 * (see rankedPrepared) are one per text, whatever the page.
 */
const rowCount = (dialect: SqlDialectName, n: number): RawBuilder<unknown> => {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a row count must be a whole number (got ${n})`);
  return dialect === 'sqlite' ? sql.lit(n) : sql`${n}`;
};
/** How many texts of ranked searches are prepared (see rankedPrepared). */
const RANKED_STATEMENTS = 64;
const VERSION_COLUMNS = [
  'id',
  'package_id',
  'version',
  'manifest',
  'readme',
  'digest',
  'size',
  'file_count',
  'unpacked_size',
  'deprecated',
  'download_count',
  'published_by',
  'published_at',
  'unpublished_at',
  'unpublish_reason',
  'status_changed_at',
  'findings',
] as const;
const ACCOUNT_COLUMNS = ['id', 'name', 'kind', 'display_name', 'email', 'avatar_url', 'bio', 'website', 'is_admin', 'created_at', 'updated_at'] as const;

/** The owner's columns beside a package's in a listing's page (`a_` before each). */
const OWNER_COLUMNS = sql.raw(ACCOUNT_COLUMNS.map((c) => `a.${c} AS a_${c}`).join(', '));

/** The columns of a ranked search's row on PostgreSQL, in order (see rankedSearch). */
const RANKED_COLUMNS = [...PACKAGE_COLUMNS, ...ACCOUNT_COLUMNS.map((c) => `a_${c}`), 'c_count', 'c_min'];

/** Picks the columns of one joined table back out of a row where they carry a prefix. */
const unprefix = <T>(row: Record<string, unknown>, prefix: string, columns: readonly string[]): T => Object.fromEntries(columns.map((c) => [c, row[prefix + c]])) as T;

/** The view query's JSON document (see viewJsonSql): a view record with null for what is absent. */
type JsonView = Omit<PackageViewRecord, 'latest' | 'owner' | 'stamp'> & { latest: VersionRecord | null; owner: AccountRecord | null };

const fromJsonView = (v: JsonView, stamp: string): PackageViewRecord => ({
  pkg: v.pkg,
  latest: v.latest ?? undefined,
  owner: v.owner ?? undefined,
  distTags: v.distTags ?? {},
  stamp,
});

/** A row of a listing's page: a package's columns, then its owner's (`a_`, null when it has none). */
type PageRow = Selectable<PackagesTable> & Record<string, unknown>;

/** A page's rows as package records, with the owners read beside them (each once). */
const withOwners = (rows: PageRow[]): { rows: PackageRecord[]; owners: Map<number, AccountRecord> } => {
  const owners = new Map<number, AccountRecord>();
  for (const row of rows) {
    if (row.a_id == null || owners.has(Number(row.a_id))) continue;
    const owner = toAccount(unprefix<Selectable<AccountsTable>>(row, 'a_', ACCOUNT_COLUMNS));
    owners.set(owner.id, owner);
  }
  return { rows: rows.map(toPackage), owners };
};

/** SQLite's view columns: the package's, its latest version's, its owner's, then the dist-tags as JSON. */
const VIEW_COLUMNS = [...PACKAGE_COLUMNS.map((c) => `p.${c}`), ...VERSION_COLUMNS.map((c) => `v.${c} AS v_${c}`), ...ACCOUNT_COLUMNS.map((c) => `a.${c} AS a_${c}`)].join(', ');

/** One table's columns out of a row read as an array, from `offset` on. */
const pick = <T>(row: unknown[], columns: readonly string[], offset: number): T => {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]!] = row[offset + i];
  return o as T;
};

const V_AT = PACKAGE_COLUMNS.length;
const A_AT = V_AT + VERSION_COLUMNS.length;
const TAGS_AT = A_AT + ACCOUNT_COLUMNS.length;

/** A row of SQLite's view query, as an array of its columns in order, as a view record. */
const viewFromRow = (row: unknown[]): PackageViewRecord => {
  const tagsJson = row[TAGS_AT];
  return {
    pkg: toPackage(pick<Selectable<PackagesTable>>(row, PACKAGE_COLUMNS, 0)),
    latest: row[V_AT] == null ? undefined : toVersion(pick<Selectable<VersionsTable>>(row, VERSION_COLUMNS, V_AT)),
    owner: row[A_AT] == null ? undefined : toAccount(pick<Selectable<AccountsTable>>(row, ACCOUNT_COLUMNS, A_AT)),
    distTags: typeof tagsJson === 'string' ? (JSON.parse(tagsJson) as Record<string, string>) : {},
  };
};

/** Whether two account records hold the same values, field for field. */
const sameAccount = (a: AccountRecord, b: AccountRecord): boolean => {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  for (const k in x) if (x[k] !== y[k]) return false;
  for (const k in y) if (!(k in x)) return false;
  return true;
};

/** How many owners `ViewSharing` remembers before it starts afresh. */
const OWNERS_REMEMBERED = 1000;

/**
 * Views are kept by the thousand in the core's view cache, and most of what they hold is read
 * again for every view: thousands of packages have a handful of owners, and a package's readme is
 * nearly always its latest version's. A view read from the store shares the owner record an
 * earlier view holds when the owner's row is unchanged, and its latest version shares the
 * package's readme text when they are equal: the same values, held once (measured on the bench's
 * corpus: 1.76 → 1.43 KB of heap a view, 10,000 cached views 17 → 14 MB). Records are never
 * changed after they are read, so sharing them is safe.
 */
class ViewSharing {
  private readonly owners = new Map<number, AccountRecord>();

  share(view: PackageViewRecord): PackageViewRecord {
    const { owner, latest, pkg } = view;
    if (owner) {
      const known = this.owners.get(owner.id);
      if (known && sameAccount(known, owner)) view.owner = known;
      else {
        if (this.owners.size >= OWNERS_REMEMBERED) this.owners.clear();
        this.owners.set(owner.id, owner);
      }
    }
    if (latest && latest.readme !== null && latest.readme === pkg.readme) latest.readme = pkg.readme;
    return view;
  }
}

export class SqlPackageRepo implements PackageRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialectName,
    private readonly textSearch: TextSearch,
    /** SQLite: reads one row as an array by a prepared statement on a read-only connection (see RowReader). */
    private readonly readRow?: RowReader,
    /** PostgreSQL: reads rows as arrays by a named statement, prepared once per connection (see RowsReader). */
    private readonly readRows?: RowsReader,
  ) {
    this.byKey = readRow && rowFinder(readRow, 'packages', PACKAGE_COLUMNS, 'key');
    this.byId = readRow && rowFinder(readRow, 'packages', PACKAGE_COLUMNS, 'id');
  }

  /** The columns of a bounded count (see boundedTotal). */
  private get boundedCount(): RawBuilder<unknown> {
    return this.dialect === 'sqlite' ? BOUNDED_COUNT_SQLITE : BOUNDED_COUNT;
  }

  /** SQLite outside transactions: package rows through the read connection (see RowReader). */
  private readonly byKey: ((key: unknown) => Selectable<PackagesTable> | undefined) | undefined;
  private readonly byId: ((id: unknown) => Selectable<PackagesTable> | undefined) | undefined;
  /** A statement's rows as arrays on this repo's connection or transaction (a RowsReader that prepares nothing). */
  private readonly rowsOf: RowsReader = async (_name, text, params) => (await this.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, [...params]))).rows.map((r) => Object.values(r));

  async findByKey(key: string): Promise<PackageRecord | undefined> {
    const row = this.byKey ? this.byKey(key) : await this.db.selectFrom('packages').select(PACKAGE_COLUMNS).where('key', '=', key).executeTakeFirst();
    return row && toPackage(row);
  }

  private viewQuery: CompiledQuery | undefined;
  private readonly sharing = new ViewSharing();
  /** PostgreSQL: concurrent view reads, one statement per turn of the event loop (see KeyBatcher). */
  private viewBatch: KeyBatcher<PackageViewRecord> | undefined;
  private stampBatch: KeyBatcher<string> | undefined;

  /**
   * The hot read path (a package's detail): one statement, compiled once, instead of four queries.
   * On PostgreSQL the views asked for at once are read by one statement, each with its change stamp.
   */
  async findView(key: string): Promise<PackageViewRecord | undefined> {
    this.viewQuery ??= this.compileViewQuery();
    if (this.dialect === 'postgres') {
      this.viewBatch ??= new KeyBatcher((keys) => this.findViews(keys));
      return this.viewBatch.load(key);
    }
    if (this.readRow) {
      const row = this.readRow(this.viewQuery.sql, [key]);
      return row && this.sharing.share(viewFromRow(row));
    }
    const result = await this.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(this.viewQuery.sql, [key]));
    const row = result.rows[0];
    return row && this.sharing.share(viewFromRow(Object.values(row)));
  }

  private async findViews(keys: string[]): Promise<Map<string, PackageViewRecord>> {
    if (this.readRows) {
      const rows = await this.readRows('agentry_package_views', this.viewQuery!.sql, [keys]);
      return new Map(rows.map((row) => [row[1] as string, this.sharing.share(fromJsonView(row[0] as JsonView, row[2] as string))]));
    }
    const result = await this.db.executeQuery<{ key: string; view: JsonView; view_stamp: string }>(CompiledQuery.raw(this.viewQuery!.sql, [keys]));
    return new Map(result.rows.map((row) => [row.key, this.sharing.share(fromJsonView(row.view, row.view_stamp))]));
  }

  /**
   * PostgreSQL: the view as one JSON document (viewJsonSql) of each asked-for key, with its
   * change stamp (the row version's xmin, see changeStamp). SQLite: the view's columns, read as
   * an array (viewFromRow).
   */
  private compileViewQuery(): CompiledQuery {
    if (this.dialect === 'postgres') {
      return sql`SELECT ${sql.raw(viewJsonSql())} AS view, p.key, p.xmin::text AS view_stamp
        FROM packages p
        LEFT JOIN versions v ON v.package_id = p.id AND v.version = p.latest_version
        LEFT JOIN accounts a ON a.id = p.owner_account_id
        WHERE p.key = ANY(${'?'})`.compile(this.db);
    }
    return sql`SELECT ${sql.raw(VIEW_COLUMNS)}, json((SELECT json_group_object(d.tag, d.version) FROM dist_tags d WHERE d.package_id = p.id)) AS dist_tags_json
      FROM packages p
      LEFT JOIN versions v ON v.package_id = p.id AND v.version = p.latest_version
      LEFT JOIN accounts a ON a.id = p.owner_account_id
      WHERE p.key = ${'?'}`.compile(this.db);
  }

  /** PostgreSQL: concurrent document reads, one statement per turn of the event loop (see KeyBatcher). */
  private documentBatch: KeyBatcher<PackageDocument> | undefined;

  /**
   * The uncached read of a package's detail: one prepared statement by key (SQLite: on the read
   * connection; PostgreSQL: a named statement for the keys asked at once), the text as stored.
   */
  async findDocument(key: string): Promise<PackageDocument | undefined> {
    if (this.dialect === 'postgres') {
      this.documentBatch ??= new KeyBatcher(async (keys) => {
        const rows = await (this.readRows ?? this.rowsOf)('agentry_package_documents', `${POSTGRES_DOCUMENT_SQL} = ANY($1)`, [keys]);
        return new Map(rows.map((r) => [r[0] as string, toDocument(r)]));
      });
      return this.documentBatch.load(key);
    }
    const row = this.readRow
      ? this.readRow(`${SQLITE_DOCUMENT_SQL} = ?`, [key])
      : Object.values((await this.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(`${SQLITE_DOCUMENT_SQL} = ?`, [key]))).rows[0] ?? {});
    return row && row.length > 0 ? toDocument(row) : undefined;
  }

  async findDocumentWithDownloads(key: string): Promise<{ packageId: number; body: string; etag: string; downloadCount: number } | undefined> {
    const row = await this.db
      .selectFrom('packages as p')
      .innerJoin('package_documents as d', 'd.package_id', 'p.id')
      .select(['p.id', 'p.download_count', 'd.body', 'd.etag'])
      .where('p.key', '=', key)
      .executeTakeFirst();
    return row && { packageId: Number(row.id), body: row.body, etag: row.etag, downloadCount: Number(row.download_count) };
  }

  async saveDocument(packageId: number, body: string, etag: string): Promise<void> {
    // In every package write's transaction (a publish's included): compiled once.
    await runCompiled(this.db, 'packages.saveDocument', [packageId, body, etag, body, etag], () =>
      this.db
        .insertInto('package_documents')
        .values({ package_id: packageId, body, etag })
        .onConflict((oc) => oc.column('package_id').doUpdateSet({ body, etag })),
    );
  }

  async dropOwnerDocuments(ownerAccountId: number): Promise<void> {
    // PostgreSQL: the packages' row locks first, as every write and document fill takes them, so a
    // fill reading the old profile either commits before this drop or reads the new profile.
    if (this.dialect === 'postgres') await sql`SELECT id FROM packages WHERE owner_account_id = ${ownerAccountId} FOR UPDATE`.execute(this.db);
    await sql`DELETE FROM package_documents WHERE package_id IN (SELECT id FROM packages WHERE owner_account_id = ${ownerAccountId})`.execute(this.db);
  }

  // The cursor bounds both sides: PostgreSQL's merge anti-join otherwise reads the documents' ids from the first.
  async keysWithoutDocument(limit: number, afterId = 0): Promise<Array<{ id: number; key: string }>> {
    const [packagesBy, documentsBy] = WITHOUT_DOCUMENT_HINTS[this.dialect];
    const rows = await sql<{ id: number | string; key: string }>`SELECT p.id, p.key FROM packages p WHERE p.id IN (
      SELECT q.id FROM packages q${packagesBy} WHERE q.id > ${afterId} AND NOT EXISTS (SELECT 1 FROM package_documents d${documentsBy} WHERE d.package_id = q.id AND d.package_id > ${afterId}) ORDER BY q.id LIMIT ${limit}
    ) ORDER BY p.id`.execute(this.db);
    return rows.rows.map((r) => ({ id: Number(r.id), key: r.key }));
  }

  async findById(id: number): Promise<PackageRecord | undefined> {
    const row = this.byId ? this.byId(id) : await this.db.selectFrom('packages').select(PACKAGE_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row && toPackage(row);
  }

  async announceChange(key: string): Promise<void> {
    // Only PostgreSQL is shared by several server processes; SQLite has one owner.
    if (this.dialect !== 'postgres') return;
    // A new row version (a new xmin: the package's change stamp, see changeStamp) whatever the write touched.
    await sql`UPDATE packages SET key = key WHERE key = ${key}`.execute(this.db);
    await sql`SELECT pg_notify(${CHANGE_CHANNEL}, ${key})`.execute(this.db);
  }

  /**
   * PostgreSQL: the package row's `xmin`, the transaction that wrote its current version; every
   * announced change writes a new version of the row, so the stamp changes with every committed
   * change (see PackageViewStamps). One index lookup.
   */
  async changeStamp(key: string): Promise<string | undefined> {
    this.stampBatch ??= new KeyBatcher(async (keys) => {
      if (this.readRows) {
        const found = await this.readRows('agentry_package_stamps', 'SELECT key, xmin::text AS stamp FROM packages WHERE key = ANY($1)', [keys]);
        return new Map(found.map((r) => [r[0] as string, r[1] as string]));
      }
      const rows = await sql<{ key: string; stamp: string }>`SELECT key, xmin::text AS stamp FROM packages WHERE key = ANY(${keys})`.execute(this.db);
      return new Map(rows.rows.map((r) => [r.key, r.stamp]));
    });
    return this.stampBatch.load(key);
  }

  async lockByKey(key: string): Promise<PackageRecord | undefined> {
    // SQLite serializes writers on its single connection; PostgreSQL needs a row lock.
    const [row] = await runCompiled(this.db, 'packages.lockByKey', [key], () => {
      const q = this.db.selectFrom('packages').select(PACKAGE_COLUMNS).where('key', '=', key);
      return this.dialect === 'postgres' ? q.forUpdate() : q;
    });
    return row && toPackage(row);
  }

  async insert(p: NewPackage): Promise<{ pkg: PackageRecord; created: boolean }> {
    const values = {
      kind: p.kind,
      scope: p.scope,
      name: p.name,
      key: p.key,
      description: p.description,
      readme: p.readme,
      category: p.category,
      tags: JSON.stringify(p.tags),
      license: p.license,
      repository: p.repository,
      homepage: p.homepage,
      latest_version: p.latestVersion,
      latest_pinned: p.latestPinned ? 1 : 0,
      owner_account_id: p.ownerAccountId,
      visibility: p.visibility,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
    };
    // Two first publishes of one name may race (PostgreSQL): the loser waits, then takes the winner's row.
    const [made] = await runCompiled(this.db, 'packages.insert', Object.values(values), () =>
      this.db
        .insertInto('packages')
        .values(values)
        .onConflict((oc) => oc.column('key').doNothing())
        .returning(PACKAGE_COLUMNS),
    );
    if (made) return { pkg: toPackage(made), created: true };
    const row = await this.lockByKey(p.key);
    if (!row) throw new Error(`package ${p.key} vanished after insert`);
    return { pkg: row, created: false };
  }

  async update(id: number, patch: PackagePatch): Promise<void> {
    const set: Updateable<PackagesTable> = {};
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.readme !== undefined) set.readme = patch.readme;
    if (patch.category !== undefined) set.category = patch.category;
    if (patch.tags !== undefined) set.tags = JSON.stringify(patch.tags);
    if (patch.license !== undefined) set.license = patch.license;
    if (patch.repository !== undefined) set.repository = patch.repository;
    if (patch.homepage !== undefined) set.homepage = patch.homepage;
    if (patch.latestVersion !== undefined) set.latest_version = patch.latestVersion;
    if (patch.latestPinned !== undefined) set.latest_pinned = patch.latestPinned ? 1 : 0;
    if (patch.updatedAt !== undefined) set.updated_at = patch.updatedAt;
    const columns = Object.keys(set);
    if (columns.length === 0) return;
    await runCompiled(this.db, `packages.update:${columns.join(',')}`, [...Object.values(set), id], () => this.db.updateTable('packages').set(set).where('id', '=', id));
  }

  async setVisibility(id: number, visibility: Visibility): Promise<void> {
    await this.db.updateTable('packages').set({ visibility }).where('id', '=', id).execute();
  }

  async query(q: PackageQuery): Promise<Page<PackageRecord> & { owners: Map<number, AccountRecord> }> {
    // A listing without a text query reads its page by the index of its sort order (see listing).
    const where: RawBuilder<unknown>[] = [readFilterSql(q.read)];
    if (q.kind) where.push(sql`p.kind = ${q.kind}`);
    if (q.scope) {
      const scope = q.scope.toLowerCase();
      where.push(sql`p.scope = ${scope}`);
      // SQLite has no index on scope (0051): its packages are the keys that start with `scope/`.
      if (this.dialect === 'sqlite') where.push(sql`p.key >= ${`${scope}/`} AND p.key < ${afterPrefix(`${scope}/`)}`);
    }
    if (q.ids) where.push(q.ids.length === 0 ? sql`1 = 0` : sql`p.id IN (${sql.join(q.ids.map((id) => sql`${id}`))})`);
    if (q.category) where.push(sql`p.category = ${q.category}`);
    if (q.ownerAccountId !== undefined) where.push(sql`p.owner_account_id = ${q.ownerAccountId}`);
    if (q.verified !== undefined) where.push(sql`p.is_verified = ${q.verified ? 1 : 0}`);
    if (q.deprecated !== undefined) {
      const latestDeprecated = sql`EXISTS (SELECT 1 FROM versions dv WHERE dv.package_id = p.id AND dv.version = p.latest_version AND dv.deprecated IS NOT NULL AND dv.deprecated <> '')`;
      where.push(q.deprecated ? latestDeprecated : sql`NOT ${latestDeprecated}`);
    }
    if (q.tag) where.push(sql`p.tags LIKE ${`%${JSON.stringify(q.tag).replace(/[%_\\]/g, '\\$&')}%`} ESCAPE '\\'`);
    if (q.anyTags && q.anyTags.length > 0) {
      const any = q.anyTags.map((t) => sql`p.tags LIKE ${`%${JSON.stringify(t).replace(/[%_\\]/g, '\\$&')}%`} ESCAPE '\\'`);
      where.push(sql`(${sql.join(any, sql` OR `)})`);
    }
    where.push(sql`p.latest_version IS NOT NULL`);
    const filter = sql.join(where, sql` AND `);
    if (!q.text) return this.sortedPage(sql`packages p`, sql`p.id`, filter, q);
    const text = await this.textSearch.match(q.text, this.readRows ?? this.rowsOf);
    if (!text) return { rows: [], total: 0, owners: new Map() };
    if (q.sort === 'relevance') return this.rankedSearch(text, filter, q);
    return this.sortedPage(text.from, text.id, sql`${text.where} AND ${filter}`, q);
  }

  /**
   * A relevance-ordered text search, bounded, in one statement: the newest SEARCH_CANDIDATES
   * matches the caller may read (more when the page reaches deeper) are ranked, carrying the
   * columns their order needs, the page is cut from them, and only the page's rows are read in
   * full. A broad query costs the same as a narrow one. The total is exact when the candidates are
   * every match; above that it is estimated (see boundedTotal). The one row of counts is joined to
   * the page, so an empty page still has its total.
   *
   * On PostgreSQL a text that comes with a generic form (see TextMatch.generic) is searched by a
   * statement prepared once per connection (see rankedPrepared), its matches sorted by `id + 0`:
   * an expression, which the primary key's order cannot give, so the plan made once for every text
   * collects them through the text index whatever it guesses of their number.
   */
  private async rankedSearch(text: TextMatch, filter: RawBuilder<unknown>, q: PackageQuery): Promise<Page<PackageRecord> & { owners: Map<number, AccountRecord> }> {
    const bound = Math.max(SEARCH_CANDIDATES, q.offset + q.limit);
    const generic = this.readRows ? text.generic : undefined;
    const n = (count: number) => rowCount(this.dialect, count);
    const statement = sql<PageRow & BoundedCount>`WITH
      c AS MATERIALIZED (SELECT ${text.id} AS id, ${generic?.carry ?? text.carry} AS doc, p.download_count AS downloads
        FROM ${text.candidates ?? text.from} WHERE ${generic?.where ?? text.where} AND ${filter} ORDER BY ${generic ? sql`${text.id} + 0` : text.id} DESC LIMIT ${n(bound)}),
      top AS (SELECT id, ${generic?.rank ?? text.rank} AS rank, downloads FROM c ORDER BY rank, downloads DESC, id LIMIT ${n(q.limit)} OFFSET ${n(q.offset)}),
      s AS (SELECT ${this.boundedCount} FROM c)
      SELECT ${P_COLUMNS}, ${OWNER_COLUMNS}, s.c_count, s.c_min${this.dialect === 'sqlite' ? sql`, s.lo, s.hi` : sql``}
      FROM s LEFT JOIN top ON 1 = 1 LEFT JOIN packages p ON p.id = top.id LEFT JOIN accounts a ON a.id = p.owner_account_id
      ORDER BY top.rank, top.downloads DESC, top.id`;
    const rows = (generic && (await this.rankedPrepared(statement.compile(this.db)))) || (await statement.execute(this.db)).rows;
    return { ...withOwners(rows.filter((r) => r.id !== null)), ...(await this.boundedTotal(rows[0], bound)) };
  }

  /** The names of the ranked searches' prepared statements by their text (see rankedPrepared). */
  private readonly rankedNames = new Map<string, string>();

  /**
   * PostgreSQL: a ranked search's rows by a statement prepared once per pooled connection, as
   * objects of its columns; undefined (run it as any other) once RANKED_STATEMENTS texts have been
   * prepared: a text differs by the filters beside the words, and each stays prepared on every
   * connection.
   */
  private async rankedPrepared(compiled: CompiledQuery): Promise<(PageRow & BoundedCount)[] | undefined> {
    let name = this.rankedNames.get(compiled.sql);
    if (name === undefined) {
      if (this.rankedNames.size >= RANKED_STATEMENTS) return undefined;
      // Named by the text: another repo on the same pool names the same text alike.
      name = `packages.ranked.${createHash('sha256').update(compiled.sql).digest('base64url').slice(0, 22)}`;
      this.rankedNames.set(compiled.sql, name);
    }
    const rows = await this.readRows!(name, compiled.sql, compiled.parameters);
    return rows.map((row) => pick<PageRow & BoundedCount>(row, RANKED_COLUMNS, 0));
  }

  /**
   * A page in one of the listing's orders (no text query: read by the index of its order, migration
   * 0034; a text query: its matches, sorted), its total bounded: the newest SEARCH_CANDIDATES matches
   * (more when the page reaches deeper) are counted as a relevance search counts its candidates, by
   * walking `id` (see TextMatch.id) newest first, and the total is estimated above that.
   */
  private async sortedPage(from: RawBuilder<unknown>, id: RawBuilder<unknown>, matching: RawBuilder<unknown>, q: PackageQuery): Promise<Page<PackageRecord> & { owners: Map<number, AccountRecord> }> {
    const bound = Math.max(SEARCH_CANDIDATES, q.offset + q.limit);
    const page = await sql<PageRow>`SELECT ${P_COLUMNS}, ${OWNER_COLUMNS} FROM ${from} LEFT JOIN accounts a ON a.id = p.owner_account_id
      WHERE ${matching} ORDER BY ${orderBy(q.sort)} LIMIT ${q.limit} OFFSET ${q.offset}`.execute(this.db);
    const newest = await sql<BoundedCount>`SELECT ${this.boundedCount}
      FROM (SELECT ${id} AS id FROM ${from} WHERE ${matching} ORDER BY ${id} DESC LIMIT ${bound}) c`.execute(this.db);
    return { ...withOwners(page.rows), ...(await this.boundedTotal(newest.rows[0], bound)) };
  }

  /**
   * The total of a bounded count: exact when the newest `bound` matches were all there are (fewer
   * than `bound` found); otherwise estimated from how densely those matches fill the id range they
   * span (from the smallest id among them to the newest package): on PostgreSQL read only then.
   */
  private async boundedTotal(count: BoundedCount | undefined, bound: number): Promise<{ total: number; estimated?: true }> {
    const found = Number(count?.c_count ?? 0);
    if (!count || found < bound) return { total: found };
    const [[lo, hi] = []] = count.lo !== undefined ? [[count.lo, count.hi]] : await (this.readRows ?? this.rowsOf)('packages.id_range', ID_RANGE_SQL, []);
    const [first, last] = [Number(lo), Number(hi)];
    return { total: Math.max(found, Math.round((found * (last - first + 1)) / (last - Number(count.c_min) + 1))), estimated: true };
  }

  async countPublished(read?: ReadFilter): Promise<number> {
    const r = await this.db
      .selectFrom('packages as p')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('p.latest_version', 'is not', null)
      .where(readFilterSql(read) as RawBuilder<boolean>)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async listVersions(packageId: number, includeUnpublished: boolean): Promise<VersionRecord[]> {
    const rows = await runCompiled(this.db, `versions.list:${includeUnpublished}`, [packageId], () => {
      const q = this.db.selectFrom('versions').selectAll().where('package_id', '=', packageId);
      return (includeUnpublished ? q : q.where('unpublished_at', 'is', null)).orderBy('id');
    });
    return rows.map(toVersion);
  }

  async versionsWithDigest(digest: string, limit: number): Promise<VersionRecord[]> {
    const rows = await this.db.selectFrom('versions').selectAll().where('digest', '=', digest).where('unpublished_at', 'is', null).orderBy('id').limit(limit).execute();
    return rows.map(toVersion);
  }

  async findVersion(packageId: number, version: string): Promise<VersionRecord | undefined> {
    const [row] = await runCompiled(this.db, 'versions.find', [packageId, version], () =>
      this.db.selectFrom('versions').selectAll().where('package_id', '=', packageId).where('version', '=', version),
    );
    return row && toVersion(row);
  }

  async insertVersion(v: NewVersion): Promise<VersionRecord> {
    const values = {
      package_id: v.packageId,
      version: v.version,
      manifest: JSON.stringify(v.manifest),
      findings: JSON.stringify(v.findings),
      readme: v.readme,
      digest: v.digest,
      size: v.size,
      file_count: v.fileCount,
      unpacked_size: v.unpackedSize,
      deprecated: null,
      published_by: v.publishedBy,
      published_at: v.publishedAt,
      unpublished_at: null,
    };
    const [row] = await runCompiled(this.db, 'versions.insert', Object.values(values), () => this.db.insertInto('versions').values(values).returningAll());
    if (!row) throw new Error(`version ${v.version} of package ${v.packageId} was not inserted`);
    return toVersion(row);
  }

  async replaceVersionContent(versionId: number, c: VersionContent): Promise<void> {
    await this.db
      .updateTable('versions')
      .set({
        manifest: JSON.stringify(c.manifest),
        findings: JSON.stringify(c.findings),
        readme: c.readme,
        digest: c.digest,
        size: c.size,
        file_count: c.fileCount,
        unpacked_size: c.unpackedSize,
        published_by: c.publishedBy,
        published_at: c.publishedAt,
      })
      .where('id', '=', versionId)
      .execute();
  }

  async setDeprecated(versionId: number, message: string | null, at?: string): Promise<void> {
    await this.db
      .updateTable('versions')
      .set(at === undefined ? { deprecated: message } : { deprecated: message, status_changed_at: at })
      .where('id', '=', versionId)
      .execute();
  }

  async markUnpublished(versionId: number, at: string, reason: string | null = null): Promise<void> {
    await this.db.updateTable('versions').set({ unpublished_at: at, unpublish_reason: reason, status_changed_at: at }).where('id', '=', versionId).execute();
  }

  async restoreVersion(versionId: number, at: string): Promise<void> {
    await this.db.updateTable('versions').set({ unpublished_at: null, unpublish_reason: null, status_changed_at: at }).where('id', '=', versionId).execute();
  }

  async browseVersions(q: VersionBrowseQuery): Promise<PackageVersionRecord[]> {
    const where: RawBuilder<unknown>[] = [readFilterSql(q.read)];
    if (q.kind) where.push(sql`p.kind = ${q.kind}`);
    if (!q.includeUnpublished) where.push(sql`v.unpublished_at IS NULL`);
    if (q.version && 'latest' in q.version) where.push(sql`v.version = p.latest_version`);
    if (q.version && 'exact' in q.version) where.push(sql`v.version = ${q.version.exact}`);
    if (q.changedSince) where.push(sql`coalesce(v.status_changed_at, v.published_at) >= ${q.changedSince}`);
    if (q.text) {
      const like = `%${q.text.toLowerCase().replace(/[%_\\]/g, '\\$&')}%`;
      const description = this.dialect === 'postgres' ? sql`(v.manifest::json ->> 'description')` : sql`json_extract(v.manifest, '$.description')`;
      where.push(sql`(p.key LIKE ${like} ESCAPE '\\' OR lower(coalesce(${description}, '')) LIKE ${like} ESCAPE '\\')`);
    }
    if (q.after) where.push(sql`(p.key > ${q.after.key} OR (p.key = ${q.after.key} AND v.id > ${q.after.versionId}))`);
    const vcols = sql.raw(VERSION_COLUMNS.map((c) => `v.${c} AS v_${c}`).join(', '));
    const result = await sql<Record<string, unknown>>`SELECT ${P_COLUMNS}, ${vcols}
      FROM packages p JOIN versions v ON v.package_id = p.id
      WHERE ${sql.join(where, sql` AND `)}
      ORDER BY p.key, v.id LIMIT ${q.limit}`.execute(this.db);
    return result.rows.map((row) => ({
      pkg: toPackage(row as unknown as Selectable<PackagesTable>),
      version: toVersion(unprefix<Selectable<VersionsTable>>(row, 'v_', VERSION_COLUMNS)),
    }));
  }

  async distTags(packageId: number): Promise<Record<string, string>> {
    const rows = await this.db.selectFrom('dist_tags').select(['tag', 'version']).where('package_id', '=', packageId).orderBy('tag').execute();
    return Object.fromEntries(rows.map((r) => [r.tag, r.version]));
  }

  async setDistTag(packageId: number, tag: string, version: string): Promise<void> {
    await this.db
      .insertInto('dist_tags')
      .values({ package_id: packageId, tag, version })
      .onConflict((oc) => oc.columns(['package_id', 'tag']).doUpdateSet({ version }))
      .execute();
  }

  async deleteDistTag(packageId: number, tag: string): Promise<boolean> {
    const r = await this.db.deleteFrom('dist_tags').where('package_id', '=', packageId).where('tag', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async countSession(versionId: number): Promise<void> {
    await this.db
      .updateTable('versions')
      .set({ session_count: sql`session_count + 1` })
      .where('id', '=', versionId)
      .execute();
  }

  async sessionCounts(packageId: number): Promise<Map<number, number>> {
    const rows = await this.db.selectFrom('versions').select(['id', 'session_count']).where('package_id', '=', packageId).execute();
    return new Map(rows.map((r) => [Number(r.id), Number(r.session_count)]));
  }

  async recordDownload(packageId: number, versionId: number, day: string): Promise<void> {
    await this.db
      .insertInto('package_downloads')
      .values({ package_id: packageId, day, count: 1 })
      .onConflict((oc) => oc.columns(['package_id', 'day']).doUpdateSet({ count: sql`package_downloads.count + 1` }))
      .execute();
    await this.db
      .updateTable('versions')
      .set({ download_count: sql`download_count + 1` })
      .where('id', '=', versionId)
      .execute();
    await this.db
      .updateTable('packages')
      .set({ download_count: sql`download_count + 1` })
      .where('id', '=', packageId)
      .execute();
  }

  async ownerStats(ownerAccountId: number, read?: ReadFilter): Promise<{ packages: number; downloads: number }> {
    const r = await this.db
      .selectFrom('packages as p')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum<number | string>('p.download_count').as('d')])
      .where('p.owner_account_id', '=', ownerAccountId)
      .where('p.latest_version', 'is not', null)
      .where(readFilterSql(read) as RawBuilder<boolean>)
      .executeTakeFirstOrThrow();
    return { packages: Number(r.n), downloads: Number(r.d ?? 0) };
  }
}

/**
 * The id range of every package (two subqueries, each one index probe; SQLite reads min and max
 * together by a full scan). PostgreSQL reads it in a statement of its own, only when a bounded
 * count is estimated: planned with every search, the subqueries cost a third of its planning.
 * SQLite plans them for next to nothing and reads them with the count (BOUNDED_COUNT_SQLITE).
 */
const ID_RANGE_SQL = 'SELECT (SELECT min(id) FROM packages), (SELECT max(id) FROM packages)';
/** A bounded count over `c`, the newest matches up to a bound (each with its `id`): how many, and the smallest id among them. */
const BOUNDED_COUNT = sql`count(*) AS c_count, min(id) AS c_min`;
const BOUNDED_COUNT_SQLITE = sql`${BOUNDED_COUNT}, (SELECT min(id) FROM packages) AS lo, (SELECT max(id) FROM packages) AS hi`;
type Id = number | string | null;
type BoundedCount = { c_count: number | string; c_min: Id; lo?: Id; hi?: Id };

/** A listing's order (relevance without a text query: by downloads; with one, see rankedSearch). */
const orderBy = (sort: PackageQuery['sort']): RawBuilder<unknown> => {
  switch (sort) {
    case 'relevance':
      return sql`p.download_count DESC, p.id`;
    case 'stars':
      return sql`p.star_count DESC, p.download_count DESC, p.id`;
    case 'newest':
      return sql`p.updated_at DESC, p.id DESC`;
    case 'name':
      return sql`p.key ASC`;
    case 'downloads':
    default:
      return sql`p.download_count DESC, p.id`;
  }
};
