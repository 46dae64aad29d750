import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/** Accounts, scopes, tokens, packages, versions, dist-tags, download counts, audit log, search. */
export const coreMigration = (dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    const pg = dialect === 'postgres';
    const idType = pg ? 'serial' : 'integer';
    const id = (c: { primaryKey(): { autoIncrement(): unknown } }) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement());

    await db.schema
      .createTable('accounts')
      .addColumn('id', idType, (c) => id(c) as typeof c)
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('display_name', 'text')
      .addColumn('email', 'text')
      .addColumn('avatar_url', 'text')
      .addColumn('bio', 'text')
      .addColumn('website', 'text')
      .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('org_members')
      .addColumn('org_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('user_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('org_members_pk', ['org_id', 'user_id'])
      .execute();
    await db.schema.createIndex('org_members_user_idx').on('org_members').column('user_id').execute();

    await db.schema
      .createTable('scopes')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('owner_account_id', 'integer', (c) => c.notNull().references('accounts.id'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('scopes_owner_idx').on('scopes').column('owner_account_id').execute();

    await db.schema
      .createTable('tokens')
      .addColumn('id', idType, (c) => id(c) as typeof c)
      .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull().unique())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('permission', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text')
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('last_used_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tokens_account_idx').on('tokens').column('account_id').execute();

    await db.schema
      .createTable('packages')
      .addColumn('id', idType, (c) => id(c) as typeof c)
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text')
      .addColumn('readme', 'text')
      .addColumn('category', 'text')
      .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('license', 'text')
      .addColumn('repository', 'text')
      .addColumn('homepage', 'text')
      .addColumn('latest_version', 'text')
      .addColumn('latest_pinned', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('download_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('star_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('is_verified', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('is_featured', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('owner_account_id', 'integer', (c) => c.notNull().references('accounts.id'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('packages_scope_idx').on('packages').column('scope').execute();
    await db.schema.createIndex('packages_downloads_idx').on('packages').columns(['download_count', 'id']).execute();
    await db.schema.createIndex('packages_updated_idx').on('packages').column('updated_at').execute();
    await db.schema.createIndex('packages_owner_idx').on('packages').column('owner_account_id').execute();
    await db.schema.createIndex('packages_kind_idx').on('packages').columns(['kind', 'download_count']).execute();
    await db.schema.createIndex('packages_category_idx').on('packages').column('category').execute();

    await db.schema
      .createTable('versions')
      .addColumn('id', idType, (c) => id(c) as typeof c)
      .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('manifest', 'text', (c) => c.notNull())
      .addColumn('readme', 'text')
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('file_count', 'integer', (c) => c.notNull())
      .addColumn('unpacked_size', 'integer', (c) => c.notNull())
      .addColumn('deprecated', 'text')
      .addColumn('download_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('published_by', 'integer', (c) => c.references('accounts.id'))
      .addColumn('published_at', 'text', (c) => c.notNull())
      .addColumn('unpublished_at', 'text')
      .addUniqueConstraint('versions_package_version_uq', ['package_id', 'version'])
      .execute();
    await db.schema.createIndex('versions_digest_idx').on('versions').column('digest').execute();

    await db.schema
      .createTable('dist_tags')
      .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
      .addColumn('tag', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('dist_tags_pk', ['package_id', 'tag'])
      .execute();

    await db.schema
      .createTable('package_downloads')
      .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('package_downloads_pk', ['package_id', 'day'])
      .execute();
    await db.schema.createIndex('package_downloads_day_idx').on('package_downloads').column('day').execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('id', idType, (c) => id(c) as typeof c)
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('actor', 'text')
      .addColumn('token_id', 'integer')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('details', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_at_idx').on('audit_log').column('at').execute();
    await db.schema.createIndex('audit_log_actor_idx').on('audit_log').column('actor').execute();

    if (pg) {
      await sql`ALTER TABLE packages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('simple', coalesce(scope, '') || ' ' || coalesce(name, '')), 'A') ||
          setweight(to_tsvector('simple', coalesce(description, '')), 'B') ||
          setweight(to_tsvector('simple', coalesce(tags, '')), 'B') ||
          setweight(to_tsvector('simple', left(coalesce(readme, ''), 200000)), 'D')
        ) STORED`.execute(db);
      await sql`CREATE INDEX packages_search_idx ON packages USING GIN (search_vector)`.execute(db);
    } else {
      await sql`CREATE VIRTUAL TABLE package_fts USING fts5(
          scope, name, description, tags, readme,
          content='packages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')`.execute(db);
      await sql`CREATE TRIGGER packages_fts_ai AFTER INSERT ON packages BEGIN
          INSERT INTO package_fts(rowid, scope, name, description, tags, readme)
          VALUES (new.id, new.scope, new.name, new.description, new.tags, new.readme);
        END`.execute(db);
      await sql`CREATE TRIGGER packages_fts_ad AFTER DELETE ON packages BEGIN
          INSERT INTO package_fts(package_fts, rowid, scope, name, description, tags, readme)
          VALUES ('delete', old.id, old.scope, old.name, old.description, old.tags, old.readme);
        END`.execute(db);
      await sql`CREATE TRIGGER packages_fts_au AFTER UPDATE OF scope, name, description, tags, readme ON packages BEGIN
          INSERT INTO package_fts(package_fts, rowid, scope, name, description, tags, readme)
          VALUES ('delete', old.id, old.scope, old.name, old.description, old.tags, old.readme);
          INSERT INTO package_fts(rowid, scope, name, description, tags, readme)
          VALUES (new.id, new.scope, new.name, new.description, new.tags, new.readme);
        END`.execute(db);
    }
  },
});
