import { spawn as spawnChild } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { AgentryError } from '../../core/errors.js';
import { validateSandboxSpec } from '../../core/sandbox/profile.js';
import type { Sandbox, SandboxedProcess, SandboxProbe, SandboxSpec } from '../../core/sandbox/sandbox.js';
import { processHandle } from './process-handle.js';

/**
 * No sandbox: the process runs as the server's user with the server's view of the file system and
 * network. Only for `--unsafe-local-workloads` on a machine without bubblewrap; the profile is
 * still validated (so a profile that would be refused under the sandbox is refused here too), but its
 * mounts and network rules are not enforced. The environment is still only the spec's own.
 */
export class UnsandboxedRunner implements Sandbox {
  async probe(): Promise<SandboxProbe> {
    return { available: true, version: 'none (unsafe: no isolation)' };
  }

  async spawn(spec: SandboxSpec): Promise<SandboxedProcess> {
    validateSandboxSpec(spec);
    const env: Record<string, string> = { PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, HOME: tmpdir(), ...spec.env };
    const child = spawnChild(spec.command, spec.args, { env, cwd: spec.cwd ?? tmpdir(), stdio: ['pipe', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => reject(new AgentryError('unavailable', `Could not start ${spec.command}: ${e.message}`)));
    });
    const pid = child.pid;
    if (pid === undefined) throw new AgentryError('unavailable', `Could not start ${spec.command}`);
    return processHandle(child, pid, (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
}
