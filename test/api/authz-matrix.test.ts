import Database from 'better-sqlite3';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleAgent } from '../helpers/alquimia.js';
import { startFakeProviders, type FakeProviders } from '../managed/fake-providers.js';
import { EMPTY_CONFIG, imageManifest, sha256 } from '../helpers/oci.js';
import { Api, agentTarball, makeTarball } from '../helpers/packages.js';
import { praisonBundle } from '../helpers/praison-bundle.js';
import { startTestServer, testStores, type TestServer } from '../helpers/server.js';
import { createRequire } from 'node:module';
import { generateKeyPairSync } from 'node:crypto';
import { signPackage } from '../../src/cli/signing.js';
import { realpathSync } from 'node:fs';
import http from 'node:http';

/**
 * The authorization matrix (issue 12). Every state-changing route the server registers (its own
 * route table, not a hand list) has an entry below saying how to build a valid request against
 * an object owned by account A (`amy`, owner of org O `orga`). Each entry is sent by nine
 * callers who may not change that object (the issue's eight, and a `member` of O); each must be refused (401, 403 or 404, as the door
 * does) and the store — every table of the database and every file of the data folder — must be
 * exactly as before. Then the owner's own request must succeed and change the store, so that no
 * entry passes because its request was malformed. A route without an entry fails the test.
 */

const CALLERS = [
  'no token',
  'malformed token',
  'revoked token of A',
  'expired token of A',
  'read-only token of A',
  'token of another account B',
  'maintainer of another org P',
  'runtime token',
  'member of O (read role)',
] as const;
type Caller = (typeof CALLERS)[number];
/** Callers that are another account: for them a route that creates in the caller's own space is no refusal. */
const OTHERS: Caller[] = ['token of another account B', 'maintainer of another org P', 'member of O (read role)'];

interface Req {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

interface World {
  server: TestServer;
  admin: Api;
  /** A: `amy`, owner of org `orga`, with a publish token. */
  amy: Api;
  providers: FakeProviders;
  host: string;
}

interface Entry {
  /** Creates what the request needs, once, owned by A (or O); its result is handed to `request`. */
  setup?: (w: World) => Promise<any>;
  request: (w: World, s: any) => Req;
  /** Who the request belongs to (the positive control): A by default, or the administrator for admin routes. */
  actor?: 'amy' | 'admin';
  /** The owner's answer (default: any 2xx). */
  ok?: number[];
  /** Set when the owner's request may leave the store as it was, with the reason. */
  mayChangeNothing?: string;
  /**
   * Callers for whom the request acts on their own space (creating their own object), with
   * the reason: their request is not aimed at A's objects, so it is not a refusal case.
   */
  ownSpace?: string;
  /**
   * An OCI route: also send each caller's request with its token as a Basic password, and with
   * the registry token the Docker token flow (`GET /v2/token`) grants it for this repository.
   */
  ociRepository?: (s: any) => string;
  /** Callers refused on this route only: a maintainer of O may publish, but manages no member. */
  alsoRefused?: ExtraCaller[];
}

type ExtraCaller = 'maintainer of O';

/** A POST, PUT, PATCH or DELETE route that changes nothing, or is open to everyone by design: why. */
interface Exempt {
  exempt: string;
}

const json = (method: string, path: string, body?: unknown): Req => ({ method, path, body });
/** The key the signature entries sign with (and @orga comes to trust). */
const SIGNING_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const OWN_CREATE = "creates an object in the caller's own account; nothing of A is addressed";

// ---- packages of every kind (native door) ---------------------------------------------------

const KINDS = ['agents', 'skills', 'mcp-servers', 'recipes', 'packages'] as const;
type KindSegment = (typeof KINDS)[number];

let counter = 0;
const uniqueName = (base: string) => `${base}-${++counter}`;

const tarballFor = (segment: KindSegment, name: string, version: string): Promise<Buffer> => {
  switch (segment) {
    case 'skills':
      return makeTarball({ 'SKILL.md': `---\nname: ${name}\ndescription: A test skill\nmetadata:\n  version: ${version}\n---\n# ${name}\n` });
    case 'mcp-servers':
      return makeTarball({ 'server.json': JSON.stringify({ name: `orga/${name}`, description: 'A test server', version }) });
    case 'recipes':
      return makeTarball({ 'recipe.yaml': `name: ${name}\nversion: ${version}\ndescription: A test recipe\n` });
    default:
      return agentTarball({ name, version, scope: 'orga' });
  }
};

const publishForm = (tgz: Buffer): FormData => {
  const form = new FormData();
  form.set('tarball', new Blob([tgz], { type: 'application/gzip' }), 'package.tgz');
  return form;
};

/** A package of the kind, in O's scope, published by A at 1.0.0 and 1.1.0, with a `beta` tag on 1.0.0. */
const orgPackage = async (w: World, segment: KindSegment) => {
  const name = uniqueName(segment === 'packages' ? 'any' : segment.slice(0, 5));
  for (const v of ['1.0.0', '1.1.0']) {
    const r = await w.amy.publish(`/api/v1/${segment}/@orga/${name}`, await tarballFor(segment, name, v));
    if (r.status !== 200 && r.status !== 201) throw new Error(`publishing @orga/${name}@${v}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  await must(w.amy.req('PUT', `/api/v1/${segment}/@orga/${name}/dist-tags/beta`, { version: '1.0.0' }), `tagging @orga/${name}`);
  return { name, next: await tarballFor(segment, name, '2.0.0') };
};

const packageEntries = (): Record<string, Entry> => {
  const out: Record<string, Entry> = {};
  for (const k of KINDS) {
    const base = `/api/v1/${k}/:scope/:name`;
    out[`PUT ${base}`] = { setup: (w) => orgPackage(w, k), request: (_, s) => ({ method: 'PUT', path: `/api/v1/${k}/@orga/${s.name}`, body: publishForm(s.next) }) };
    out[`DELETE ${base}/:version`] = { setup: (w) => orgPackage(w, k), request: (_, s) => json('DELETE', `/api/v1/${k}/@orga/${s.name}/1.1.0`) };
    out[`PUT ${base}/dist-tags/:tag`] = { setup: (w) => orgPackage(w, k), request: (_, s) => json('PUT', `/api/v1/${k}/@orga/${s.name}/dist-tags/stable`, { version: '1.0.0' }) };
    out[`DELETE ${base}/dist-tags/:tag`] = { setup: (w) => orgPackage(w, k), request: (_, s) => json('DELETE', `/api/v1/${k}/@orga/${s.name}/dist-tags/beta`) };
    out[`POST ${base}/versions/:version/signatures`] = {
      setup: async (w) => {
        const p = await orgPackage(w, k);
        const v = await must(w.amy.req('GET', `/api/v1/${k}/@orga/${p.name}/versions/1.0.0/signatures`), 'reading the signatures');
        const bundle = await signPackage(SIGNING_KEY.privateKey, { name: `@orga/${p.name}`, version: '1.0.0', digest: `sha256:${v.sha256}` });
        return { ...p, bundle: JSON.parse(bundle) };
      },
      request: (_, s) => json('POST', `/api/v1/${k}/@orga/${s.name}/versions/1.0.0/signatures`, { bundle: s.bundle }),
    };
    out[`POST ${base}/versions/:version/deprecate`] = {
      setup: (w) => orgPackage(w, k),
      request: (_, s) => json('POST', `/api/v1/${k}/@orga/${s.name}/versions/1.0.0/deprecate`, { message: 'use 1.1.0' }),
    };
    const starSetup = async (w: World) => {
      const p = await orgPackage(w, k);
      await must(w.amy.req('PUT', `/api/v1/${k}/@orga/${p.name}/star`), 'starring');
      return p;
    };
    out[`PUT ${base}/star`] = {
      setup: (w) => orgPackage(w, k),
      request: (_, s) => json('PUT', `/api/v1/${k}/@orga/${s.name}/star`),
      ownSpace: "a star is the caller's own; another account starring A's package changes nothing of A's",
    };
    out[`DELETE ${base}/star`] = {
      setup: starSetup,
      request: (_, s) => json('DELETE', `/api/v1/${k}/@orga/${s.name}/star`),
      ownSpace: "a star is the caller's own; another account un-starring changes nothing of A's",
    };
  }
  return out;
};

// ---- managed agents (/v1/…) -----------------------------------------------------------------

const skillForm = (name: string, version?: string) => {
  const f = new FormData();
  const md = `---\nname: ${name}\ndescription: The ${name} skill${version ? ` ${version}` : ''}\n---\n\n# ${name}\n`;
  f.append('files', new Blob([md]), `${name}/SKILL.md`);
  return f;
};
const fileForm = (text: string) => {
  const f = new FormData();
  f.set('file', new Blob([text], { type: 'text/plain' }), 'notes.txt');
  return f;
};

const create = async (api: Api, path: string, body: unknown): Promise<any> => {
  const r = await api.req('POST', path, body);
  if (r.status >= 300) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

const must = async (p: Promise<{ status: number; body: any }>, what: string) => {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

const managedAgent = (w: World) => create(w.amy, '/v1/agents', { name: uniqueName('agent'), model: 'claude-sonnet-4-6', system: 'Be kind.' });
const environment = (w: World) => create(w.amy, '/v1/environments', { name: uniqueName('env') });
const memoryStore = (w: World) => create(w.amy, '/v1/memory_stores', { name: uniqueName('store') });
const memory = async (w: World) => {
  const store = await memoryStore(w);
  const m = await create(w.amy, `/v1/memory_stores/${store.id}/memories`, { path: '/notes/a.md', content: 'remember this' });
  return { store: store.id, memory: m.id };
};
const vault = (w: World) => create(w.amy, '/v1/vaults', { name: uniqueName('vault'), secret: 'sk-vault-secret-1234' });
const credential = async (w: World) => {
  const v = await vault(w);
  const c = await create(w.amy, `/v1/vaults/${v.id}/credentials`, { auth: { type: 'static_bearer', token: 'tok-123456', mcp_server_url: 'https://mcp.example.com/mcp' } });
  return { vault: v.id, credential: c.id };
};
const managedSkill = (w: World) => create(w.amy, '/v1/skills', skillForm(uniqueName('skill')));
/**
 * An idle session of A, on an agent of A whose model card points at the fake provider, in an
 * environment of A. Its turns (only `/messages` starts one, and waits for it) reach no real model.
 */
const session = async (w: World) => {
  const card = await modelCard(w);
  const env = await environment(w);
  const agent = await create(w.amy, '/v1/agents', { name: uniqueName('agent'), model: card.model_id, system: 'Be kind.', environment_id: env.id });
  return create(w.amy, '/v1/sessions', { agent: agent.id, environment_id: env.id, title: 'before' });
};
/**
 * A session of A whose coordinator delegated once, so it has one child thread, idle: the fake
 * provider's model is scripted (after the card's probe) to call the roster agent, answer, and close.
 */
const sessionThread = async (w: World) => {
  const card = await modelCard(w);
  const env = await environment(w);
  const helper = await create(w.amy, '/v1/agents', { name: 'helper', model: card.model_id, environment_id: env.id });
  const lead = await create(w.amy, '/v1/agents', { name: uniqueName('lead'), model: card.model_id, environment_id: env.id, multiagent: { type: 'coordinator', agents: [helper.id] } });
  const scripted = await fetch(`${w.providers.url}/oai/_dev-model/script`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': w.providers.goodKey },
    body: JSON.stringify({ turns: [{ toolCalls: [{ name: 'call_agent_helper', input: { message: 'hi' } }] }, { text: 'done' }, { text: 'ok' }] }),
  });
  if (scripted.status !== 200) throw new Error(`could not script the fake provider: ${scripted.status}`);
  const s = await create(w.amy, '/v1/sessions', { agent: lead.id, environment_id: env.id, initial_events: [{ type: 'user.message', content: [{ type: 'text', text: 'go' }] }] });
  let thread: any;
  await settle('the thread', async () => {
    if ((await w.amy.req('GET', `/v1/sessions/${s.id}`)).body.status !== 'idle') return false;
    thread = (await w.amy.req('GET', `/v1/sessions/${s.id}/threads`)).body.data.find((t: any) => t.parent_thread_id !== null);
    return thread?.status === 'idle';
  });
  return { session: s.id, thread: thread.id };
};

/** An idle session of A with a repository resource (never cloned: no turn runs). */
const sessionWithRepo = async (w: World) => {
  const s = await session(w);
  const r = await create(w.amy, `/v1/sessions/${s.id}/resources`, { type: 'github_repository', url: 'https://git.example.com/o/repo.git', authorization_token: 'ghp_a' });
  return { id: s.id, rid: r.id };
};
/** A work item of A's self-hosted environment (queued when the session was made); `ack` acknowledges it first. */
const workItem = async (w: World, ack = false) => {
  const card = await modelCard(w);
  const env = await create(w.amy, '/v1/environments', { name: uniqueName('env'), config: { type: 'self_hosted' } });
  const agent = await create(w.amy, '/v1/agents', { name: uniqueName('agent'), model: card.model_id, environment_id: env.id });
  await create(w.amy, '/v1/sessions', { agent: agent.id, environment_id: env.id });
  const items = await must(w.amy.req('GET', `/v1/environments/${env.id}/work`), 'listing work');
  const work = items.data[0];
  if (ack) await must(w.amy.req('POST', `/v1/environments/${env.id}/work/${work.id}/ack`), 'acknowledging work');
  return { env: env.id, work: work.id };
};
const integration = (w: World) =>
  create(w.amy, '/v1/integrations', { provider: 'slack', credentials: { bot_token: 'xoxb-authz-token-1', signing_secret: 'authz-signing-secret' }, api_base_url: 'http://127.0.0.1:9/api' });
const publication = async (w: World) => {
  const i = await integration(w);
  const env = await environment(w);
  const agent = await create(w.amy, '/v1/agents', { name: uniqueName('agent'), model: 'claude-sonnet-4-6', environment_id: env.id });
  const p = await create(w.amy, `/v1/integrations/${i.id}/publications`, { agent_id: agent.id, channel: 'C0AUTHZ' });
  return { integration: i.id, publication: p.id, agent: agent.id };
};
const modelCard = (w: World) =>
  create(w.amy, '/v1/model_cards', { model_id: uniqueName('card'), provider: 'oai-compatible', model: 'gpt-4o', base_url: `${w.providers.url}/oai/v1`, api_key: w.providers.goodKey });

const managedEntries = (): Record<string, Entry | Exempt> => ({
  'POST /v1/agents': { request: () => json('POST', '/v1/agents', { name: uniqueName('agent'), model: 'claude-sonnet-4-6' }), ownSpace: OWN_CREATE },
  'PATCH /v1/agents/:id': { setup: managedAgent, request: (_, a) => json('PATCH', `/v1/agents/${a.id}`, { description: 'changed' }) },
  'POST /v1/agents/:id': { setup: managedAgent, request: (_, a) => json('POST', `/v1/agents/${a.id}`, { description: 'changed', version: a.version }) },
  'DELETE /v1/agents/:id': { setup: managedAgent, request: (_, a) => json('DELETE', `/v1/agents/${a.id}`) },
  'POST /v1/agents/:id/archive': { setup: managedAgent, request: (_, a) => json('POST', `/v1/agents/${a.id}/archive`) },
  'POST /v1/agents/:id/publish': { setup: managedAgent, request: (_, a) => json('POST', `/v1/agents/${a.id}/publish`, {}) },

  'POST /v1/environments': { request: () => json('POST', '/v1/environments', { name: uniqueName('env') }), ownSpace: OWN_CREATE },
  'PATCH /v1/environments/:id': { setup: environment, request: (_, e) => json('PATCH', `/v1/environments/${e.id}`, { description: 'changed' }) },
  'POST /v1/environments/:id': { setup: environment, request: (_, e) => json('POST', `/v1/environments/${e.id}`, { description: 'changed' }) },
  'DELETE /v1/environments/:id': { setup: environment, request: (_, e) => json('DELETE', `/v1/environments/${e.id}`) },
  'POST /v1/environments/:id/archive': { setup: environment, request: (_, e) => json('POST', `/v1/environments/${e.id}/archive`) },

  'POST /v1/memory_stores': { request: () => json('POST', '/v1/memory_stores', { name: uniqueName('store') }), ownSpace: OWN_CREATE },
  'PATCH /v1/memory_stores/:id': { setup: memoryStore, request: (_, s) => json('PATCH', `/v1/memory_stores/${s.id}`, { description: 'changed' }) },
  'POST /v1/memory_stores/:id': { setup: memoryStore, request: (_, s) => json('POST', `/v1/memory_stores/${s.id}`, { description: 'changed' }) },
  'DELETE /v1/memory_stores/:id': { setup: memoryStore, request: (_, s) => json('DELETE', `/v1/memory_stores/${s.id}`) },
  'POST /v1/memory_stores/:id/archive': { setup: memoryStore, request: (_, s) => json('POST', `/v1/memory_stores/${s.id}/archive`) },
  'POST /v1/memory_stores/:id/search': { exempt: 'a search: reads memories, writes nothing' },
  'POST /v1/memory_stores/:id/memories': { setup: memoryStore, request: (_, s) => json('POST', `/v1/memory_stores/${s.id}/memories`, { path: '/x.md', content: 'new' }) },
  'POST /v1/memory_stores/:id/entries': { setup: memoryStore, request: (_, s) => json('POST', `/v1/memory_stores/${s.id}/entries`, { content: 'new entry' }) },
  'POST /v1/memory_stores/:id/memories/:memory_id': { setup: memory, request: (_, m) => json('POST', `/v1/memory_stores/${m.store}/memories/${m.memory}`, { content: 'changed' }) },
  'POST /v1/memory_stores/:id/entries/:memory_id': { setup: memory, request: (_, m) => json('POST', `/v1/memory_stores/${m.store}/entries/${m.memory}`, { content: 'changed' }) },
  'DELETE /v1/memory_stores/:id/memories/:memory_id': { setup: memory, request: (_, m) => json('DELETE', `/v1/memory_stores/${m.store}/memories/${m.memory}`) },
  'DELETE /v1/memory_stores/:id/entries/:memory_id': { setup: memory, request: (_, m) => json('DELETE', `/v1/memory_stores/${m.store}/entries/${m.memory}`) },

  'POST /v1/integrations': {
    request: () => json('POST', '/v1/integrations', { provider: 'slack', credentials: { bot_token: 'xoxb-new-token', signing_secret: 'new-signing-secret' } }),
    ownSpace: OWN_CREATE,
  },
  'DELETE /v1/integrations/:id': { setup: integration, request: (_, i) => json('DELETE', `/v1/integrations/${i.id}`) },
  'POST /v1/integrations/:id/uninstall': { setup: integration, request: (_, i) => json('POST', `/v1/integrations/${i.id}/uninstall`) },
  'POST /v1/integrations/:id/publications': { setup: publication, request: (_, p) => json('POST', `/v1/integrations/${p.integration}/publications`, { agent_id: p.agent, channel: 'C0OTHER' }) },
  'DELETE /v1/integrations/:id/publications/:pub_id': { setup: publication, request: (_, p) => json('DELETE', `/v1/integrations/${p.integration}/publications/${p.publication}`) },
  'POST /v1/integrations/:id/events': {
    exempt:
      "a platform's webhook: authenticated by its signature over the raw body (Slack's v0 HMAC with the install's signing secret), not by an Agentry token; unsigned, mis-signed, stale and replayed deliveries are tested in test/managed/integrations.test.ts",
  },

  'POST /v1/vaults': { request: () => json('POST', '/v1/vaults', { name: uniqueName('vault'), secret: 'sk-new-secret-99' }), ownSpace: OWN_CREATE },
  'PATCH /v1/vaults/:id': { setup: vault, request: (_, v) => json('PATCH', `/v1/vaults/${v.id}`, { secret: 'sk-rotated-5678' }) },
  'POST /v1/vaults/:id': { setup: vault, request: (_, v) => json('POST', `/v1/vaults/${v.id}`, { display_name: 'changed' }) },
  'DELETE /v1/vaults/:id': { setup: vault, request: (_, v) => json('DELETE', `/v1/vaults/${v.id}`) },
  'POST /v1/vaults/:id/archive': { setup: vault, request: (_, v) => json('POST', `/v1/vaults/${v.id}/archive`) },
  'POST /v1/vaults/:id/credentials': {
    setup: vault,
    request: (_, v) => json('POST', `/v1/vaults/${v.id}/credentials`, { auth: { type: 'static_bearer', token: 'tok-999999', mcp_server_url: 'https://mcp.example.com/other' } }),
  },
  'POST /v1/vaults/:id/credentials/:credential_id': { setup: credential, request: (_, c) => json('POST', `/v1/vaults/${c.vault}/credentials/${c.credential}`, { display_name: 'changed' }) },
  'DELETE /v1/vaults/:id/credentials/:credential_id': { setup: credential, request: (_, c) => json('DELETE', `/v1/vaults/${c.vault}/credentials/${c.credential}`) },
  'POST /v1/vaults/:id/credentials/:credential_id/archive': { setup: credential, request: (_, c) => json('POST', `/v1/vaults/${c.vault}/credentials/${c.credential}/archive`) },

  'POST /v1/skills': { request: () => ({ method: 'POST', path: '/v1/skills', body: skillForm(uniqueName('skill')) }), ownSpace: OWN_CREATE },
  'DELETE /v1/skills/:id': { setup: managedSkill, request: (_, s) => json('DELETE', `/v1/skills/${s.id}`) },
  'POST /v1/skills/:id/versions': { setup: managedSkill, request: (_, s) => ({ method: 'POST', path: `/v1/skills/${s.id}/versions`, body: skillForm(s.name ?? s.display_title, 'v2') }) },
  'DELETE /v1/skills/:id/versions/:version': {
    setup: async (w) => {
      const s = await managedSkill(w);
      const v = await must(w.amy.req('POST', `/v1/skills/${s.id}/versions`, skillForm(s.name ?? s.display_title, 'v2')), 'skill version');
      return { id: s.id, version: v.version };
    },
    request: (_, s) => json('DELETE', `/v1/skills/${s.id}/versions/${s.version}`),
  },

  'POST /v1/files': { request: () => ({ method: 'POST', path: '/v1/files', body: fileForm('hello') }), ownSpace: OWN_CREATE },
  'DELETE /v1/files/:id': { setup: (w) => create(w.amy, '/v1/files', fileForm('to delete')), request: (_, f) => json('DELETE', `/v1/files/${f.id}`) },

  'POST /v1/model_cards': {
    request: (w) => json('POST', '/v1/model_cards', { model_id: uniqueName('card'), provider: 'oai-compatible', model: 'gpt-4o', base_url: `${w.providers.url}/oai/v1`, api_key: w.providers.goodKey }),
    ownSpace: OWN_CREATE,
  },
  'POST /v1/model_cards/:id': { setup: modelCard, request: (w, c) => json('POST', `/v1/model_cards/${c.id}`, { model: 'local-llama' }) },
  'DELETE /v1/model_cards/:id': { setup: modelCard, request: (_, c) => json('DELETE', `/v1/model_cards/${c.id}`) },

  'POST /v1/sessions': {
    setup: async (w) => {
      const env = await environment(w);
      return { env: env.id, agent: (await create(w.amy, '/v1/agents', { name: uniqueName('agent'), model: 'claude-sonnet-4-6', environment_id: env.id })).id };
    },
    request: (_, a) => json('POST', '/v1/sessions', { agent: a.agent, environment_id: a.env }),
    ownSpace: "creates a session in the caller's own account (A's agent and environment are not found for another account: a 400 of the SDK's shape)",
  },
  'POST /v1/sessions/:id': { setup: session, request: (_, s) => json('POST', `/v1/sessions/${s.id}`, { title: 'changed' }) },
  'PATCH /v1/sessions/:id': { setup: session, request: (_, s) => json('PATCH', `/v1/sessions/${s.id}`, { metadata: { team: 'b' } }) },
  'DELETE /v1/sessions/:id': { setup: session, request: (_, s) => json('DELETE', `/v1/sessions/${s.id}`) },
  'POST /v1/sessions/:id/archive': { setup: session, request: (_, s) => json('POST', `/v1/sessions/${s.id}/archive`) },
  'POST /v1/sessions/:id/cancel': { setup: session, request: (_, s) => json('POST', `/v1/sessions/${s.id}/cancel`) },
  'POST /v1/sessions/:id/events': {
    setup: session,
    // An interrupt: appended to the log, and it starts no turn that would keep writing while later entries are checked.
    request: (_, s) => json('POST', `/v1/sessions/${s.id}/events`, { events: [{ type: 'user.interrupt' }] }),
  },
  'POST /v1/sessions/:id/resources': {
    setup: session,
    request: (_, s) => json('POST', `/v1/sessions/${s.id}/resources`, { type: 'github_repository', url: 'https://git.example.com/o/other.git' }),
  },
  'POST /v1/sessions/:id/resources/:rid': { setup: sessionWithRepo, request: (_, s) => json('POST', `/v1/sessions/${s.id}/resources/${s.rid}`, { authorization_token: 'ghp_b' }) },
  'DELETE /v1/sessions/:id/resources/:rid': { setup: sessionWithRepo, request: (_, s) => json('DELETE', `/v1/sessions/${s.id}/resources/${s.rid}`) },
  'POST /v1/sessions/:id/messages': { setup: session, request: (_, s) => json('POST', `/v1/sessions/${s.id}/messages`, { content: 'Hi' }) },
  'POST /v1/sessions/:id/threads/:tid/archive': { setup: sessionThread, request: (_, x) => json('POST', `/v1/sessions/${x.session}/threads/${x.thread}/archive`) },

  'POST /v1/environments/:id/work/:work_id': {
    setup: (w) => workItem(w),
    request: (_, x) => json('POST', `/v1/environments/${x.env}/work/${x.work}`, { metadata: { host: 'laptop' } }),
  },
  'POST /v1/environments/:id/work/:work_id/ack': { setup: (w) => workItem(w), request: (_, x) => json('POST', `/v1/environments/${x.env}/work/${x.work}/ack`) },
  'POST /v1/environments/:id/work/:work_id/heartbeat': {
    setup: (w) => workItem(w, true),
    request: (_, x) => json('POST', `/v1/environments/${x.env}/work/${x.work}/heartbeat?expected_last_heartbeat=NO_HEARTBEAT`),
  },
  'POST /v1/environments/:id/work/:work_id/stop': { setup: (w) => workItem(w), request: (_, x) => json('POST', `/v1/environments/${x.env}/work/${x.work}/stop`, { force: true }) },

  'POST /v1/api_keys': { request: () => json('POST', '/v1/api_keys', { name: uniqueName('key') }), ownSpace: OWN_CREATE },
  'DELETE /v1/api_keys/:id': { setup: (w) => create(w.amy, '/v1/api_keys', { name: uniqueName('key') }), request: (_, k) => json('DELETE', `/v1/api_keys/${k.id}`) },
});

// ---- Alquimia agentspaces (/registry) -------------------------------------------------------

/** An agentspace of A with one agent, a used secret and a parameter; its id. */
const agentspace = async (w: World, opts: { unusedSecret?: boolean; published?: boolean } = {}) => {
  const name = uniqueName('space');
  const created = await create(w.amy, '/registry/', { name, namespace: 'prod' });
  const id: string = created.agentspace_id;
  await create(w.amy, `/registry/agent?agentspace_id=${id}`, exampleAgent('helper'));
  await create(w.amy, `/registry/secret?agentspace_id=${id}`, { secret: { key: 'OPENAI_API_KEY', scope: 'shared' }, value: 'sk-space-value-1' });
  await create(w.amy, `/registry/parameter?agentspace_id=${id}`, { key: 'tone', type: 'string', default: 'warm' });
  if (opts.unusedSecret) await create(w.amy, `/registry/secret?agentspace_id=${id}`, { secret: { key: 'UNUSED_KEY', scope: 'shared' }, value: 'sk-unused-value' });
  if (opts.published) await must(w.amy.req('PUT', `/registry/publish?agentspace_id=${id}&tag=1.0.0`, {}), 'publishing the agentspace');
  return { id, name };
};

// ---- A2A (/a2a) ------------------------------------------------------------------------------

/** A JSON-RPC message/send of one text message (a task of the agent, run as a session of the caller). */
const a2aSend = (path: string): Req =>
  json('POST', path, { jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: { kind: 'message', role: 'user', messageId: uniqueName('msg'), parts: [{ kind: 'text', text: 'hello' }] } } });

const a2aEntries = (): Record<string, Entry | Exempt> => ({
  'POST /a2a': { exempt: "the server card's url: answers every method with an error naming where the agents are; stores nothing" },
  'POST /a2a/agents/:id': { setup: managedAgent, request: (_, a) => a2aSend(`/a2a/agents/${a.id}`) },
  'POST /a2a/agentspaces/:agentspace_id/:assistant_id': { setup: agentspace, request: (_, s) => a2aSend(`/a2a/agentspaces/${s.id}/helper`) },
  'POST /a2a/@:scope/:name': {
    setup: (w) => orgPackage(w, 'agents'),
    request: (_, s) => a2aSend(`/a2a/@orga/${s.name}`),
    ownSpace: "an agent package others may read runs as a session (and task) of the caller's own; nothing of A is addressed",
  },
});

const alquimiaEntries = (): Record<string, Entry | Exempt> => ({
  'POST /registry': { request: () => json('POST', '/registry', { name: uniqueName('space'), namespace: 'local' }), ownSpace: OWN_CREATE },
  'PUT /registry': { setup: agentspace, request: (_, s) => json('PUT', '/registry', { agentspace_id: s.id, description: 'changed' }) },
  'DELETE /registry': { setup: agentspace, request: (_, s) => json('DELETE', `/registry?agentspace_id=${s.id}`) },
  'POST /registry/query': { exempt: 'a query: reads agentspaces, writes nothing' },
  'POST /registry/agent': { setup: agentspace, request: (_, s) => json('POST', `/registry/agent?agentspace_id=${s.id}`, exampleAgent('second')) },
  'POST /registry/agent/query': { exempt: 'a query: reads agents, writes nothing' },
  'DELETE /registry/agent': { setup: agentspace, request: (_, s) => json('DELETE', `/registry/agent?agentspace_id=${s.id}`, { assistant_id: 'helper' }) },
  'PUT /registry/agent/hold/:assistant_id': { setup: agentspace, request: (_, s) => json('PUT', `/registry/agent/hold/helper?agentspace_id=${s.id}`) },
  'PUT /registry/agent/unhold/:assistant_id': {
    setup: async (w) => {
      const s = await agentspace(w);
      await must(w.amy.req('PUT', `/registry/agent/hold/helper?agentspace_id=${s.id}`), 'hold');
      return s;
    },
    request: (_, s) => json('PUT', `/registry/agent/unhold/helper?agentspace_id=${s.id}`),
  },
  'POST /registry/secret': { setup: agentspace, request: (_, s) => json('POST', `/registry/secret?agentspace_id=${s.id}`, { secret: { key: 'OTHER_KEY', scope: 'shared' }, value: 'sk-other-value' }) },
  'POST /registry/secret/query': { exempt: 'a query: reads secret definitions, writes nothing' },
  'POST /registry/secret/inspect/:assistant_id': { exempt: 'an inspection: reads secret definitions, writes nothing' },
  'DELETE /registry/secret': { setup: agentspace, request: (_, s) => json('DELETE', `/registry/secret?agentspace_id=${s.id}`, { key: 'OPENAI_API_KEY' }) },
  'POST /registry/parameter': { setup: agentspace, request: (_, s) => json('POST', `/registry/parameter?agentspace_id=${s.id}`, { key: 'mood', type: 'string', default: 'calm' }) },
  'POST /registry/parameter/query': { exempt: 'a query: reads parameters, writes nothing' },
  'DELETE /registry/parameter': { setup: agentspace, request: (_, s) => json('DELETE', `/registry/parameter?agentspace_id=${s.id}`, { key: 'tone' }) },
  'POST /registry/validate': { setup: (w) => agentspace(w, { unusedSecret: true }), request: (_, s) => json('POST', `/registry/validate?agentspace_id=${s.id}`) },
  'PUT /registry/publish': { setup: agentspace, request: (_, s) => json('PUT', `/registry/publish?agentspace_id=${s.id}&tag=2.0.0`, { description: 'release' }) },
  'DELETE /registry/publish': { setup: (w) => agentspace(w, { published: true }), request: (_, s) => json('DELETE', `/registry/publish?agentspace_id=${s.id}&tag=1.0.0`) },
  'POST /registry/pull': {
    setup: (w) => agentspace(w, { published: true }),
    request: (w, s) => json('POST', `/registry/pull?agentspace_id=${s.id}&target=${w.host}/amy/${s.name}:1.0.0`),
    ownSpace: "pulls into the caller's own agentspace of that id (a clone); nothing of A is addressed",
  },
});

// ---- OCI distribution (/v2/) ----------------------------------------------------------------

/** A repository of O (`orga/<name>`) with one image tagged `v1`, and a blob upload of A in progress. */
const ociRepo = async (w: World) => {
  const repo = `orga/${uniqueName('image')}`;
  const layer = `layer of ${repo}`;
  const oci = (method: string, path: string, body?: string, headers: Record<string, string> = {}) => w.amy.req(method, path, body, headers);
  for (const data of [layer, '{}']) await must(oci('POST', `/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, data, { 'content-type': 'application/octet-stream' }), 'blob');
  const manifest = JSON.stringify(imageManifest([{ data: layer }], {}, EMPTY_CONFIG));
  await must(oci('PUT', `/v2/${repo}/manifests/v1`, manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }), 'manifest');
  const started = await oci('POST', `/v2/${repo}/blobs/uploads/`);
  if (started.status !== 202) throw new Error(`starting an upload: ${started.status}`);
  const location = started.headers.get('location')!;
  const uuid = location.split('/').pop()!.split('?')[0];
  return { repo, uuid, layerDigest: sha256(layer), manifestDigest: sha256(manifest), manifest };
};

const ociEntries = (): Record<string, Entry | Exempt> => ({
  'POST /v2/:name/blobs/uploads/': { ociRepository: (r) => r.repo, setup: ociRepo, request: (_, r) => json('POST', `/v2/${r.repo}/blobs/uploads/`) },
  'PATCH /v2/:name/blobs/uploads/:uuid': {
    ociRepository: (r) => r.repo,
    setup: ociRepo,
    request: (_, r) => ({ method: 'PATCH', path: `/v2/${r.repo}/blobs/uploads/${r.uuid}`, body: 'chunk', headers: { 'content-type': 'application/octet-stream', 'content-range': '0-4' } }),
  },
  'PUT /v2/:name/blobs/uploads/:uuid': {
    ociRepository: (r) => r.repo,
    setup: ociRepo,
    request: (_, r) => ({ method: 'PUT', path: `/v2/${r.repo}/blobs/uploads/${r.uuid}?digest=${sha256('whole')}`, body: 'whole', headers: { 'content-type': 'application/octet-stream' } }),
  },
  'DELETE /v2/:name/blobs/uploads/:uuid': { ociRepository: (r) => r.repo, setup: ociRepo, request: (_, r) => json('DELETE', `/v2/${r.repo}/blobs/uploads/${r.uuid}`) },
  'DELETE /v2/:name/blobs/:digest': { ociRepository: (r) => r.repo, setup: ociRepo, request: (_, r) => json('DELETE', `/v2/${r.repo}/blobs/${r.layerDigest}`) },
  'PUT /v2/:name/manifests/:reference': {
    ociRepository: (r) => r.repo,
    setup: ociRepo,
    request: (_, r) => ({ method: 'PUT', path: `/v2/${r.repo}/manifests/v2`, body: r.manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } }),
  },
  'DELETE /v2/:name/manifests/:reference': { ociRepository: (r) => r.repo, setup: ociRepo, request: (_, r) => json('DELETE', `/v2/${r.repo}/manifests/${r.manifestDigest}`) },
  'POST /v2/token': { exempt: 'the token endpoint: answers a short-lived signed token for what the caller may already do; stores nothing' },
});

// ---- MCP registry (/v0, /v0.1) --------------------------------------------------------------

const mcpServer = async (w: World) => {
  const name = `io.github.orga/${uniqueName('server')}`;
  for (const version of ['1.0.0', '1.1.0']) await must(w.amy.req('POST', '/v0.1/publish', { name, description: 'A server', version }), 'MCP publish');
  return { name, enc: encodeURIComponent(name) };
};

const mcpEntries = (): Record<string, Entry | Exempt> => {
  const out: Record<string, Entry | Exempt> = {};
  for (const prefix of ['/v0', '/v0.1']) {
    out[`POST ${prefix}/publish`] = { request: () => json('POST', `${prefix}/publish`, { name: `io.github.orga/${uniqueName('server')}`, description: 'A server', version: '1.0.0' }) };
    out[`PATCH ${prefix}/servers/:serverName/status`] = { setup: mcpServer, request: (_, s) => json('PATCH', `${prefix}/servers/${s.enc}/status`, { status: 'deprecated', statusMessage: 'old' }) };
    out[`PATCH ${prefix}/servers/:serverName/versions/:version/status`] = {
      setup: mcpServer,
      request: (_, s) => json('PATCH', `${prefix}/servers/${s.enc}/versions/1.0.0/status`, { status: 'deprecated', statusMessage: 'old' }),
    };
    for (const method of ['PUT', 'DELETE']) {
      out[`${method} ${prefix}/servers/:serverName/versions/:version`] = { exempt: "the spec's optional edit/delete of a version: answers 501 to every caller and stores nothing" };
    }
  }
  return out;
};

// ---- PraisonAI recipes (/v1/recipes) --------------------------------------------------------

const recipe = async (w: World) => {
  const name = uniqueName('recipe');
  for (const version of ['1.0.0', '1.1.0']) {
    await must(w.amy.req('POST', `/v1/recipes/${name}/${version}`, { bundle: (await praisonBundle({ name, version })).toString('base64') }), 'recipe publish');
  }
  return { name, next: (await praisonBundle({ name, version: '2.0.0' })).toString('base64') };
};

const recipeEntries = (): Record<string, Entry> => ({
  'POST /v1/recipes/:name/:version': { setup: recipe, request: (_, r) => json('POST', `/v1/recipes/${r.name}/2.0.0`, { bundle: r.next }) },
  'DELETE /v1/recipes/:name/:version': { setup: recipe, request: (_, r) => json('DELETE', `/v1/recipes/${r.name}/1.1.0`) },
  'DELETE /v1/recipes/:name': { setup: recipe, request: (_, r) => json('DELETE', `/v1/recipes/${r.name}`) },
});

// ---- webhooks of an org (O) and of a user (A) ----------------------------------------------

/**
 * A webhook of `owner` (`orgs/orga` or `users/amy`) on dist-tag changes (no refused request moves
 * a tag), and, with `delivery`, one queued delivery of it: a tag moved on a package of that owner.
 */
const webhook = async (w: World, owner: string, delivery = false) => {
  const hook = await create(w.amy, `/api/v1/${owner}/webhooks`, { url: `https://hooks.example.com/${uniqueName('hook')}`, events: ['dist_tag.changed'], secret: 'matrix-secret-0123456789' });
  if (!delivery) return { id: hook.id };
  if (owner === 'orgs/orga') await orgPackage(w, 'agents');
  else {
    const name = uniqueName('hooked');
    await must(w.amy.publish(`/api/v1/agents/@amy/${name}`, await agentTarball({ name, version: '1.0.0', scope: 'amy' })), `publishing @amy/${name}`);
    await must(w.amy.req('PUT', `/api/v1/agents/@amy/${name}/dist-tags/beta`, { version: '1.0.0' }), `tagging @amy/${name}`);
  }
  const deliveries = (await must(w.amy.req('GET', `/api/v1/${owner}/webhooks/${hook.id}/deliveries`), 'deliveries')).deliveries as Array<{ id: string }>;
  if (deliveries.length === 0) throw new Error('no delivery was queued');
  return { id: hook.id, delivery: deliveries[0]!.id };
};

/**
 * An OCI upstream on 127.0.0.1 that answers every request 503 after four seconds: a sync job of a
 * mirror of it stays running that long (to be cancelled), then fails; one for the whole file.
 */
let slowUpstream: Promise<string> | undefined;
const slowUpstreamUrl = (): Promise<string> =>
  (slowUpstream ??= new Promise((resolve) => {
    const srv = http.createServer((_req, res) => {
      const t = setTimeout(() => res.writeHead(503).end(), 4000);
      t.unref();
    });
    srv.unref();
    srv.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(srv.address() as { port: number }).port}`));
  }));

/** A mirror of the slow upstream with a sync job running: what the cancel route acts on. */
const runningSync = async (w: World): Promise<{ name: string; id: string }> => {
  const name = uniqueName('syncing');
  await create(w.admin, '/api/v1/mirrors', { kind: 'oci', name, url: await slowUpstreamUrl() });
  const job = await create(w.admin, `/api/v1/mirrors/${name}/sync`, {});
  return { name, id: job.id };
};

const webhookEntries = (): Record<string, Entry> => {
  const out: Record<string, Entry> = {};
  for (const [route, owner] of [
    ['/api/v1/orgs/:org', 'orgs/orga'],
    ['/api/v1/users/:username', 'users/amy'],
  ] as const) {
    // The maintainer of O manages neither O's webhooks (owners only) nor A's.
    const alsoRefused: ExtraCaller[] = ['maintainer of O'];
    out[`POST ${route}/webhooks`] = {
      request: () => json('POST', `/api/v1/${owner}/webhooks`, { url: `https://hooks.example.com/${uniqueName('new')}`, events: ['package.deprecated'], secret: 'matrix-secret-0123456789' }),
      alsoRefused,
    };
    out[`DELETE ${route}/webhooks/:id`] = { setup: (w) => webhook(w, owner), request: (_, s) => json('DELETE', `/api/v1/${owner}/webhooks/${s.id}`), alsoRefused };
    out[`POST ${route}/webhooks/:id/deliveries/:delivery/replay`] = {
      setup: (w) => webhook(w, owner, true),
      request: (_, s) => json('POST', `/api/v1/${owner}/webhooks/${s.id}/deliveries/${s.delivery}/replay`),
      alsoRefused,
    };
  }
  return out;
};

// ---- native accounts, tokens, orgs, admin ---------------------------------------------------

const nativeEntries = (): Record<string, Entry | Exempt> => ({
  'POST /api/v1/tokens': { request: () => json('POST', '/api/v1/tokens', { name: uniqueName('token'), permission: 'read' }), ownSpace: OWN_CREATE },
  'DELETE /api/v1/tokens/:id': { setup: (w) => create(w.amy, '/api/v1/tokens', { name: uniqueName('victim'), permission: 'publish' }), request: (_, t) => json('DELETE', `/api/v1/tokens/${t.id}`) },
  'POST /api/v1/users': { actor: 'admin', request: () => json('POST', '/api/v1/users', { username: uniqueName('user') }) },
  'POST /api/v1/orgs': { actor: 'admin', request: () => json('POST', '/api/v1/orgs', { name: uniqueName('org') }) },
  'POST /api/v1/scopes': { actor: 'admin', request: () => json('POST', '/api/v1/scopes', { name: `io.example.${uniqueName('ns')}`, owner: 'orga' }) },
  // Importing an A2A card publishes an agent package into the scope named (O's here): publishers of O only.
  'POST /api/v1/a2a/imports': {
    request: () =>
      json('POST', '/api/v1/a2a/imports', {
        scope: 'orga',
        name: uniqueName('a2a'),
        card: {
          name: 'Matrix Agent',
          description: 'A remote agent',
          url: 'https://agent.example/a2a',
          version: '1.0.0',
          protocolVersion: '0.3.0',
          capabilities: {},
          defaultInputModes: ['text/plain'],
          defaultOutputModes: ['text/plain'],
          skills: [],
        },
      }),
  },
  'PUT /api/v1/orgs/:org/members/:username': { request: () => json('PUT', '/api/v1/orgs/orga/members/eve', { role: 'owner' }), alsoRefused: ['maintainer of O'] },
  'DELETE /api/v1/orgs/:org/members/:username': {
    setup: (w) => must(w.amy.req('PUT', '/api/v1/orgs/orga/members/fay', { role: 'member' }), 'adding fay'),
    request: () => json('DELETE', '/api/v1/orgs/orga/members/fay'),
    alsoRefused: ['maintainer of O'],
  },
  ...webhookEntries(),
  'POST /api/v1/admin/gc': { actor: 'admin', request: () => json('POST', '/api/v1/admin/gc', { grace_seconds: 0 }), mayChangeNothing: 'collects only blobs nothing refers to; there may be none' },
  'POST /api/v1/admin/secrets/rotate-key': { actor: 'admin', request: () => json('POST', '/api/v1/admin/secrets/rotate-key', {}) },
  'POST /api/v1/mirrors': {
    actor: 'admin',
    request: () => json('POST', '/api/v1/mirrors', { kind: 'oci', name: uniqueName('mirror'), url: 'https://registry.example.com', username: 'bot', password: 'upstream-password' }),
  },
  'PATCH /api/v1/mirrors/:name': {
    actor: 'admin',
    setup: (w) => create(w.admin, '/api/v1/mirrors', { kind: 'agentry', name: uniqueName('vis'), url: 'https://agentry.example.com', username: 'token', password: 'upstream-password' }),
    request: (_, m) => json('PATCH', `/api/v1/mirrors/${m.name}`, { visibility: 'public' }),
  },
  'DELETE /api/v1/mirrors/:name': {
    actor: 'admin',
    setup: (w) => create(w.admin, '/api/v1/mirrors', { kind: 'mcp', name: uniqueName('gone'), url: 'https://mcp.example.com', username: 'bot', password: 'upstream-password' }),
    request: (_, m) => json('DELETE', `/api/v1/mirrors/${m.name}`),
  },
  'POST /api/v1/mirrors/:name/sync': {
    actor: 'admin',
    setup: async (w) => create(w.admin, '/api/v1/mirrors', { kind: 'oci', name: uniqueName('tosync'), url: await slowUpstreamUrl() }),
    request: (_, m) => json('POST', `/api/v1/mirrors/${m.name}/sync`, { filter: 'team/app:1.*' }),
  },
  'DELETE /api/v1/mirrors/:name/syncs/:id': {
    actor: 'admin',
    setup: runningSync,
    request: (_, s) => json('DELETE', `/api/v1/mirrors/${s.name}/syncs/${s.id}`),
  },
  'PUT /api/v1/access/:scope/:name': {
    setup: (w) => orgPackage(w, 'agents'),
    request: (_, s) => json('PUT', `/api/v1/access/@orga/${s.name}`, { visibility: 'private' }),
  },
  'PUT /api/v1/access/:scope': {
    // Starts from `internal` so that the owner's request (back to `public`, as every other entry expects) changes it.
    setup: (w) => must(w.amy.req('PUT', '/api/v1/access/@orga', { visibility: 'internal' }), 'making @orga internal by default'),
    request: () => json('PUT', '/api/v1/access/@orga', { visibility: 'public' }),
  },
  'PUT /api/v1/scopes/:scope/signing': {
    // Trusts a key without requiring signatures, so the other entries' unsigned publishes to @orga still go through.
    request: () => json('PUT', '/api/v1/scopes/@orga/signing', { required: false, keys: [SIGNING_KEY.publicKey.export({ type: 'spki', format: 'pem' }).toString()] }),
    alsoRefused: ['maintainer of O'],
  },
  'POST /api/v1/telemetry': { exempt: 'anonymous by design (agentx 004): a run report counted in aggregate' },
  'POST /api/v1/auth/github': { exempt: 'anonymous by design: starts a sign-in (answers the provider URL)' },
  'PUT /api/v1beta/registry/:name': {
    actor: 'admin',
    // Creates (or replaces) the MCP mirror 'default'; the upstream is not asked until a view reads it.
    request: () => json('PUT', '/api/v1beta/registry/default', { api_url: `https://${uniqueName('mcp')}.example.com` }),
  },
  'POST /api/v1beta/registry': { exempt: 'not implemented: answers 501 to every caller and stores nothing' },
  'DELETE /api/v1beta/registry/:name': { exempt: "refused to every caller: 'default' cannot be removed (403), no other exists (404)" },
  'POST /api/v1beta/registry/:name/refresh': { exempt: "reports that Agentry's registry is always current; stores nothing" },
  'POST /api/v1beta/skills/validate': { exempt: 'a validation: reads a skill, writes nothing' },
  'POST /api/v1beta/skills/sync': { exempt: 'not implemented: answers 501 to every caller and stores nothing' },
  'POST /api/v1beta/skills/upgrade': { exempt: 'not implemented: answers 501 to every caller and stores nothing' },
});

// ---- MCP workloads (ToolHive's /api/v1beta/workloads; the administrator's, private) ----------

const EVERYTHING = realpathSync(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js'));
const workloadSpec = (name: string) => ({ name, command: process.execPath, cmd_arguments: [EVERYTHING, 'stdio'], permission_profile: { read: [realpathSync(join(EVERYTHING, '../../../..'))] } });
/** A running workload of the administrator's (its status settled, so the store stays still). */
const workload = async (w: World): Promise<{ name: string }> => {
  const name = uniqueName('wl');
  await must(w.admin.req('POST', '/api/v1beta/workloads', workloadSpec(name)), `workload ${name}`);
  for (let i = 0; i < 300; i++) {
    const r = await w.admin.req('GET', `/api/v1beta/workloads/${name}/status`);
    if ((r.body as { status?: string }).status === 'running') return { name };
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`workload ${name} did not start`);
};

const workloadEntries = (): Record<string, Entry | Exempt> => ({
  'POST /api/v1beta/workloads': { actor: 'admin', request: () => json('POST', '/api/v1beta/workloads', workloadSpec(uniqueName('wl'))) },
  'POST /api/v1beta/workloads/stop': { actor: 'admin', setup: workload, request: (_, s) => json('POST', '/api/v1beta/workloads/stop', { names: [s.name] }) },
  'POST /api/v1beta/workloads/restart': { actor: 'admin', setup: workload, request: (_, s) => json('POST', '/api/v1beta/workloads/restart', { names: [s.name] }) },
  'POST /api/v1beta/workloads/delete': { actor: 'admin', setup: workload, request: (_, s) => json('POST', '/api/v1beta/workloads/delete', { names: [s.name] }) },
  'DELETE /api/v1beta/workloads/:name': { actor: 'admin', setup: workload, request: (_, s) => json('DELETE', `/api/v1beta/workloads/${s.name}`) },
  'POST /api/v1beta/workloads/:name/edit': { actor: 'admin', setup: workload, request: (_, s) => json('POST', `/api/v1beta/workloads/${s.name}/edit`, { tools: ['echo'] }) },
  'POST /api/v1beta/workloads/:name/stop': { actor: 'admin', setup: workload, request: (_, s) => json('POST', `/api/v1beta/workloads/${s.name}/stop`) },
  'POST /api/v1beta/workloads/:name/restart': { actor: 'admin', setup: workload, request: (_, s) => json('POST', `/api/v1beta/workloads/${s.name}/restart`) },
  'POST /api/v1beta/workloads/:name/upgrade': { exempt: 'upgrades only registry-sourced workloads (refusals and the owner’s upgrade with rollback are tested in toolhive-workloads-registry.test.ts)' },
  'POST /workloads/:name/mcp': { exempt: 'the MCP proxy: forwards JSON-RPC to a workload the caller may read, stores nothing (refusals tested in toolhive-workloads.test.ts)' },
  'DELETE /workloads/:name/mcp': { exempt: 'the MCP proxy: ends the caller’s own proxy session, stores nothing' },
  'POST /workloads/:name/messages': { exempt: 'the MCP proxy (SSE): forwards JSON-RPC of the caller’s own session, stores nothing' },
  'POST /mcp': {
    exempt: "Agentry's MCP endpoint: each tool calls the core as the caller (start_workload/stop_workload refused to read-only tokens and non-owners: tested in mcp-server.test.ts)",
  },
  'DELETE /mcp': { exempt: "Agentry's MCP endpoint is stateless: DELETE always answers 405" },
});

// ---- ToolHive groups, clients and secrets (issue 15) ----------------------------------------

const toolhiveEntries = (): Record<string, Entry | Exempt> => {
  const registered = (w: World, name: string) => must(w.admin.req('POST', '/api/v1beta/clients/register', { names: [name], groups: ['default'] }), `registering ${name}`);
  const secret = async (w: World) => {
    const key = uniqueName('KEY').replace(/-/g, '_');
    await must(w.amy.req('POST', '/api/v1beta/secrets/default/keys', { key, value: 'v1' }), `creating secret ${key}`);
    return key;
  };
  const skill = async (w: World) => {
    const name = uniqueName('installable');
    await must(w.amy.publish(`/api/v1/skills/@orga/${name}`, await tarballFor('skills', name, '1.0.0')), `publishing skill ${name}`);
    return name;
  };
  return {
    'POST /api/v1beta/groups': { actor: 'admin', request: () => json('POST', '/api/v1beta/groups', { name: uniqueName('group') }) },
    'DELETE /api/v1beta/groups/:name': {
      actor: 'admin',
      setup: async (w) => (await must(w.admin.req('POST', '/api/v1beta/groups', { name: uniqueName('doomed') }), 'creating a group')).name,
      request: (_, name) => json('DELETE', `/api/v1beta/groups/${name}`),
    },
    'POST /api/v1beta/clients': { actor: 'admin', request: () => json('POST', '/api/v1beta/clients', { name: 'cursor' }) },
    'POST /api/v1beta/clients/register': { actor: 'admin', request: () => json('POST', '/api/v1beta/clients/register', { names: ['zed'], groups: ['default'] }) },
    'POST /api/v1beta/clients/unregister': { actor: 'admin', setup: (w) => registered(w, 'codex'), request: () => json('POST', '/api/v1beta/clients/unregister', { names: ['codex'] }) },
    'DELETE /api/v1beta/clients/:name': { actor: 'admin', setup: (w) => registered(w, 'goose'), request: () => json('DELETE', '/api/v1beta/clients/goose') },
    'DELETE /api/v1beta/clients/:name/groups/:group': { actor: 'admin', setup: (w) => registered(w, 'gemini-cli'), request: () => json('DELETE', '/api/v1beta/clients/gemini-cli/groups/default') },
    'POST /api/v1beta/skills': {
      setup: skill,
      request: (_, name) => json('POST', '/api/v1beta/skills', { name: `@orga/${name}`, clients: ['claude-code'] }),
      ownSpace: "installs for the caller's own account (another account's install of that folder is refused 409 in toolhive-skill-installs.test.ts)",
    },
    'DELETE /api/v1beta/skills/:name': {
      setup: async (w) => {
        const name = await skill(w);
        await must(w.amy.req('POST', '/api/v1beta/skills', { name: `@orga/${name}`, clients: ['cursor'] }), `installing ${name}`);
        return name;
      },
      request: (_, name) => json('DELETE', `/api/v1beta/skills/${name}`),
    },
    'POST /api/v1beta/secrets': { exempt: "confirms the server's secrets provider (chosen by its configuration); stores nothing" },
    'POST /api/v1beta/secrets/default/keys': { request: () => json('POST', '/api/v1beta/secrets/default/keys', { key: uniqueName('NEW').replace(/-/g, '_'), value: 'v' }), ownSpace: OWN_CREATE },
    'PUT /api/v1beta/secrets/default/keys/:key': { setup: secret, request: (_, key) => json('PUT', `/api/v1beta/secrets/default/keys/${key}`, { value: 'v2' }) },
    'DELETE /api/v1beta/secrets/default/keys/:key': { setup: secret, request: (_, key) => json('DELETE', `/api/v1beta/secrets/default/keys/${key}`) },
  };
};

// ---- evals (/v1/evals) ---------------------------------------------------------------------

/** Polls `check` until it answers true (an eval or session settling in the background). */
const settle = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not settle within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/**
 * An agent of A whose next model answer takes minutes: the fake provider's dev model is scripted
 * (its control endpoint) after the card's probe, so an eval of it stops with its one trial's
 * session waiting on the model, and the store stays still but for the workers' lease renewals.
 */
const slowAgent = async (w: World) => {
  const card = await modelCard(w);
  const env = await environment(w);
  const agent = await create(w.amy, '/v1/agents', { name: uniqueName('agent'), model: card.model_id, environment_id: env.id });
  const scripted = await fetch(`${w.providers.url}/oai/_dev-model/script`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': w.providers.goodKey },
    body: JSON.stringify({ turns: [{ text: 'late', delayMs: 600_000 }] }),
  });
  if (scripted.status !== 200) throw new Error(`could not script the fake provider: ${scripted.status}`);
  return agent.id as string;
};

/** A's sessions have all stopped running (a cancelled eval's session is interrupted after the request). */
const sessionsQuiet = (w: World) => settle("A's sessions", async () => (await w.amy.req('GET', '/v1/sessions?statuses[]=running&limit=100')).body.data.length === 0);

const evalEntries = (): Record<string, Entry | Exempt> => ({
  'POST /v1/evals/:id/cancel': {
    setup: async (w) => {
      const agent = await slowAgent(w);
      const run = await create(w.amy, '/v1/evals', { agent, cases: [{ id: 'slow', messages: ['hi'] }] });
      // Settled: the trial's message is sent and its session waits on the model.
      await settle('the eval', async () => {
        const r = (await w.amy.req('GET', `/v1/evals/${run.id}`)).body;
        const sid = r.cases[0].results[0].session_id;
        if (r.cases[0].results[0].messages_sent !== 1 || !sid) return false;
        return (await w.amy.req('GET', `/v1/sessions/${sid}/log`)).body.some((e: any) => e.type === 'span.model_request_start');
      });
      return run;
    },
    request: (_, r) => json('POST', `/v1/evals/${r.id}/cancel`),
  },
  'POST /v1/evals': {
    setup: async (w) => {
      await sessionsQuiet(w);
      return { agent: await slowAgent(w) };
    },
    request: (_, a) => json('POST', '/v1/evals', { agent: a.agent, cases: [{ messages: ['hi'] }] }),
    ownSpace: "starts an eval in the caller's own account (A's agent is not found for another account: a 400 of the SDK's shape)",
  },
});

const MATRIX: Record<string, Entry | Exempt> = {
  ...packageEntries(),
  ...managedEntries(),
  ...alquimiaEntries(),
  ...a2aEntries(),
  ...ociEntries(),
  ...mcpEntries(),
  ...recipeEntries(),
  ...nativeEntries(),
  ...toolhiveEntries(),
  // Last: the workloads these entries start keep running (and logging) while later entries are checked.
  ...workloadEntries(),
  // After them: the evals these entries start run in the background (their sessions wait on a slow model).
  ...evalEntries(),
};

// ---- the store, as one comparable value -----------------------------------------------------

/**
 * Columns no request of the entry under test writes: a token's last use (changed by a read), a
 * workload's observed state, which its supervisor writes when the server process starts, fails a
 * health check or restarts (requests change what is desired: `desired`, `config`, `updated_at`),
 * and the leases runtime workers hold and renew on running sessions and evals.
 */
const VOLATILE: Record<string, string[]> = {
  tokens: ['last_used_at'],
  workloads: ['status', 'status_context', 'started_at'],
  // The leases the runtime's workers renew while a session's turn or an eval runs.
  sessions: ['lease_owner', 'lease_until'],
  eval_runs: ['lease_owner', 'lease_until'],
  // The dispatcher's attempts at deliveries queued earlier (a request only ever queues one).
  webhook_deliveries: ['status', 'attempts', 'response_code', 'duration_ms', 'response_body', 'lease_owner', 'lease_until', 'updated_at'],
  // The sync runner's work on jobs started earlier (a request only ever inserts one, or cancels one and says so in the audit log).
  mirror_syncs: ['status', 'phase', 'done', 'total', 'checkpoint', 'report', 'error', 'started_at', 'finished_at', 'updated_at', 'lease_owner', 'lease_until'],
};

interface Store {
  snapshot(): Promise<string>;
  exec(sql: string, params: unknown[]): Promise<void>;
  close(): Promise<void>;
}

const listFiles = (dir: string, base = dir): string[] => {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    // Not the store: the database's own files, and the logs of running workloads (their servers write them on their own time).
    else if (!/^agentry\.db(-wal|-shm|-journal)?$/.test(e.name) && !p.slice(base.length + 1).startsWith(join('workloads', 'logs'))) out.push(`${p.slice(base.length + 1)}:${statSync(p).size}`);
  }
  return out.sort();
};

const canonical = (table: string, rows: Array<Record<string, unknown>>): string[] =>
  rows
    .map((r) => {
      const copy: Record<string, unknown> = {};
      for (const k of Object.keys(r).sort())
        if (!VOLATILE[table]?.includes(k)) copy[k] = r[k] instanceof Date ? (r[k] as Date).toISOString() : Buffer.isBuffer(r[k]) ? (r[k] as Buffer).toString('hex') : r[k];
      return JSON.stringify(copy);
    })
    .sort();

const openStore = async (server: TestServer): Promise<Store> => {
  if (server.store === 'sqlite') {
    const db = new Database(join(server.dataDir, 'agentry.db'));
    db.pragma('busy_timeout = 5000');
    const tables = () =>
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'agentry_migrations%'").all() as Array<{ name: string }>)
        .map((t) => t.name)
        .sort();
    return {
      snapshot: async () => {
        const out: Record<string, string[]> = {};
        for (const t of tables()) out[t] = canonical(t, db.prepare(`SELECT * FROM "${t}"`).all() as Array<Record<string, unknown>>);
        return JSON.stringify({ db: out, files: listFiles(server.dataDir) });
      },
      exec: async (sql, params) => void db.prepare(sql.replace(/\$\d+/g, '?')).run(...params),
      close: async () => void db.close(),
    };
  }
  const client = new pg.Client({ connectionString: process.env.AGENTRY_TEST_DATABASE_URL });
  await client.connect();
  await client.query(`SET search_path TO "${server.schema}"`);
  let everything: string | undefined;
  return {
    snapshot: async () => {
      if (!everything) {
        const { rows: tables } = await client.query<{ table_name: string }>(
          "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'agentry_migrations%' ORDER BY table_name",
          [server.schema],
        );
        // One round trip for every table: each as a JSON array of its rows.
        everything = `SELECT ${tables.map(({ table_name: t }) => `(SELECT coalesce(json_agg(x), '[]'::json) FROM "${t}" x) AS "${t}"`).join(', ')}`;
      }
      const row = (await client.query(everything)).rows[0] as Record<string, Array<Record<string, unknown>>>;
      const out: Record<string, string[]> = {};
      for (const t of Object.keys(row).sort()) out[t] = canonical(t, row[t]);
      return JSON.stringify({ db: out, files: listFiles(server.dataDir) });
    },
    exec: async (sql, params) => void (await client.query(sql, params)),
    close: () => client.end(),
  };
};

/** Where two snapshots differ, briefly: the tables or the files. */
const difference = (before: string, after: string): string => {
  const a = JSON.parse(before) as { db: Record<string, string[]>; files: string[] };
  const b = JSON.parse(after) as { db: Record<string, string[]>; files: string[] };
  const parts: string[] = [];
  for (const t of new Set([...Object.keys(a.db), ...Object.keys(b.db)])) {
    const x = a.db[t] ?? [];
    const y = b.db[t] ?? [];
    const added = y.filter((r) => !x.includes(r));
    const removed = x.filter((r) => !y.includes(r));
    if (added.length || removed.length) parts.push(`${t}: +${added.map((r) => r.slice(0, 200)).join(' | ')} -${removed.map((r) => r.slice(0, 200)).join(' | ')}`);
  }
  if (JSON.stringify(a.files) !== JSON.stringify(b.files))
    parts.push(`files: ${b.files.filter((f) => !a.files.includes(f)).join(', ')} / gone: ${a.files.filter((f) => !b.files.includes(f)).join(', ')}`);
  return parts.join('\n');
};

const send = async (server: TestServer, r: Req, authorization: string | undefined): Promise<{ status: number; body: string }> => {
  const headers: Record<string, string> = { ...r.headers };
  if (authorization) headers.authorization = authorization;
  let body: RequestInit['body'];
  if (r.body instanceof FormData || typeof r.body === 'string' || r.body instanceof Uint8Array) body = r.body as RequestInit['body'];
  else if (r.body !== undefined) {
    body = JSON.stringify(r.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(server.url + r.path, { method: r.method, headers, body });
  return { status: res.status, body: (await res.text()).slice(0, 300) };
};

/** The Docker token flow: the registry token granted to `authorization`'s Agentry token (as a Basic password) for `repo`, or undefined when refused. */
const registryToken = async (server: TestServer, repo: string, authorization: string | undefined): Promise<string | undefined> => {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = `Basic ${Buffer.from(`user:${authorization.replace(/^Bearer /, '')}`).toString('base64')}`;
  const res = await fetch(`${server.url}/v2/token?service=agentry&scope=${encodeURIComponent(`repository:${repo}:pull,push,delete`)}`, { headers });
  if (res.status !== 200) return undefined;
  return ((await res.json()) as { token: string }).token;
};

const isStateChanging = (method: string) => !['GET', 'HEAD', 'OPTIONS'].includes(method);

describe.each(testStores)('authorization matrix over every state-changing route (%s)', (store) => {
  let server: TestServer;
  let w: World;
  let db: Store;
  const auth: Record<Caller, string | undefined> = {} as Record<Caller, string | undefined>;
  const extraAuth: Record<ExtraCaller, string> = {} as Record<ExtraCaller, string>;
  let amyToken: string;

  beforeAll(async () => {
    // The fake model provider listens on loopback: allowed explicitly, as a user would.
    server = await startTestServer({ store, egressAllow: '127.0.0.1' });
    const admin = new Api(server.url, server.adminToken);
    const user = async (name: string) => (await must(admin.req('POST', '/api/v1/users', { username: name }), `user ${name}`)).token as string;
    amyToken = await user('amy');
    const amy = admin.with(amyToken);
    const bea = await user('bea');
    const cal = await user('cal');
    await user('dan');
    await user('eve');
    await user('fay');
    const gil = await user('gil');
    const hal = await user('hal');
    await must(admin.req('POST', '/api/v1/orgs', { name: 'orga', owner: 'amy' }), 'org O');
    await must(admin.req('POST', '/api/v1/orgs', { name: 'orgp', owner: 'dan' }), 'org P');
    await must(admin.req('PUT', '/api/v1/orgs/orgp/members/cal', { role: 'maintainer' }), 'maintainer of P');
    await must(admin.req('PUT', '/api/v1/orgs/orga/members/gil', { role: 'member' }), 'member of O');
    await must(admin.req('PUT', '/api/v1/orgs/orga/members/hal', { role: 'maintainer' }), 'maintainer of O');
    extraAuth['maintainer of O'] = `Bearer ${hal}`;
    await must(admin.req('POST', '/api/v1/scopes', { name: 'io.github.orga', owner: 'orga' }), 'MCP namespace of O');
    // The recipe door publishes to the server's recipe scope: A maintains it.
    await must(admin.req('PUT', '/api/v1/orgs/recipes/members/amy', { role: 'maintainer' }), 'recipe maintainer');

    const tokenOf = async (api: Api, body: Record<string, unknown>) => must(api.req('POST', '/api/v1/tokens', body), 'token') as Promise<{ id: number; token: string }>;
    const revoked = await tokenOf(amy, { name: 'revoked', permission: 'publish' });
    await must(amy.req('DELETE', `/api/v1/tokens/${revoked.id}`), 'revoking');
    const expired = await tokenOf(amy, { name: 'expired', permission: 'publish', expires_in_days: 1 });
    const readOnly = await tokenOf(amy, { name: 'read-only', permission: 'read' });
    // Runtime tokens are issued by an administrator (owner-access binds them to an account).
    const runtime = await tokenOf(admin, { name: 'runtime', permission: 'runtime' });

    auth['no token'] = undefined;
    auth['malformed token'] = 'Bearer not-a-token!';
    auth['revoked token of A'] = `Bearer ${revoked.token}`;
    auth['expired token of A'] = `Bearer ${expired.token}`;
    auth['read-only token of A'] = `Bearer ${readOnly.token}`;
    auth['token of another account B'] = `Bearer ${bea}`;
    auth['maintainer of another org P'] = `Bearer ${cal}`;
    auth['runtime token'] = `Bearer ${runtime.token}`;
    // Beyond the issue's list: a member of O, whose role only reads.
    auth['member of O (read role)'] = `Bearer ${gil}`;

    db = await openStore(server);
    await db.exec('UPDATE tokens SET expires_at = $1 WHERE id = $2', [new Date(Date.now() - 60_000).toISOString(), expired.id]);
    const providers = await startFakeProviders('sk-provider-good-key');
    w = { server, admin, amy, providers, host: new URL(server.url).host };
  });
  afterAll(async () => {
    await w?.providers.close();
    await db?.close();
    await server?.close();
  });

  it('has an entry for every state-changing route the server registers, and none for a route that is gone', () => {
    const routes = [...new Set(server.routes.filter((r) => isStateChanging(r.method)).map((r) => `${r.method} ${r.url}`))];
    const missing = routes.filter((r) => !(r in MATRIX));
    expect(missing, `state-changing routes with no entry in the authorization matrix:\n${missing.join('\n')}`).toEqual([]);
    const stale = Object.keys(MATRIX).filter((k) => !routes.includes(k));
    expect(stale, 'entries for routes the server no longer has').toEqual([]);
    expect(routes.length).toBeGreaterThan(100);
  });

  const entries = Object.entries(MATRIX).filter((e): e is [string, Entry] => !('exempt' in e[1]));

  /**
   * Waits until no workload is between states: a workload an earlier case's owner started, stopped or
   * restarted writes the client configs under home/ as it gets there (before its status says so), and
   * that write must not land inside this case's before/after snapshots.
   */
  const workloadsSettled = async (): Promise<void> => {
    const moving = new Set(['starting', 'stopping', 'removing']);
    for (let i = 0; i < 300; i++) {
      const r = await w.admin.req('GET', '/api/v1beta/workloads?all=true');
      const list = (r.body as { workloads?: Array<{ status?: string }> }).workloads ?? [];
      if (r.status === 200 && !list.some((x) => moving.has(x.status ?? ''))) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('workloads did not settle within 30 s');
  };

  it.each(entries)('%s: refused to every other caller, with nothing changed; the owner succeeds', async (key, entry) => {
    await workloadsSettled();
    const state = entry.setup ? await entry.setup(w) : undefined;
    await workloadsSettled();
    const failures: string[] = [];
    const before = await db.snapshot();
    for (const caller of CALLERS) {
      if (entry.ownSpace && OTHERS.includes(caller)) continue;
      const res = await send(server, entry.request(w, state), auth[caller]);
      if (![401, 403, 404].includes(res.status)) failures.push(`${caller}: answered ${res.status} ${res.body}`);
      if (entry.ociRepository && auth[caller]) {
        const basic = `Basic ${Buffer.from(`user:${auth[caller]!.replace(/^Bearer /, '')}`).toString('base64')}`;
        const viaBasic = await send(server, entry.request(w, state), basic);
        if (![401, 403, 404].includes(viaBasic.status)) failures.push(`${caller}, as a Basic password: answered ${viaBasic.status} ${viaBasic.body}`);
      }
      if (entry.ociRepository) {
        const jwt = await registryToken(server, entry.ociRepository(state), auth[caller]);
        if (jwt) {
          const viaJwt = await send(server, entry.request(w, state), `Bearer ${jwt}`);
          if (![401, 403, 404].includes(viaJwt.status)) failures.push(`${caller}, with the registry token it was granted: answered ${viaJwt.status} ${viaJwt.body}`);
        }
      }
    }
    for (const extra of entry.alsoRefused ?? []) {
      const res = await send(server, entry.request(w, state), extraAuth[extra]);
      if (![401, 403, 404].includes(res.status)) failures.push(`${extra}: answered ${res.status} ${res.body}`);
    }
    const after = await db.snapshot();
    if (after !== before) failures.push(`the store changed (see the callers above that were not refused):\n${difference(before, after)}`);
    expect(failures, `${key}\n${failures.join('\n')}`).toEqual([]);

    // The token flow itself works (so its refusals above are not a broken request): the owner gets one.
    if (entry.ociRepository) expect(await registryToken(server, entry.ociRepository(state), `Bearer ${amyToken}`), `${key}: no registry token for A`).toBeDefined();
    const actor = entry.actor === 'admin' ? `Bearer ${server.adminToken}` : `Bearer ${amyToken}`;
    const res = await send(server, entry.request(w, state), actor);
    if (entry.ok) expect(entry.ok, `${key}: the owner's request answered ${res.status} ${res.body}`).toContain(res.status);
    else expect(res.status, `${key}: the owner's request answered ${res.status} ${res.body}`).toBeLessThan(300);
    if (!entry.mayChangeNothing) expect(await db.snapshot(), `${key}: the owner's request changed nothing`).not.toBe(after);
  });
});
