import type { AccessPolicy } from '../auth/access-policy.js';
import type { RequestContext } from '../auth/principal.js';
import type { AuditLog } from '../audit/audit-log.js';
import { badRequest } from '../errors.js';
import type { BlobStore } from './blob-store.js';
import type { Storage } from '../storage.js';
import type { Clock } from '../time.js';

export interface GcOptions {
  dryRun: boolean;
  /** Blobs younger than this are kept: a publish writes its blob before it commits the version. */
  graceSeconds: number;
}

export interface GcReport {
  removed: string[];
  freedBytes: number;
  kept: number;
  dryRun: boolean;
  /** Abandoned work removed by the other sweepers (e.g. OCI upload sessions), by name. */
  swept?: Record<string, number>;
}

/** Removes (or, on a dry run, counts) abandoned work of another concept; returns how much. */
export type Sweeper = (now: Date, dryRun: boolean) => Promise<number>;

/** Removes blobs no version (or other record) points at any more. */
export class GarbageCollector {
  private readonly sweepers = new Map<string, Sweeper>();

  constructor(
    private readonly storage: Storage,
    private readonly blobs: BlobStore,
    private readonly policy: AccessPolicy,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /** Also runs `sweeper` on every collection (say, to drop upload sessions abandoned long ago). */
  addSweeper(name: string, sweeper: Sweeper): void {
    this.sweepers.set(name, sweeper);
  }

  async collect(ctx: RequestContext, opts: GcOptions): Promise<GcReport> {
    this.policy.requireWritable();
    this.policy.requireAdmin(ctx);
    if (!(opts.graceSeconds >= 0)) throw badRequest('grace_seconds must be zero or more');
    const cutoff = this.clock.now().getTime() - opts.graceSeconds * 1000;
    // A blob pushed into an OCI repository is in use while younger than the grace period,
    // even before a manifest refers to it (the client pushes layers first, the manifest last).
    const linkedSince = new Date(cutoff).toISOString();
    const referenced = await this.storage.blobRefs.referencedDigests(linkedSince);
    const report: GcReport = { removed: [], freedBytes: 0, kept: 0, dryRun: opts.dryRun };
    for await (const blob of this.blobs.list()) {
      if (referenced.has(blob.digest) || blob.modifiedAt.getTime() > cutoff) {
        report.kept += 1;
        continue;
      }
      // Re-check just before deleting: a publish may have committed a reference meanwhile.
      if (!opts.dryRun) {
        const now = await this.storage.blobRefs.referencedDigests(linkedSince);
        if (now.has(blob.digest)) {
          report.kept += 1;
          continue;
        }
        await this.blobs.delete(blob.digest);
      }
      report.removed.push(blob.digest);
      report.freedBytes += blob.size;
    }
    for (const [name, sweep] of this.sweepers) (report.swept ??= {})[name] = await sweep(this.clock.now(), opts.dryRun);
    await this.audit.record(this.storage.audit, ctx, opts.dryRun ? 'blobs.gc.dry-run' : 'blobs.gc', 'blobs', {
      ...(report.swept ? { swept: report.swept } : {}),
      removed: report.removed.length,
      freed_bytes: report.freedBytes,
    });
    return report;
  }
}
