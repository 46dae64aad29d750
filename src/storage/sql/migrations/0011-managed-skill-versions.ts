import { randomBytes } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../dialect.js';

interface Tables {
  managed_objects: {
    seq?: number;
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
  packages: { id: number; kind: string; scope: string; name: string; visibility: string };
  versions: { package_id: number; version: string; manifest: string; digest: string; size: number; published_at: string; unpublished_at: string | null };
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const newId = (): string => `skillver_${[...randomBytes(24)].map((b) => ALPHABET[b % 62]).join('')}`;

/**
 * Managed skills become private managed objects (issue 12 point 2). Servers before this kept
 * each managed skill's versions as a public skill package `@<account>/<name>`; this copies every
 * live version into a `skill_version` object of the skill (same bytes, same digest) and makes
 * that package private to its account, so no package door shows it to anyone else. The package
 * itself stays (its owner may unpublish it, or make it public on purpose with `agentry access set`).
 */
export const managedSkillVersionsMigration = (_dialect: SqlDialectName): Migration => ({
  async up(raw: Kysely<unknown>) {
    const db = raw as Kysely<Tables>;
    const skills = await db.selectFrom('managed_objects').selectAll().where('kind', '=', 'skill').execute();
    for (const skill of skills) {
      const data = JSON.parse(skill.data) as { scope?: unknown; name?: unknown; description?: unknown };
      if (typeof data.scope !== 'string' || typeof data.name !== 'string') continue;
      const pkg = await db.selectFrom('packages').select(['id']).where('kind', '=', 'skill').where('scope', '=', data.scope).where('name', '=', data.name).executeTakeFirst();
      if (!pkg) continue;
      const versions = await db.selectFrom('versions').selectAll().where('package_id', '=', pkg.id).where('unpublished_at', 'is', null).execute();
      for (const v of versions) {
        let description = typeof data.description === 'string' ? data.description : '';
        try {
          const manifest = JSON.parse(v.manifest) as { description?: unknown };
          if (typeof manifest.description === 'string') description = manifest.description;
        } catch {
          /* keep the skill's description */
        }
        await db
          .insertInto('managed_objects')
          .values({
            id: newId(),
            kind: 'skill_version',
            account_id: skill.account_id,
            parent_id: skill.id,
            ref_id: null,
            name: `${skill.id}@${v.version}`,
            digest: v.digest,
            version: 0,
            data: JSON.stringify({ version: v.version, name: data.name, description, size: Number(v.size) }),
            archived_at: null,
            expires_at: null,
            created_at: v.published_at,
            updated_at: v.published_at,
          })
          .execute();
      }
      // A built-in skill was meant for every account; an uploaded one only for its owner.
      if (skill.parent_id !== 'builtin') await db.updateTable('packages').set({ visibility: 'private' }).where('id', '=', pkg.id).execute();
    }
  },
});
