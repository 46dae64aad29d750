import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { SandboxedProcess } from '../../core/sandbox/sandbox.js';

/** A started child as the sandbox port's `SandboxedProcess`; `onClose` runs once it has ended. */
export const sandboxedProcessOf = (child: ChildProcessWithoutNullStreams, pid: number, onClose: () => void = () => undefined): SandboxedProcess => ({
  pid,
  stdin: child.stdin,
  stdout: child.stdout,
  stderr: child.stderr,
  exited: new Promise((resolve) =>
    child.once('close', (code, signal) => {
      onClose();
      resolve({ code, signal });
    }),
  ),
  kill: (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  },
});
