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
