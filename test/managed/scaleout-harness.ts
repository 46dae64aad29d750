import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { startTestModel, type DevModel } from '../helpers/dev-model.js';
import { Api } from '../helpers/packages.js';
import { dropTestSchema } from '../helpers/postgres.js';

/** How long a worker's lease on a session or an eval run lasts: a killed worker's work is taken again this soon. */
const LEASE_MS = '2000';

/**
 * Scale-out on one PostgreSQL database: built servers as child processes (so a test can SIGKILL
 * one) in a schema of their own, the dev model, and alice with a token. `api` runs no workers
 * (`AGENTRY_RUNTIME=false`); `worker()` starts another process that does.
 */
export interface ScaleOut {
  model: DevModel;
  api: ChildServer;
  alice: Api;
  aliceToken: string;
  /** Another process on the same database, running the session runtime and the eval runner. */
  worker(): Promise<ChildServer>;
  /** Kills every process, stops the model, removes the data dirs and the schema. */
  close(): Promise<void>;
}

export const startScaleOut = async (databaseUrl: string): Promise<ScaleOut> => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const adminToken = `agentry_${randomBytes(32).toString('base64url')}`;
  const secretKey = randomBytes(32).toString('hex');
  const dirs: string[] = [];
  const children: ChildServer[] = [];
  const child = async (runtime: boolean): Promise<ChildServer> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'agentry-scaleout-'));
    dirs.push(dataDir);
    const extra = { AGENTRY_SECRET_KEY: secretKey, AGENTRY_EGRESS_ALLOW: '127.0.0.1', AGENTRY_RUNTIME: String(runtime), AGENTRY_RUNTIME_LEASE_MS: LEASE_MS };
    const c = await startChildServer({ dataDir, adminToken, databaseUrl, databaseSchema: schema, extra });
    children.push(c);
    return c;
  };
  const close = async (): Promise<void> => {
    for (const c of children) await c.kill();
    await model?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await dropTestSchema(schema);
  };
  let model: DevModel | undefined;
  try {
    model = await startTestModel();
    const api = await child(false);
    const admin = new Api(api.url, adminToken);
    const u = await admin.req('POST', '/api/v1/users', { username: 'alice' });
    if (u.status !== 201) throw new Error(`could not create alice: ${u.status} ${JSON.stringify(u.body)}`);
    return { model, api, alice: admin.with(u.body.token), aliceToken: u.body.token, worker: () => child(true), close };
  } catch (e) {
    await close();
    throw e;
  }
};
