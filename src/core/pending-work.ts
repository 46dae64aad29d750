/**
 * Work started and not awaited (a process being ended, a reply being relayed), kept until it
 * settles, so that a shutdown can wait for it: what was let go of still ends before the server does.
 */
export class PendingWork {
  private readonly pending = new Set<Promise<void>>();

  /** Keeps `work` until it settles, and answers it as it is (its failure is the caller's to handle). */
  track<T>(work: Promise<T>): Promise<T> {
    const forget = (): void => {
      this.pending.delete(settled);
    };
    const settled: Promise<void> = work.then(forget, forget);
    this.pending.add(settled);
    return work;
  }

  /** Resolves once everything tracked so far has settled (never rejects). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
