import { randomUUID } from 'node:crypto';
import type { SandboxedProcess } from '../../core/sandbox/sandbox.js';
import { TOOL_OUTPUT_LIMIT, truncateOutput } from '../../core/tools/builtin-toolset.js';

/**
 * A persistent bash over pipes (no terminal): cwd, variables and functions survive from one call to
 * the next, as the toolset's `bash` promises. Each command is sent base64-encoded and `eval`ed inside a
 * brace group with stdin from /dev/null and stderr joined to stdout, then a per-call random marker with
 * the exit status is printed: nothing the command prints or contains can fake the end of its output or
 * break the framing.
 *
 * Output is kept bounded while it streams: the first half of the limit and the last half (plus room for
 * the marker); what falls in between is counted and reported, never buffered.
 */

export interface ShellOutcome {
  /** The output to show (already cut to the limit, with a note when cut). */
  output: string;
  /** The command's exit status, when it finished. */
  exitCode?: number;
  /** Why it did not finish: timed out, interrupted, or the shell itself exited (`exit`, a crash). */
  ended?: { type: 'timeout'; ms: number } | { type: 'aborted' } | { type: 'shell_exited'; code: number | null; signal: string | null };
}

// eslint-disable-next-line no-control-regex -- ANSI escape sequences start with ESC
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
const MARKER_ROOM = 4096;

export class BashShell {
  private head = '';
  private tail = '';
  private omitted = 0;
  private waiting: ((found: boolean) => void) | undefined;
  private marker = '';
  private dead = false;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;

  constructor(
    private readonly proc: SandboxedProcess,
    private readonly limit = TOOL_OUTPUT_LIMIT,
  ) {
    const onData = (d: Buffer) => this.append(d.toString('utf8'));
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.stdin.on('error', () => undefined);
    this.exited = proc.exited.then((r) => {
      this.dead = true;
      this.waiting?.(false);
      return r;
    });
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Kills the shell and every process it started (the sandbox's whole process tree). */
  kill(): void {
    this.dead = true;
    this.proc.kill('SIGKILL');
  }

  /** Runs one command; resolves when it ends, times out, is aborted, or the shell dies. Never rejects. */
  async run(command: string, timeoutMs: number, signal?: AbortSignal): Promise<ShellOutcome> {
    if (this.dead) return { output: '', ended: { type: 'shell_exited', code: null, signal: null } };
    this.head = '';
    this.tail = '';
    this.omitted = 0;
    this.marker = `__AGENTRY_DONE_${randomUUID()}__`;
    const encoded = Buffer.from(command, 'utf8').toString('base64');
    // The marker is written split in two so that it never appears whole in what is sent.
    const half = this.marker.length >> 1;
    const script = `{ eval "$(printf %s '${encoded}' | base64 -d)"\n} </dev/null 2>&1; printf '\\n%s%s%d\\n' '${this.marker.slice(0, half)}' '${this.marker.slice(half)}' $?\n`;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const outcome = await new Promise<'done' | 'timeout' | 'aborted' | 'exited'>((resolve) => {
      this.waiting = (found) => resolve(found ? 'done' : 'exited');
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      if (signal) {
        onAbort = () => resolve('aborted');
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
      this.proc.stdin.write(script);
      this.check();
    });
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    this.waiting = undefined;
    if (outcome === 'done') {
      const text = this.text();
      const at = text.lastIndexOf(this.marker);
      const status = /^(-?\d+)/.exec(text.slice(at + this.marker.length));
      return { output: this.shown(text.slice(0, at)), exitCode: status ? Number(status[1]) : -1 };
    }
    if (outcome === 'exited') {
      const r = await this.exited;
      return { output: this.shown(this.text()), ended: { type: 'shell_exited', code: r.code, signal: r.signal } };
    }
    // Timed out or interrupted: the command may still run and would print a stale marker later, so the
    // shell (and everything it started) goes, and the next call starts a new one.
    this.kill();
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    return { output: this.shown(this.text()), ended: outcome === 'timeout' ? { type: 'timeout', ms: timeoutMs } : { type: 'aborted' } };
  }

  private append(d: string): void {
    const half = this.limit >> 1;
    if (this.head.length < half && this.omitted === 0 && this.tail === '') {
      const take = half - this.head.length;
      this.head += d.slice(0, take);
      d = d.slice(take);
    }
    this.tail += d;
    const keep = half + MARKER_ROOM;
    if (this.tail.length > keep) {
      this.omitted += this.tail.length - keep;
      this.tail = this.tail.slice(this.tail.length - keep);
    }
    this.check();
  }

  private text(): string {
    return this.head + this.tail;
  }

  private check(): void {
    if (!this.waiting || this.marker === '') return;
    const end = this.text();
    const at = end.lastIndexOf(this.marker);
    if (at >= 0 && /^-?\d+\n/.test(end.slice(at + this.marker.length))) this.waiting(true);
  }

  /** The output without colour codes and trailing newlines, cut to the limit with a note. */
  private shown(raw: string): string {
    const clean = raw.replace(ANSI, '').replace(/\n+$/, '');
    return truncateOutput(clean, this.limit, this.omitted);
  }
}
