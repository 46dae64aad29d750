import { coalesced } from '../coalesced.js';

/**
 * Runs a worker's `task` when woken and every `pollMs` while started (a background worker's loop:
 * webhook deliveries, package embeddings). Wake-ups while the task runs coalesce into one more run
 * (see coalesced); a stopped poller runs nothing.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly run: () => void;

  constructor(
    task: () => Promise<void>,
    private readonly pollMs: number,
    onError: (e: unknown) => void,
    /** Whether start() runs the task at once (true) or first after one poll interval. */
    private readonly runOnStart = true,
  ) {
    this.run = coalesced(async () => {
      if (!this.stopped) await task();
    }, onError);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref?.();
    if (this.runOnStart) this.wake();
  }

  /** Work may be waiting: look now rather than at the next poll. */
  wake(): void {
    if (!this.stopped) this.run();
  }

  /** Stops waking the task (a run in progress goes on; its owner waits for it). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }
}
