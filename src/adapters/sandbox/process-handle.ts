import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { SandboxedProcess } from '../../core/sandbox/sandbox.js';

/**
 * The `SandboxedProcess` handle of a started child: its pipes, a promise of how it ended (after
 * `onClose`, e.g. stopping its egress proxy) and the given way to signal it (the whole sandbox, or the
 * whole process group).
 */
export const processHandle = (child: ChildProcessWithoutNullStreams, pid: number, signalIt: (signal: NodeJS.Signals) => void, onClose?: () => void): SandboxedProcess => {
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('close', (code, signal) => {
      onClose?.();
      resolve({ code, signal });
    }),
  );
  return { pid, stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited, kill: (signal: NodeJS.Signals = 'SIGTERM') => signalIt(signal) };
};
