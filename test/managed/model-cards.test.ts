import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/server.js';
import { startFakeProviders, type FakeProviders } from './fake-providers.js';
import { expectManagedError, startManagedFixture, type ManagedFixture } from './managed-harness.js';

const KEY = 'sk-ant-api03-MODELCARDKEY-9f3a';

describe.each(testStores)('managed model cards (%s)', (store) => {
  let f: ManagedFixture;
  let prov: FakeProviders;
  let runtimeToken: string;
  beforeAll(async () => {
    prov = await startFakeProviders(KEY);
    f = await startManagedFixture(store, { egressAllow: '127.0.0.1' });
    const rt = await f.admin.req('POST', '/api/v1/tokens', { name: 'worker', permission: 'runtime', account: 'alice' });
    expect(rt.status).toBe(201);
    runtimeToken = rt.body.token;
  });
  afterAll(async () => {
    await f?.server.close();
    await prov?.close();
  });

  it('adds cards for each provider after a capability probe, lists only the last 4 of the key', async () => {
    const ant = await f.alice.req('POST', '/v1/model_cards', {
      model_id: 'my-anthropic',
      provider: 'ant-compatible',
      model: 'claude-sonnet-4-6',
      base_url: `${prov.url}/ant`,
      custom_headers: { 'x-extra': 'extra-value' },
      api_key: KEY,
    });
    expect(ant.status).toBe(200);
    expect(ant.body).toMatchObject({ type: 'model_card', model_id: 'my-anthropic', provider: 'ant-compatible', api_key_last4: '9f3a', custom_header_names: ['x-extra'] });
    expect(prov.seen.at(-1)!.headers['x-extra']).toBe('extra-value');
    const oai = await f.alice.req('POST', '/v1/model_cards', { model_id: 'local', provider: 'oai-compatible', model: 'local-llama', base_url: `${prov.url}/oai/v1`, api_key: KEY });
    expect(oai.status).toBe(200);
    const list = await f.alice.req('GET', '/v1/model_cards');
    expect(list.body.data.map((c: any) => c.model_id)).toEqual(['local', 'my-anthropic']);
    expect(list.body.data[0].api_key_preview).toBe('…9f3a');
    for (const body of [ant.body, oai.body, list.body, (await f.alice.req('GET', `/v1/model_cards/${ant.body.id}`)).body]) {
      expect(JSON.stringify(body)).not.toContain(KEY);
      expect(JSON.stringify(body)).not.toContain('extra-value');
    }
    expectManagedError(
      await f.alice.req('POST', '/v1/model_cards', { model_id: 'local', provider: 'oai-compatible', model: 'local-llama', base_url: `${prov.url}/oai/v1`, api_key: KEY }),
      409,
      'conflict_error',
    );
  });

  it('makes one card of concurrent creates with one model_id; the others answer 409', async () => {
    const create = () => f.alice.req('POST', '/v1/model_cards', { model_id: 'raced', provider: 'oai-compatible', model: 'local-llama', base_url: `${prov.url}/oai/v1`, api_key: KEY });
    // Each create probes the provider before it writes, so all of them pass the early check before any inserts.
    const answers = await Promise.all([create(), create(), create(), create()]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409]);
    for (const a of answers.filter((x) => x.status === 409)) expectManagedError(a, 409, 'conflict_error', /model_id 'raced'/);
    const cards = (await f.alice.req('GET', '/v1/model_cards')).body.data.filter((c: any) => c.model_id === 'raced');
    expect(cards.map((c: any) => c.id)).toEqual([answers.find((a) => a.status === 200)!.body.id]);
    // The winner's key is the one stored (the losers' keys were removed with their rows).
    const key = await f.alice.with(runtimeToken).req('GET', `/v1/model_cards/${cards[0].id}/key`);
    expect(key.body.api_key).toBe(KEY);
    expect((await f.alice.req('DELETE', `/v1/model_cards/${cards[0].id}`)).status).toBe(200);
  });

  it('fails loudly on a bad key, a bad URL, a missing model or a bad provider, writing nothing', async () => {
    const before = (await f.alice.req('GET', '/v1/model_cards')).body.data.length;
    const bad = await f.alice.req('POST', '/v1/model_cards', { model_id: 'bad', provider: 'ant-compatible', model: 'claude-sonnet-4-6', base_url: `${prov.url}/ant`, api_key: 'sk-wrong-1234' });
    expectManagedError(bad, 400, 'invalid_request_error', /key was refused \(HTTP 401\)/);
    expect(JSON.stringify(bad.body)).not.toContain('sk-wrong');
    expectManagedError(
      await f.alice.req('POST', '/v1/model_cards', { model_id: 'bad', provider: 'oai-compatible', model: 'gpt-4o', base_url: 'http://127.0.0.1:1/v1', api_key: KEY }),
      400,
      'invalid_request_error',
      /unreachable/,
    );
    expectManagedError(
      await f.alice.req('POST', '/v1/model_cards', { model_id: 'bad', provider: 'oai-compatible', model: 'gpt-9', base_url: `${prov.url}/oai/v1`, api_key: KEY }),
      400,
      'invalid_request_error',
      /model 'gpt-9' is not offered \(it offers gpt-4o, local-llama\)/,
    );
    expectManagedError(await f.alice.req('POST', '/v1/model_cards', { model_id: 'bad', provider: 'acme', model: 'm', api_key: KEY }), 400, 'invalid_request_error');
    expectManagedError(await f.alice.req('POST', '/v1/model_cards', { model_id: 'bad', provider: 'oai-compatible', model: 'm', api_key: KEY }), 400, 'invalid_request_error', /base_url is required/);
    expectManagedError(
      await f.alice.req('POST', '/v1/model_cards', {
        model_id: 'bad',
        provider: 'oai-compatible',
        model: 'gpt-4o',
        base_url: `${prov.url}/oai/v1`,
        api_key: KEY,
        custom_headers: { authorization: 'x' },
      }),
      400,
      'invalid_request_error',
    );
    expect((await f.alice.req('GET', '/v1/model_cards')).body.data.length).toBe(before);
  });

  it('rotates a key (probed first) and hands the key only to runtime tokens', async () => {
    const card = (await f.alice.req('GET', '/v1/model_cards')).body.data.find((c: any) => c.model_id === 'my-anthropic');
    expectManagedError(await f.alice.req('POST', `/v1/model_cards/${card.id}`, { api_key: 'sk-rotated-bad-0000' }), 400, 'invalid_request_error', /refused/);
    expect((await f.alice.req('GET', `/v1/model_cards/${card.id}`)).body.api_key_last4).toBe('9f3a');
    const rotated = await f.alice.req('POST', `/v1/model_cards/${card.id}`, { model: 'claude-haiku-4-5' });
    expect(rotated.status).toBe(200);
    expect(rotated.body.model).toBe('claude-haiku-4-5');

    expectManagedError(await f.alice.req('GET', `/v1/model_cards/${card.id}/key`), 403, 'permission_error', /runtime/);
    expectManagedError(await f.admin.req('GET', `/v1/model_cards/${card.id}/key`), 403, 'permission_error');
    expectManagedError(await f.alice.with(undefined).req('GET', `/v1/model_cards/${card.id}/key`), 401, 'authentication_error');
    const key = await f.alice.with(runtimeToken).req('GET', `/v1/model_cards/${card.id}/key`);
    expect(key.status).toBe(200);
    expect(key.body).toMatchObject({ api_key: KEY, custom_headers: { 'x-extra': 'extra-value' }, provider: 'ant-compatible', model: 'claude-haiku-4-5' });
    expect(key.headers.get('cache-control')).toBe('no-store');

    expectManagedError(await f.bob.req('DELETE', `/v1/model_cards/${card.id}`), 404, 'not_found_error');
    expect((await f.alice.req('DELETE', `/v1/model_cards/${card.id}`)).status).toBe(200);
    expectManagedError(await f.alice.req('GET', `/v1/model_cards/${card.id}`), 404, 'not_found_error');
    expectManagedError(await f.alice.with(runtimeToken).req('GET', `/v1/model_cards/${card.id}/key`), 404, 'not_found_error');
    for (const [method, path] of [
      ['GET', '/v1/model_cards'],
      ['POST', '/v1/model_cards'],
      ['POST', `/v1/model_cards/${card.id}`],
      ['DELETE', `/v1/model_cards/${card.id}`],
    ]) {
      expectManagedError(await f.alice.with(undefined).req(method, path, method === 'POST' ? { model_id: 'x' } : undefined), 401, 'authentication_error');
    }
  });
});

describe('model card capability probe time limit', () => {
  let f: ManagedFixture;
  let prov: FakeProviders;
  beforeAll(async () => {
    prov = await startFakeProviders(KEY);
    f = await startManagedFixture('sqlite', { egressAllow: '127.0.0.1' });
  });
  afterAll(async () => {
    await f?.server.close();
    await prov?.close();
  });

  it('gives up after 6 seconds', async () => {
    const started = Date.now();
    const r = await f.alice.req('POST', '/v1/model_cards', { model_id: 'slow', provider: 'oai-compatible', model: 'gpt-4o', base_url: `${prov.url}/hang/v1`, api_key: KEY });
    const took = Date.now() - started;
    expectManagedError(r, 400, 'invalid_request_error', /no answer within 6 seconds/);
    expect(took).toBeGreaterThanOrEqual(5_900);
    expect(took).toBeLessThan(9_000);
  });
});
