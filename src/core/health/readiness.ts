import type { BlobStore } from '../blobs/blob-store.js';
import type { Storage } from '../storage.js';

/** One thing a ready server needs, and why it is not there. */
export interface ReadinessCheck {
  name: 'database' | 'migrations' | 'blobs';
  ok: boolean;
  /** Why not, when not ok: one line, without credentials. */
  reason?: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
}

/** No check may hold a probe longer than this. */
const CHECK_TIMEOUT_MS = 5_000;

const reasonOf = (e: unknown): string => {
  const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  // URLs can carry a password (postgres://user:pass@host): never echo one.
  const clean = message.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1***@').slice(0, 200);
  return code && !clean.includes(code) ? `${code}: ${clean}` : clean;
};

const within = async <T>(ms: number, work: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
};

const check = async (name: ReadinessCheck['name'], probe: () => Promise<string | undefined>): Promise<ReadinessCheck> => {
  try {
    const problem = await within(CHECK_TIMEOUT_MS, probe());
    return problem ? { name, ok: false, reason: problem } : { name, ok: true };
  } catch (e) {
    return { name, ok: false, reason: reasonOf(e) };
  }
};

/**
 * Whether this process can serve requests: the database answers, every migration this build
 * knows has been applied to it, and the blob store takes a write. Each check runs at once and
 * gives up after 5 s, so a probe of a hung dependency answers "not ready" rather than hanging.
 */
export const checkReadiness = async (storage: Storage, blobs: BlobStore): Promise<Readiness> => {
  const checks = await Promise.all([
    check('database', async () => {
      await storage.ping();
      return undefined;
    }),
    check('migrations', async () => {
      const pending = await storage.pendingMigrations();
      return pending.length > 0 ? `not applied: ${pending.join(', ')}` : undefined;
    }),
    check('blobs', async () => {
      await blobs.checkWritable();
      return undefined;
    }),
  ]);
  return { ready: checks.every((c) => c.ok), checks };
};
