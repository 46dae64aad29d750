/** The /v1/sessions client of the CLI, shared by `agentry session` and `agentry run`: calls, the SSE reader and the turn printer. */
import { CliError } from './cli-error.js';
import type { Connection } from './connection.js';
import { readJson } from './http-client.js';
import { truncate, writeLine } from './output.js';

/** The parts of the /v1 answers this command reads; every field may be missing from a server of another version. */
export interface Page<T> {
  data: T[];
  next_page?: string | null;
}
export interface AgentJson {
  id: string;
  name?: string;
}
interface Usage {
  input_tokens?: number;
  output_tokens?: number;
}
export interface SessionJson {
  id: string;
  status?: string;
  archived_at?: string | null;
  agent?: { id?: string; name?: string; version?: number; source?: { type?: string; name?: string; version?: string; suggested_prompts?: string[] } };
  environment_id?: string;
  title?: string | null;
  usage?: Usage;
  stats?: { active_seconds?: number };
  created_at?: string;
  updated_at?: string;
}
export interface StopReason {
  type?: string;
  event_ids?: string[];
}
interface ContentBlock {
  type?: string;
  text?: string;
}
/** An event of the session's log or stream, as the SSE frames and the events page carry it. */
export interface EventJson {
  id?: string;
  type?: string;
  processed_at?: string;
  message_id?: string;
  delta?: string;
  content?: ContentBlock[];
  name?: string;
  mcp_server_name?: string;
  input?: unknown;
  is_error?: boolean;
  error?: { type?: string; message?: string; retry_status?: { type?: string } };
  model_usage?: Usage;
  stop_reason?: StopReason;
}

export const managedUrl = (conn: Connection, path: string, query: Record<string, string | number | undefined> = {}): string => {
  const url = new URL(`${conn.registry}/v1${path}`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.append(k, String(v));
  return url.toString();
};

export const call = async <T>(conn: Connection, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, query?: Record<string, string | number | undefined>): Promise<T> => {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await conn.client.send(method, managedUrl(conn, path, query), { headers, body: body === undefined ? undefined : JSON.stringify(body), subject: path.split('/')[2] });
  return (await readJson(res)) as T;
};

/** Reads an SSE body frame by frame: each frame's `event:` name and parsed `data:`. */
export async function* frames(res: Response): AsyncGenerator<{ event: string; data: EventJson }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = '';
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (!event || data.length === 0) continue;
        let parsed: EventJson;
        try {
          parsed = JSON.parse(data.join('\n')) as EventJson;
        } catch {
          continue;
        }
        if (event === 'error') throw new CliError(`the stream failed: ${String(parsed.error?.message ?? 'unknown error')}`);
        yield { event, data: parsed };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

const inputSummary = (input: unknown): string => truncate(JSON.stringify(input ?? {}), 80);
const resultSummary = (e: EventJson): string => {
  const text = (Array.isArray(e.content) ? e.content : []).map((b) => (typeof b.text === 'string' ? b.text : `[${b.type}]`)).join(' ');
  const first = text.split('\n').find((l: string) => l.trim() !== '') ?? '';
  return `${e.is_error ? 'error: ' : ''}${truncate(first.trim(), 100) || (e.is_error ? 'failed' : 'done')}`;
};

/** Prints a turn as it streams: text as it arrives, tool calls folded to one line each, usage at the end. */
export class TurnPrinter {
  private inText = false;
  private streamed = new Set<string>();
  private usage = { input: 0, output: 0 };
  stopReason: StopReason | undefined;

  handle(event: string, e: EventJson): void {
    switch (event) {
      case 'agent.message_chunk':
        if (e.message_id) this.streamed.add(e.message_id);
        this.text(String(e.delta ?? ''));
        break;
      case 'agent.message':
        if (!e.id || !this.streamed.has(e.id)) this.text((e.content ?? []).map((b) => b.text ?? '').join(''));
        this.endText();
        break;
      case 'agent.tool_use':
      case 'agent.custom_tool_use':
      case 'agent.mcp_tool_use':
        this.endText();
        writeLine(`⚙ ${e.mcp_server_name ? `${e.mcp_server_name}/` : ''}${e.name}(${inputSummary(e.input)})${event === 'agent.custom_tool_use' ? ' [custom: waits for your result]' : ''}`);
        break;
      case 'agent.tool_result':
      case 'agent.mcp_tool_result':
        writeLine(`  ↳ ${resultSummary(e)}`);
        break;
      case 'session.error':
        this.endText();
        writeLine(`! ${e.error?.type ?? 'error'}: ${e.error?.message ?? ''}${e.error?.retry_status?.type === 'retrying' ? ' (retrying)' : ''}`);
        break;
      case 'span.model_request_end':
        this.usage.input += Number(e.model_usage?.input_tokens ?? 0);
        this.usage.output += Number(e.model_usage?.output_tokens ?? 0);
        break;
      case 'session.status_idle':
        this.endText();
        this.stopReason = e.stop_reason;
        break;
      case 'session.status_terminated':
        this.endText();
        this.stopReason = { type: 'terminated' };
        break;
    }
  }

  summary(sessionId: string): string {
    const reason = this.stopReason?.type ?? 'stopped';
    const waiting = reason === 'requires_action' ? ` (waiting on ${(this.stopReason?.event_ids ?? []).join(', ')})` : '';
    return `— ${reason}${waiting} · ${this.usage.input} input / ${this.usage.output} output tokens · ${sessionId}`;
  }

  private text(t: string): void {
    if (t === '') return;
    process.stdout.write(t);
    this.inText = true;
  }

  private endText(): void {
    if (this.inText) process.stdout.write('\n');
    this.inText = false;
  }
}

export const readStdin = async (): Promise<string> => {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
};

/** How a turn ended: the stop reason of its last idle (or terminated) event. */
export const turnFailed = (stop: StopReason | undefined): boolean => stop?.type === 'retries_exhausted' || stop?.type === 'terminated';

/**
 * Sends a user message and streams the turn (`POST /v1/sessions/:id/messages`) until the session is
 * idle or terminated: JSON lines with `json`, else printed by a `TurnPrinter`. Answers the stop reason.
 * `signal` cancels the stream (the turn itself is stopped by a `user.interrupt`, see `interruptTurn`).
 */
export const streamTurn = async (conn: Connection, sessionId: string, text: string, opts: { json?: boolean; signal?: AbortSignal } = {}): Promise<StopReason | undefined> => {
  const res = await conn.client.send('POST', managedUrl(conn, `/sessions/${encodeURIComponent(sessionId)}/messages`), {
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ content: text }),
    subject: sessionId,
  });
  const cancel = (): void => void res.body?.cancel().catch(() => undefined);
  opts.signal?.addEventListener('abort', cancel);
  const printer = new TurnPrinter();
  try {
    for await (const { event, data } of frames(res)) {
      if (opts.json) writeLine(JSON.stringify(data));
      else printer.handle(event, data);
      if (event === 'session.status_idle' || event === 'session.status_terminated') break;
    }
  } catch (e) {
    if (!opts.signal?.aborted) throw e;
  } finally {
    opts.signal?.removeEventListener('abort', cancel);
  }
  if (!opts.json) writeLine(printer.summary(sessionId));
  return printer.stopReason;
};

/** Interrupts the running turn of a session (`user.interrupt`). */
export const interruptTurn = (conn: Connection, sessionId: string): Promise<unknown> =>
  call(conn, 'POST', `/sessions/${encodeURIComponent(sessionId)}/events`, { events: [{ type: 'user.interrupt' }] });
