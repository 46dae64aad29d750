import type { CoreDeps } from '../core-deps.js';
import type { RequestContext } from '../auth/principal.js';
import { badRequest } from '../errors.js';

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

  constructor(private readonly deps: CoreDeps) {}

  /** Also runs `sweeper` on every collection (say, to drop upload sessions abandoned long ago). */
  addSweeper(name: string, sweeper: Sweeper): void {
    this.sweepers.set(name, sweeper);
  }

  async collect(ctx: RequestContext, opts: GcOptions): Promise<GcReport> {
    this.deps.policy.requireWritable();
    this.deps.policy.requireAdmin(ctx);
    if (!(opts.graceSeconds >= 0)) throw badRequest('grace_seconds must be zero or more');
    const cutoff = this.deps.clock.now().getTime() - opts.graceSeconds * 1000;
    // A blob pushed into an OCI repository is in use while younger than the grace period,
    // even before a manifest refers to it (the client pushes layers first, the manifest last).
    const linkedSince = new Date(cutoff).toISOString();
    const referenced = await this.deps.storage.blobRefs.referencedDigests(linkedSince);
    const report: GcReport = { removed: [], freedBytes: 0, kept: 0, dryRun: opts.dryRun };
    for await (const blob of this.deps.blobs.list()) {
      if (referenced.has(blob.digest) || blob.modifiedAt.getTime() > cutoff) {
        report.kept += 1;
        continue;
      }
      // Re-check just before deleting: a publish may have committed a reference meanwhile.
      if (!opts.dryRun) {
        const now = await this.deps.storage.blobRefs.referencedDigests(linkedSince);
        if (now.has(blob.digest)) {
          report.kept += 1;
          continue;
        }
        await this.deps.blobs.delete(blob.digest);
      }
      report.removed.push(blob.digest);
      report.freedBytes += blob.size;
    }
    for (const [name, sweep] of this.sweepers) (report.swept ??= {})[name] = await sweep(this.deps.clock.now(), opts.dryRun);
    await this.deps.audit.record(this.deps.storage.audit, ctx, opts.dryRun ? 'blobs.gc.dry-run' : 'blobs.gc', 'blobs', {
      ...(report.swept ? { swept: report.swept } : {}),
      removed: report.removed.length,
      freed_bytes: report.freedBytes,
    });
    return report;
  }
}
