import { sql, type Kysely, type Migration } from 'kysely';

/** The package listing's sort orders (see orderBy in package-repo.ts), each as an index: all packages, then one kind. */
const LIST_INDEXES: [string, string][] = [
  ['packages_list_downloads_idx', 'download_count DESC, id'],
  ['packages_list_stars_idx', 'star_count DESC, download_count DESC, id'],
  ['packages_list_newest_idx', 'updated_at DESC, id DESC'],
  ['packages_list_kind_downloads_idx', 'kind, download_count DESC, id'],
  ['packages_list_kind_stars_idx', 'kind, star_count DESC, download_count DESC, id'],
  ['packages_list_kind_newest_idx', 'kind, updated_at DESC, id DESC'],
  ['packages_list_kind_name_idx', 'kind, key'],
  // The newest matches of one kind, which the listing's total counts (no index needed without a kind: the primary key).
  ['packages_list_kind_id_idx', 'kind, id'],
];

/**
 * 1. The package listing without a text query reads its page by index in every order it offers
 *    (name: the unique `key`, or kind then key), so it no longer sorts every package. The two
 *    indexes these supersede (download_count, id and kind, download_count) go.
 * 2. A model card's `model_id` becomes unique per account (the card's `name`), so two concurrent
 *    creates (two requests, or two processes' first agentspace runs) make one card and the other
 *    gets a 409. Cards earlier servers made twice keep the oldest; each later one is renamed
 *    (`<model_id>~dup<seq>`, in its name and its data) and archived, so nothing is lost.
 */
export const listOrderCardKeysMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await sql`DROP INDEX packages_downloads_idx`.execute(db);
    await sql`DROP INDEX packages_kind_idx`.execute(db);
    for (const [name, columns] of LIST_INDEXES) await sql`CREATE INDEX ${sql.raw(name)} ON packages (${sql.raw(columns)})`.execute(db);

    const keep = sql`SELECT MIN(seq) FROM managed_objects WHERE kind = ${'model_card'} GROUP BY account_id, name`;
    const dups = await sql<{ seq: number | string; name: string; data: string; archived_at: string | null }>`
      SELECT seq, name, data, archived_at FROM managed_objects WHERE kind = ${'model_card'} AND seq NOT IN (${keep})`.execute(db);
    const now = new Date().toISOString();
    for (const d of dups.rows) {
      const name = `${d.name}~dup${d.seq}`;
      const data = { ...(JSON.parse(d.data) as Record<string, unknown>), model_id: name };
      await sql`UPDATE managed_objects SET name = ${name}, data = ${JSON.stringify(data)}, archived_at = ${d.archived_at ?? now}, updated_at = ${now}
        WHERE seq = ${d.seq}`.execute(db);
    }
    await sql`CREATE UNIQUE INDEX managed_objects_model_card_uq ON managed_objects (account_id, name) WHERE kind = 'model_card'`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX managed_objects_model_card_uq`.execute(db);
    for (const [name] of LIST_INDEXES) await sql`DROP INDEX ${sql.raw(name)}`.execute(db);
    await db.schema.createIndex('packages_downloads_idx').on('packages').columns(['download_count', 'id']).execute();
    await db.schema.createIndex('packages_kind_idx').on('packages').columns(['kind', 'download_count']).execute();
  },
});
