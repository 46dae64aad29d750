import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken, type Connection } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { readJson } from '../http-client.js';
import { formatDate, printJson, printResult, renderTable, truncate, writeLine } from '../output.js';
import { nextStopSignal } from '../stop-signal.js';

/** The parts of the /v1 answers this command reads; every field may be missing from a server of another version. */
interface Page<T> {
  data: T[];
  next_page?: string | null;
}
interface AgentJson {
  id: string;
  name?: string;
}
interface Usage {
  input_tokens?: number;
  output_tokens?: number;
}
interface SessionJson {
  id: string;
  status?: string;
  archived_at?: string | null;
  agent?: { id?: string; name?: string; version?: number };
  environment_id?: string;
  title?: string | null;
  usage?: Usage;
  stats?: { active_seconds?: number };
  created_at?: string;
  updated_at?: string;
}
interface StopReason {
  type?: string;
  event_ids?: string[];
}
interface ContentBlock {
  type?: string;
  text?: string;
}
/** An event of the session's log or stream, as the SSE frames and the events page carry it. */
interface EventJson {
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

const managedUrl = (conn: Connection, path: string, query: Record<string, string | number | undefined> = {}): string => {
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
async function* frames(res: Response): AsyncGenerator<{ event: string; data: EventJson }> {
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
class TurnPrinter {
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

const readStdin = async (): Promise<string> => {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
};

/** An agent id, or the id of the caller's newest agent with that name. */
export const resolveAgent = async (conn: Connection, ref: string): Promise<string> => {
  if (/^agent_/.test(ref)) return ref;
  let page: string | undefined;
  for (let i = 0; i < 50; i++) {
    const r = await call<Page<AgentJson>>(conn, 'GET', '/agents', undefined, { limit: 100, page });
    const hit = r.data.find((a) => a.name === ref);
    if (hit) return hit.id;
    if (!r.next_page) break;
    page = r.next_page;
  }
  throw new CliError(`no agent named '${ref}' (pass its id, agent_…)`);
};

type RunOptions = RegistryOptions & JsonOption & { environment?: string; session?: string; title?: string };
type ListOptions = RegistryOptions & JsonOption & { agent?: string; status?: string; limit?: string; all?: boolean };
type TailOptions = RegistryOptions & JsonOption & { replay?: boolean; untilIdle?: boolean };

/** `agentry session …`: run an agent turn in the terminal, list, show, follow and delete sessions (the /v1/sessions API). */
export const registerSessionCommand = (program: Command): void => {
  const session = program.command('session').description('Managed-agent sessions (the /v1/sessions API): run a turn, list, show, tail, delete');

  withJsonOption(
    withRegistryOptions(
      session
        .command('run')
        .description('Send a prompt to an agent and stream its turn: text as it arrives, tool calls folded, usage at the end (a new session unless --session)')
        .argument('<agent>', 'the agent: its id (agent_…) or its name')
        .argument('[prompt]', 'what to say (default: read from stdin)')
        .option('--environment <id>', "the environment (default: the agent's)")
        .option('--session <id>', 'continue this session instead of starting one')
        .option('--title <title>', 'the new session title'),
    ),
  ).action(async (agentRef: string, prompt: string | undefined, opts: RunOptions) => {
    const conn = await connect(opts);
    requireToken(conn);
    const text = prompt ?? (process.stdin.isTTY ? undefined : (await readStdin()).trim());
    if (!text) throw new CliError('say something: pass a prompt or pipe it on stdin');
    let sessionId = opts.session;
    if (!sessionId) {
      const agent = await resolveAgent(conn, agentRef);
      const s = await call<SessionJson>(conn, 'POST', '/sessions', { agent, ...(opts.environment ? { environment_id: opts.environment } : {}), ...(opts.title ? { title: opts.title } : {}) });
      sessionId = s.id;
      if (!opts.json) process.stderr.write(`session ${sessionId}\n`);
    }
    const res = await conn.client.send('POST', managedUrl(conn, `/sessions/${encodeURIComponent(sessionId)}/messages`), {
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ content: text }),
      subject: sessionId,
    });
    const printer = new TurnPrinter();
    for await (const { event, data } of frames(res)) {
      if (opts.json) writeLine(JSON.stringify(data));
      else printer.handle(event, data);
      if (event === 'session.status_idle') break;
    }
    if (!opts.json) writeLine(printer.summary(sessionId));
    if (printer.stopReason?.type === 'retries_exhausted') process.exitCode = 1;
  });

  withJsonOption(
    withRegistryOptions(
      session
        .command('ls')
        .description('List your sessions, newest first')
        .option('--agent <id>', 'only sessions of this agent')
        .option('--status <status>', 'only idle, running, rescheduling or terminated sessions')
        .option('--limit <n>', 'at most this many (default 20)')
        .option('--all', 'archived sessions too'),
    ),
  ).action(async (opts: ListOptions) => {
    const conn = await connect(opts);
    requireToken(conn);
    const r = await call<Page<SessionJson>>(conn, 'GET', '/sessions', undefined, {
      agent_id: opts.agent,
      'statuses[]': opts.status,
      limit: opts.limit ?? 20,
      include_archived: opts.all ? 'true' : undefined,
    });
    const rows = r.data;
    printResult(opts.json === true, rows, () =>
      rows.length === 0
        ? 'No sessions.'
        : renderTable(
            ['ID', 'STATUS', 'AGENT', 'TITLE', 'TOKENS', 'CREATED'],
            rows.map((s) => [
              s.id,
              s.status ?? '-',
              `${s.agent?.name ?? s.agent?.id} v${s.agent?.version}`,
              truncate(s.title ?? '', 30),
              `${s.usage?.input_tokens ?? 0}/${s.usage?.output_tokens ?? 0}`,
              formatDate(s.created_at),
            ]),
          ),
    );
  });

  withJsonOption(withRegistryOptions(session.command('show').description('Show a session: status, agent, usage and its last events').argument('<id>', 'the session id (sesn_…)'))).action(
    async (id: string, opts: RegistryOptions & JsonOption) => {
      const conn = await connect(opts);
      requireToken(conn);
      const s = await call<SessionJson>(conn, 'GET', `/sessions/${encodeURIComponent(id)}`);
      const events = await call<Page<EventJson>>(conn, 'GET', `/sessions/${encodeURIComponent(id)}/events`, undefined, { limit: 10, order: 'desc' });
      printResult(opts.json === true, { ...s, recent_events: events.data }, () => [
        `${s.id}  ${s.status}${s.archived_at ? ' (archived)' : ''}`,
        `agent:       ${s.agent?.name} (${s.agent?.id} v${s.agent?.version})`,
        `environment: ${s.environment_id}`,
        ...(s.title ? [`title:       ${s.title}`] : []),
        `usage:       ${s.usage?.input_tokens ?? 0} input / ${s.usage?.output_tokens ?? 0} output tokens, ${s.stats?.active_seconds ?? 0} s active`,
        `created:     ${formatDate(s.created_at)}   updated: ${formatDate(s.updated_at)}`,
        'recent events:',
        ...events.data.reverse().map((e) => `  ${formatDate(e.processed_at)}  ${e.type}${e.type === 'session.status_idle' ? ` (${e.stop_reason?.type})` : ''}`),
      ]);
    },
  );

  withJsonOption(
    withRegistryOptions(
      session
        .command('tail')
        .description("Follow a session's events as they happen (Ctrl-C to stop)")
        .argument('<id>', 'the session id (sesn_…)')
        .option('--replay', 'print the whole history first')
        .option('--until-idle', 'stop when the session goes idle'),
    ),
  ).action(async (id: string, opts: TailOptions) => {
    const conn = await connect(opts);
    requireToken(conn);
    const ac = new AbortController();
    void nextStopSignal().then(() => ac.abort());
    const res = await conn.client.send('GET', managedUrl(conn, `/sessions/${encodeURIComponent(id)}/events/stream`, { include: 'chunks', replay: opts.replay ? 1 : undefined }), {
      headers: { accept: 'text/event-stream' },
      subject: id,
    });
    ac.signal.addEventListener('abort', () => void res.body?.cancel().catch(() => undefined));
    const printer = new TurnPrinter();
    try {
      for await (const { event, data } of frames(res)) {
        if (opts.json) writeLine(JSON.stringify(data));
        else if (event === 'agent.message_chunk' || event.startsWith('agent.') || event === 'session.error') printer.handle(event, data);
        else if (event === 'session.status_idle') {
          printer.handle(event, data);
          writeLine(`[idle: ${data.stop_reason?.type}]`);
        } else if (event !== 'span.model_request_start') writeLine(`[${event}]`);
        if (opts.untilIdle && event === 'session.status_idle') break;
      }
    } catch (e) {
      if (!ac.signal.aborted) throw e;
    }
  });

  withJsonOption(withRegistryOptions(session.command('rm').description('Delete a session and its events (refused while it runs)').argument('<id>', 'the session id (sesn_…)'))).action(
    async (id: string, opts: RegistryOptions & JsonOption) => {
      const conn = await connect(opts);
      requireToken(conn);
      const r = await call<unknown>(conn, 'DELETE', `/sessions/${encodeURIComponent(id)}`);
      if (opts.json) printJson(r);
      else writeLine(`Deleted ${id}`);
    },
  );
};
