/** One aggregate cell: runs of a version on a day, by outcome and duration bucket. */
export interface TelemetryCell {
  version: string;
  success: boolean;
  /** Index into the duration buckets (see duration-buckets.ts). */
  bucket: number;
  count: number;
}

/**
 * Storage port for telemetry, kept as counters only: one row per package, version, UTC day,
 * outcome and duration bucket. No event, IP or client detail is stored.
 */
export interface TelemetryRepo {
  increment(packageId: number, version: string, day: string, success: boolean, bucket: number): Promise<void>;
  /** Every cell of the package from `sinceDay` on, summed over days. */
  cells(packageId: number, sinceDay: string): Promise<TelemetryCell[]>;
  /** Drops counters of days before `beforeDay`; answers how many rows went. */
  prune(beforeDay: string): Promise<number>;
}
