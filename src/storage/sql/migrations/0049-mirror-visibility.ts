import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Each mirror's visibility (core/mirrors/mirror.ts): who may read what it brings in. Before, every
 * mirror republished its upstream's objects as public, whatever its login could read upstream. A
 * mirror with a login (which may read the upstream's private or internal objects) becomes
 * `private`, with the packages it fetched and their scopes' default (their documents are dropped, to
 * be rendered again); one without a login stays `public`, what its upstream serves to anyone. An
 * administrator opens one again with `PATCH /api/v1/mirrors/:name` (`agentry mirror update`).
 */
export const mirrorVisibilityMigration = (): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('mirrors')
      .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('public'))
      .execute();
    await sql`UPDATE mirrors SET visibility = 'private' WHERE has_password = 1`.execute(db);
    const scopes = sql`SELECT ms.scope FROM mirror_scopes ms JOIN mirrors m ON m.name = ms.mirror WHERE m.visibility = 'private'`;
    await sql`DELETE FROM package_documents WHERE package_id IN (SELECT id FROM packages WHERE lower(scope) IN (${scopes}))`.execute(db);
    await sql`UPDATE packages SET visibility = 'private' WHERE lower(scope) IN (${scopes})`.execute(db);
    await sql`UPDATE scopes SET default_visibility = 'private' WHERE lower(name) IN (${scopes})`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await db.schema.alterTable('mirrors').dropColumn('visibility').execute();
  },
});
