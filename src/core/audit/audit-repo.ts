/** Storage port of the audit log. */
import type { Page } from '../page.js';

export interface AuditRecord {
  id: number;
  at: string;
  actor: string | null;
  tokenId: number | null;
  action: string;
  target: string;
  ip: string | null;
  details: Record<string, unknown>;
}

export type NewAuditRecord = Omit<AuditRecord, 'id'>;

export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  offset: number;
  limit: number;
}

export interface AuditRepo {
  append(entry: NewAuditRecord): Promise<void>;
  /** Appends entries in order, all or none (one transaction). */
  appendMany(entries: NewAuditRecord[]): Promise<void>;
  list(q: AuditQuery): Promise<Page<AuditRecord>>;
}
