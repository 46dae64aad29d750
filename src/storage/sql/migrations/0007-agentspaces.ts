import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

/**
 * The encrypted secret store (values and the verifiers of the root keys that encrypt them) and
 * agentspaces (Alquimia's 000): agent configs, secret definitions and parameter definitions.
 * In the agentspace tables '' stands for "none" in key columns (a global secret has no
 * agentspace, a shared one no assistant), so primary keys stay plain.
 */
export const agentspacesMigration = (_dialect: SqlDialectName): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('secret_values')
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('namespace', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('ciphertext', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('secret_values_pk', ['owner', 'namespace', 'key'])
      .execute();
    await db.schema.createIndex('secret_values_key_id_idx').on('secret_values').column('key_id').execute();

    await db.schema
      .createTable('secret_root_keys')
      .addColumn('key_id', 'text', (c) => c.primaryKey())
      .addColumn('verifier', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('retired_at', 'text')
      .execute();

    await db.schema
      .createTable('agentspaces')
      .addColumn('owner_account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('agentspace_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('namespace', 'text', (c) => c.notNull())
      .addColumn('tag', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('visibility', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('source_repo_id', 'text')
      .addColumn('on_hold', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('agentspaces_pk', ['owner_account_id', 'agentspace_id'])
      .addUniqueConstraint('agentspaces_name_uq', ['owner_account_id', 'name', 'namespace'])
      .execute();

    await db.schema
      .createTable('agentspace_agents')
      .addColumn('owner_account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('agentspace_id', 'text', (c) => c.notNull())
      .addColumn('assistant_id', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('validated', 'integer', (c) => c.notNull())
      .addColumn('errors', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('agentspace_agents_pk', ['owner_account_id', 'agentspace_id', 'assistant_id'])
      .execute();

    await db.schema
      .createTable('agentspace_secrets')
      .addColumn('owner_account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('agentspace_id', 'text', (c) => c.notNull())
      .addColumn('assistant_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('agentspace_secrets_pk', ['owner_account_id', 'agentspace_id', 'assistant_id', 'key'])
      .execute();

    await db.schema
      .createTable('agentspace_parameters')
      .addColumn('owner_account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('agentspace_id', 'text', (c) => c.notNull())
      .addColumn('assistant_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('definition', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('agentspace_parameters_pk', ['owner_account_id', 'agentspace_id', 'assistant_id', 'key'])
      .execute();
  },
});
