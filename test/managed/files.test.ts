import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/server.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';

const blobFiles = (dataDir: string): string[] => {
  const dir = join(dataDir, 'blobs', 'tmp');
  return existsSync(dir) ? readdirSync(dir) : [];
};

const upload = (fields: Record<string, string | Blob>, file?: { data: string | Uint8Array; name: string; type?: string; field?: string }) => {
  const form = new FormData();
  if (file) form.set(file.field ?? 'file', new Blob([file.data], { type: file.type ?? 'application/octet-stream' }), file.name);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return form;
};

describe.each(testStores)('managed files (%s)', (store) => {
  let f: ManagedFixture;
  beforeAll(async () => {
    f = await startManagedFixture(store, { limits: { maxFileBytes: 64 * 1024 } });
  });
  afterAll(() => f?.server.close());

  it('uploads, lists across pages, reads metadata, downloads and deletes through the SDK', async () => {
    const bytes = Buffer.from('col_a,col_b\n1,2\n');
    const up = await f.sdk.beta.files.upload({ file: await toFile(bytes, 'data.csv', { type: 'text/csv' }) });
    expect(up).toMatchObject({ type: 'file', filename: 'data.csv', mime_type: 'text/csv', size_bytes: bytes.length, downloadable: true, expires_at: null });
    expect(up.id).toMatch(/^file_/);
    const meta = await f.sdk.beta.files.retrieveMetadata(up.id);
    expect(meta).toMatchObject({ id: up.id, filename: 'data.csv', size_bytes: bytes.length });
    const res = await f.sdk.beta.files.download(up.id);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);

    for (let i = 0; i < 4; i++) await f.sdk.beta.files.upload({ file: await toFile(Buffer.from(`file ${i}`), `f${i}.txt`) });
    const names: string[] = [];
    for await (const file of f.sdk.beta.files.list({ limit: 2 })) names.push(file.filename);
    expect(names.slice(0, 5)).toEqual(['f3.txt', 'f2.txt', 'f1.txt', 'f0.txt', 'data.csv']);

    expect(await f.sdk.beta.files.delete(up.id)).toMatchObject({ id: up.id, type: 'file_deleted' });
    await expect(f.sdk.beta.files.retrieveMetadata(up.id)).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("serves 002's routes: upload with session_id, GET bytes without Accept: application/json, delete", async () => {
    const body = new Uint8Array([0, 1, 2, 250, 255]);
    const up = await f.alice.req('POST', '/v1/files', upload({ session_id: 'sess_123' }, { data: body, name: 'blob.bin' }));
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ filename: 'blob.bin', size_bytes: 5, scope: { type: 'session', id: 'sess_123' }, session_id: 'sess_123' });
    const raw = await fetch(`${f.server.url}/v1/files/${up.body.id}`, { headers: { 'x-api-key': f.aliceToken } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('request-id')).toMatch(/^req_/);
    expect(raw.headers.get('content-disposition')).toContain('blob.bin');
    expect(new Uint8Array(await raw.arrayBuffer())).toEqual(body);
    const content = await fetch(`${f.server.url}/v1/files/${up.body.id}/content`, { headers: { 'x-api-key': f.aliceToken, accept: 'application/json' } });
    expect(new Uint8Array(await content.arrayBuffer())).toEqual(body);
    const listed = await f.alice.req('GET', '/v1/files?session_id=sess_123');
    expect(listed.body.data.map((x: any) => x.id)).toEqual([up.body.id]);
    expectManagedError(await f.bob.req('GET', `/v1/files/${up.body.id}`, undefined, { accept: 'application/json' }), 404, 'not_found_error');
    // Blob garbage collection keeps a live file's bytes and removes them once the file is deleted.
    expect((await f.admin.req('POST', '/api/v1/admin/gc', { grace_seconds: 0 })).status).toBe(200);
    expect((await fetch(`${f.server.url}/v1/files/${up.body.id}/content`, { headers: { 'x-api-key': f.aliceToken } })).status).toBe(200);
    expect((await f.alice.req('DELETE', `/v1/files/${up.body.id}`)).status).toBe(200);
    expectManagedError(await f.alice.req('GET', `/v1/files/${up.body.id}`, undefined, { accept: 'application/json' }), 404, 'not_found_error');
    const gc = await f.admin.req('POST', '/api/v1/admin/gc', { grace_seconds: 0 });
    expect(gc.body.removed).toContain(`sha256:${createHash('sha256').update(body).digest('hex')}`);
    expectManagedError(await f.alice.req('DELETE', `/v1/files/${up.body.id}`), 404, 'not_found_error');
  });

  it('honours expires_in_seconds', async () => {
    const up = await f.alice.req('POST', '/v1/files', upload({ expires_in_seconds: '1' }, { data: 'short-lived', name: 'tmp.txt' }));
    expect(up.status).toBe(200);
    expect(Date.parse(up.body.expires_at) - Date.parse(up.body.created_at)).toBe(1000);
    expect((await f.alice.req('GET', `/v1/files/${up.body.id}/content`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expectManagedError(await f.alice.req('GET', `/v1/files/${up.body.id}/content`), 404, 'not_found_error', /expired/);
    expect((await f.alice.req('GET', '/v1/files?limit=100')).body.data.map((x: any) => x.id)).not.toContain(up.body.id);
  });

  it('refuses a file over the size limit (413) and bad uploads (400), keeping nothing', async () => {
    const before = (await f.alice.req('GET', '/v1/files?limit=100')).body.data.length;
    const big = await f.alice.req('POST', '/v1/files', upload({}, { data: new Uint8Array(200 * 1024), name: 'big.bin' }));
    expectManagedError(big, 413, 'request_too_large');
    await expect(f.sdk.beta.files.upload({ file: await toFile(new Uint8Array(100 * 1024), 'big2.bin') })).rejects.toMatchObject({ status: 413 });
    expectManagedError(await f.alice.req('POST', '/v1/files', upload({ session_id: 's' })), 400, 'invalid_request_error', /Missing the file/);
    expectManagedError(await f.alice.req('POST', '/v1/files', upload({}, { data: 'x', name: 'x', field: 'other' })), 400, 'invalid_request_error', /Unexpected file field/);
    expectManagedError(await f.alice.req('POST', '/v1/files', upload({ expires_in_seconds: 'soon' }, { data: 'x', name: 'x.txt' })), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('POST', '/v1/files', { not: 'multipart' }), 415, 'invalid_request_error', /multipart/);
    expect((await f.alice.req('GET', '/v1/files?limit=100')).body.data.length).toBe(before);
    expect(blobFiles(f.server.dataDir)).toEqual([]);
    expectManagedError(await f.alice.with(undefined).req('POST', '/v1/files', upload({}, { data: 'x', name: 'x.txt' })), 401, 'authentication_error');
  });
});
