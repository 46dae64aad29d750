import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Api } from '../helpers/packages.js';
import { onStore } from '../helpers/on-store.js';
import { dropTestSchema } from '../helpers/postgres.js';
import { startTestServer, testStores } from '../helpers/server.js';
import { startFakeProviders } from '../managed/fake-providers.js';

const KEY = 'sk-ant-api03-MIGRATIONKEY-77aa';

describe.each(testStores)('model card keys migration 0034 (%s)', (store) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agentry-cardkeys-'));
  const schema = store === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('keeps the oldest of cards a race made twice for one model_id, renames and archives the others', async () => {
    const prov = await startFakeProviders(KEY);
    const opts = { store, dataDir, adminToken, postgresSchema: schema, egressAllow: '127.0.0.1' };
    let server = await startTestServer(opts);
    try {
      const admin = new Api(server.url, server.adminToken);
      const token = (await admin.req('POST', '/api/v1/users', { username: 'alice' })).body.token as string;
      const card = { model_id: 'twice', provider: 'oai-compatible', model: 'local-llama', base_url: `${prov.url}/oai/v1`, api_key: KEY };
      const first = await admin.with(token).req('POST', '/v1/model_cards', card);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      await server.close();

      // The store as a server before 0034 left it after a race: the card twice under one model_id.
      await onStore(store, dataDir, schema, [
        "DELETE FROM agentry_migrations WHERE name = '0034-list-order-card-keys'",
        'DROP INDEX managed_objects_model_card_uq',
        ...[
          'packages_list_downloads_idx',
          'packages_list_stars_idx',
          'packages_list_newest_idx',
          'packages_list_kind_downloads_idx',
          'packages_list_kind_stars_idx',
          'packages_list_kind_newest_idx',
          'packages_list_kind_name_idx',
          'packages_list_kind_id_idx',
        ].map((i) => `DROP INDEX ${i}`),
        'CREATE INDEX packages_downloads_idx ON packages (download_count, id)',
        'CREATE INDEX packages_kind_idx ON packages (kind, download_count)',
        `INSERT INTO managed_objects (id, kind, account_id, parent_id, ref_id, name, digest, version, data, archived_at, expires_at, created_at, updated_at)
         SELECT 'mc_racedcopy', kind, account_id, parent_id, ref_id, name, digest, version, data, archived_at, expires_at, created_at, updated_at
         FROM managed_objects WHERE kind = 'model_card'`,
      ]);
      server = await startTestServer(opts);
      const alice = new Api(server.url, token);
      const cards = (await alice.req('GET', '/v1/model_cards')).body.data as { id: string; model_id: string }[];
      expect(cards).toHaveLength(2);
      const kept = cards.find((c) => c.id === first.body.id)!;
      expect(kept.model_id).toBe('twice');
      const copy = cards.find((c) => c.id === 'mc_racedcopy')!;
      expect(copy.model_id).toMatch(/^twice~dup\d+$/);
      // It stays readable (nothing is lost), under its new name.
      expect((await alice.req('GET', `/v1/model_cards/${copy.id}`)).body.model_id).toBe(copy.model_id);
      // The kept card holds the model_id: another create is a conflict.
      const again = await alice.req('POST', '/v1/model_cards', card);
      expect(again.status).toBe(409);
    } finally {
      await server.close();
      await prov.close();
    }
  });
});
