import type { Kysely, Migration } from 'kysely';

interface Db {
  oci_repositories: { repo: string; scope: string; owner_account_id: number; visibility: string; agentspace_owner_id: number | null; agentspace_id: string | null; created_at: string };
  oci_manifests: { repo: string; created_at: string };
  oci_tags: { repo: string; updated_at: string };
  oci_blob_links: { repo: string; linked_at: string };
  scopes: { name: string; owner_account_id: number };
}

/**
 * Every OCI repository that is not a package gets an owner and a visibility of its own (issue 12):
 * set at its first push from the scope's default visibility, or from the agentspace published
 * into it (`agentspace_owner_id`, `agentspace_id`), whose later visibility changes follow.
 * Repositories already there were public (every repository was): they stay so.
 */
export const ociRepositoriesMigration = (): Migration => ({
  async up(untyped: Kysely<unknown>) {
    const db = untyped as Kysely<Db>;
    await db.schema
      .createTable('oci_repositories')
      .addColumn('repo', 'text', (c) => c.primaryKey())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('owner_account_id', 'integer', (c) => c.notNull())
      .addColumn('visibility', 'text', (c) => c.notNull())
      .addColumn('agentspace_owner_id', 'integer')
      .addColumn('agentspace_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('oci_repositories_visibility_idx').on('oci_repositories').columns(['visibility', 'owner_account_id']).execute();
    await db.schema.createIndex('oci_repositories_agentspace_idx').on('oci_repositories').columns(['agentspace_owner_id', 'agentspace_id']).execute();

    const seen = new Map<string, string>();
    for (const [table, column] of [
      ['oci_manifests', 'created_at'],
      ['oci_tags', 'updated_at'],
      ['oci_blob_links', 'linked_at'],
    ] as const) {
      const rows = await db
        .selectFrom(table)
        .select(['repo', `${column} as at`])
        .execute();
      for (const r of rows as Array<{ repo: string; at: string }>) {
        const before = seen.get(r.repo);
        if (before === undefined || r.at < before) seen.set(r.repo, r.at);
      }
    }
    for (const [repo, at] of seen) {
      const name = repo.split('/')[0];
      const scope = await db.selectFrom('scopes').select('owner_account_id').where('name', '=', name).executeTakeFirst();
      if (!scope) continue;
      await db
        .insertInto('oci_repositories')
        .values({ repo, scope: name, owner_account_id: scope.owner_account_id, visibility: 'public', agentspace_owner_id: null, agentspace_id: null, created_at: at })
        .execute();
    }
  },
});
