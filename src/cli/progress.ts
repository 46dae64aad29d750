import { formatBytes } from './output.js';

/** Where a progress bar draws: stderr, or a fake one in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

/** One frame: `Uploading [#######-------------]  35%  1.2 MB / 3.4 MB`. */
export const renderProgress = (label: string, done: number, total: number, barWidth = 24, format: (n: number) => string = formatBytes): string => {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * barWidth);
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${percent}  ${format(done)} / ${format(total)}`;
};

/**
 * A one-line progress bar redrawn in place with `\r`. It draws only on a TTY; elsewhere it stays
 * silent, so logs and pipes get just the final result line.
 */
export class ProgressBar {
  private lastDrawn = -1;
  private lastAt = Number.NEGATIVE_INFINITY;
  private done = 0;
  readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
    private readonly now: () => number = Date.now,
    /** How counts are shown: bytes by default (`1.2 MB`), or items (`4 tags`). */
    private readonly format: (n: number) => string = formatBytes,
  ) {
    this.enabled = stream.isTTY === true;
  }

  /** Adds `bytes` to the count and redraws at most every 50 ms (and on every new percent at the end). */
  advance(bytes: number): void {
    this.moveTo(this.done + bytes);
  }

  /** Sets the count (progress read from elsewhere, such as a server's job) and redraws as `advance` does. */
  moveTo(done: number): void {
    this.done = Math.min(this.total, done);
    if (!this.enabled) return;
    const t = this.now();
    const percent = this.total > 0 ? Math.floor((this.done / this.total) * 100) : 100;
    if (percent === this.lastDrawn || (t - this.lastAt < 50 && this.done < this.total)) return;
    this.draw();
    this.lastDrawn = percent;
    this.lastAt = t;
  }

  /** Draws the final frame and ends the line. */
  finish(): void {
    if (!this.enabled) return;
    this.done = this.total;
    if (this.lastDrawn < 100) this.draw();
    this.stream.write('\n');
  }

  /** Wipes the bar (on failure), so the error line starts clean. */
  clear(): void {
    if (this.enabled && this.lastDrawn >= 0) this.stream.write('\r\x1b[K');
  }

  private draw(): void {
    const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 50));
    this.stream.write(`\r${renderProgress(this.label, this.done, this.total, width, this.format)}\x1b[K`);
  }
}
