/**
 * Clean-ups of what a test helper made (a server, its temp folder and schema) that the test has not undone yet:
 * a test that fails before its own `close()` would otherwise leave them for the rest of the worker and in /tmp.
 * test/helpers/after-file.ts runs what is left after each test file.
 */
const pending = new Map<() => Promise<void>, string>();

/** Registers `cleanup` (named `what` in the warning) until the returned function is called. */
export const untilDone = (what: string, cleanup: () => Promise<void>): (() => void) => {
  pending.set(cleanup, what);
  return () => void pending.delete(cleanup);
};

/** Runs the clean-ups still registered, each once; a failing one does not stop the others. */
export const cleanUpLeftovers = async (): Promise<string[]> => {
  const left = [...pending];
  pending.clear();
  for (const [cleanup, what] of left) await cleanup().catch((e: unknown) => console.warn(`cleaning up ${what} failed: ${e instanceof Error ? e.message : String(e)}`));
  return left.map(([, what]) => what);
};
