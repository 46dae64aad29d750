import type { Sandbox, SandboxSpec } from '../../src/core/sandbox/sandbox.js';

/** Runs a spec in a sandbox to the end: its exit code, stdout and stderr. */
export const runSandboxed = async (sandbox: Sandbox, spec: SandboxSpec): Promise<{ code: number | null; stdout: string; stderr: string }> => {
  const proc = await sandbox.spawn(spec);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const { code } = await proc.exited;
  return { code, stdout, stderr };
};
