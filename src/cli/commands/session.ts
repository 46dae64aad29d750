import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect, requireToken, type Connection } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { formatDate, printJson, printResult, renderTable, truncate, writeLine } from '../output.js';
import { call, frames, managedUrl, readStdin, streamTurn, turnFailed, TurnPrinter, type AgentJson, type EventJson, type Page, type SessionJson } from '../session-stream.js';
import { nextStopSignal } from '../stop-signal.js';

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
    if (turnFailed(await streamTurn(conn, sessionId, text, { json: opts.json }))) process.exitCode = 1;
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
        if (opts.untilIdle && (event === 'session.status_idle' || event === 'session.status_terminated')) break;
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
