import type { DesiredState, WorkloadRecord, WorkloadStatus } from './workload.js';

/** Where workloads are kept (SQL: table `workloads`, migration 0017-workloads), so they outlive a restart. */
export interface WorkloadStore {
  list(): Promise<WorkloadRecord[]>;
  get(name: string): Promise<WorkloadRecord | undefined>;
  /** Inserts a new workload; false when the name is taken. */
  insert(record: WorkloadRecord): Promise<boolean>;
  /** Replaces the configuration (edit, upgrade). */
  update(record: WorkloadRecord): Promise<void>;
  setDesired(name: string, desired: DesiredState, at: string): Promise<void>;
  /** The observed state, written by the supervisor; leaves `updatedAt` (the last change a request made) alone. */
  setStatus(name: string, status: WorkloadStatus, statusContext: string, startedAt?: string | null): Promise<void>;
  delete(name: string): Promise<boolean>;
}

/** How long a cached record is trusted without a write of this process invalidating it (another server process may write). */
const CACHE_TTL_MS = 2_000;

/**
 * A {@link WorkloadStore} that remembers `get` results, so the proxy's per-request check (does the
 * workload exist, may this caller read it) costs no database read. Every write through it drops
 * the record; entries also expire after {@link CACHE_TTL_MS}, for writes made by another process.
 */
export class CachedWorkloadStore implements WorkloadStore {
  private readonly cache = new Map<string, { record: WorkloadRecord | undefined; at: number }>();
  /** Bumped by every write, so a read that raced a write does not cache what it read. */
  private version = 0;

  constructor(
    private readonly store: WorkloadStore,
    private readonly now: () => number,
  ) {}

  private drop(name: string): void {
    this.version++;
    this.cache.delete(name);
  }

  async get(name: string): Promise<WorkloadRecord | undefined> {
    const hit = this.cache.get(name);
    if (hit && this.now() - hit.at < CACHE_TTL_MS) return hit.record;
    const version = this.version;
    const at = this.now();
    const record = await this.store.get(name);
    if (version === this.version) this.cache.set(name, { record, at });
    return record;
  }

  list(): Promise<WorkloadRecord[]> {
    return this.store.list();
  }

  async insert(record: WorkloadRecord): Promise<boolean> {
    try {
      return await this.store.insert(record);
    } finally {
      this.drop(record.name);
    }
  }

  async update(record: WorkloadRecord): Promise<void> {
    try {
      await this.store.update(record);
    } finally {
      this.drop(record.name);
    }
  }

  async setDesired(name: string, desired: DesiredState, at: string): Promise<void> {
    try {
      await this.store.setDesired(name, desired, at);
    } finally {
      this.drop(name);
    }
  }

  async setStatus(name: string, status: WorkloadStatus, statusContext: string, startedAt?: string | null): Promise<void> {
    try {
      await this.store.setStatus(name, status, statusContext, startedAt);
    } finally {
      this.drop(name);
    }
  }

  async delete(name: string): Promise<boolean> {
    try {
      return await this.store.delete(name);
    } finally {
      this.drop(name);
    }
  }
}
