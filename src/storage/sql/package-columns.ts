import { sql, type RawBuilder } from 'kysely';

/** Every column of `packages` but PostgreSQL's generated `search_vector`, which is never read back. */
export const PACKAGE_COLUMNS = [
  'id',
  'kind',
  'scope',
  'name',
  'key',
  'description',
  'readme',
  'category',
  'tags',
  'license',
  'repository',
  'homepage',
  'latest_version',
  'latest_pinned',
  'download_count',
  'star_count',
  'is_verified',
  'is_featured',
  'owner_account_id',
  'visibility',
  'created_at',
  'updated_at',
] as const;

/** `alias.col, …` for every package column. */
export const packageColumns = (alias: string): RawBuilder<unknown> => sql.raw(PACKAGE_COLUMNS.map((c) => `${alias}.${c}`).join(', '));
