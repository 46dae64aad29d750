import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, ok } from '../api/client';
import type { Json } from '../api/types';
import { useSession } from '../session';
import { follow } from '../sse';
import { Badge, Empty, ErrorBox, formatDate, Loading, Table, useAction, useAsync, useTitle } from '../ui';
import { ManagedNav } from './managed-nav';

type Session = Json<'/v1/sessions/{id}', 'get'>;
type Ev = Record<string, unknown> & { id?: string; type: string };

const STATUSES = ['idle', 'running', 'rescheduling', 'terminated'] as const;
const tone = (s: string) => (s === 'running' ? 'ok' : s === 'idle' ? 'info' : s === 'terminated' ? 'muted' : 'warn');

const SignInFirst = () => (
  <Empty title="Sessions belong to an account.">
    <a href="/sign-in">Sign in</a> to see yours.
  </Empty>
);

/** `/sessions`: the caller's sessions, filtered by status in the URL, and a form to start one. */
export const Sessions = () => {
  const { query, route } = useLocation();
  const { me, checked } = useSession();
  useTitle('Sessions');
  const status = STATUSES.find((s) => s === query.status);
  const page = query.page || undefined;
  const list = useAsync(() => (me ? ok(api.GET('/v1/sessions/', { params: { query: { limit: 20, page, status: status ? [status] : undefined } } })) : Promise.resolve(undefined)), [me?.username, status, page]);
  if (!checked) return <Loading what="sessions" />;
  if (!me) return <SignInFirst />;
  const href = (s: string | undefined) => (s ? `/sessions?status=${s}` : '/sessions');
  return (
    <div class="managed">
      <ManagedNav current="sessions" />
      <section aria-labelledby="sessions-title">
        <h1 id="sessions-title">Sessions</h1>
        <nav class="tabs" aria-label="Filter by status">
          <a href={href(undefined)} aria-current={!status ? 'page' : undefined}>
            All
          </a>
          {STATUSES.map((s) => (
            <a key={s} href={href(s)} aria-current={status === s ? 'page' : undefined}>
              {s[0].toUpperCase() + s.slice(1)}
            </a>
          ))}
        </nav>
        {list.error ? (
          <ErrorBox error={list.error} title="Your sessions could not be listed" />
        ) : !list.data ? (
          <Loading what="sessions" />
        ) : list.data.data.length === 0 ? (
          <Empty title={status ? `No ${status} sessions.` : 'No sessions yet.'}>Start one below, or with the SDK: <code>client.beta.sessions.create(…)</code>.</Empty>
        ) : (
          <>
            <Table caption="Sessions" columns={['Session', 'Status', 'Agent', 'Tokens in / out', 'Created']}>
              {list.data.data.map((s) => (
                <tr key={s.id}>
                  <td>
                    <a href={`/sessions/${encodeURIComponent(s.id)}`}>{s.title || s.id}</a>
                    {s.title && <div class="muted small mono">{s.id}</div>}
                  </td>
                  <td>
                    <Badge tone={tone(s.status)}>{s.status}</Badge>
                  </td>
                  <td>{String((s.agent as { name?: unknown }).name ?? '')}</td>
                  <td>
                    {num(s.usage.input_tokens)} / {num(s.usage.output_tokens)}
                  </td>
                  <td>{formatDate(s.created_at as string)}</td>
                </tr>
              ))}
            </Table>
            {list.data.next_page && (
              <p>
                <a href={`/sessions?${new URLSearchParams({ ...(status ? { status } : {}), page: list.data.next_page }).toString()}`}>Older sessions →</a>
              </p>
            )}
          </>
        )}
        <NewSession agent={query.agent} onCreated={(id) => route(`/sessions/${encodeURIComponent(id)}`)} />
      </section>
    </div>
  );
};

const num = (v: unknown): string => (typeof v === 'number' ? v.toLocaleString() : '0');

const NewSession = ({ agent, onCreated }: { agent?: string; onCreated: (id: string) => void }) => {
  const agents = useAsync(() => ok(api.GET('/v1/agents/', { params: { query: { limit: 100 } } })), []);
  const envs = useAsync(() => ok(api.GET('/v1/environments/', { params: { query: { limit: 100 } } })), []);
  const { busy, error, run } = useAction();
  return (
    <form
      class="row"
      aria-labelledby="new-session-title"
      onSubmit={(e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        void run(async () => {
          const s = await ok(
            api.POST('/v1/sessions/', {
              body: { agent: String(data.get('agent')), environment_id: String(data.get('environment') || '') || undefined, title: String(data.get('title') || '') || undefined },
            }),
          );
          onCreated(s.id);
        });
      }}
    >
      <h2 id="new-session-title" class="sr-only">
        Start a session
      </h2>
      <label>
        Agent
        <select name="agent" required>
          {(agents.data?.data ?? []).map((a) => (
            <option key={a.id} value={a.id} selected={a.id === agent}>
              {a.name} (v{a.version})
            </option>
          ))}
        </select>
      </label>
      <label>
        Environment
        <select name="environment">
          <option value="">The agent’s own</option>
          {(envs.data?.data ?? []).map((en) => (
            <option key={en.id} value={en.id}>
              {en.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Title
        <input name="title" placeholder="optional" />
      </label>
      <button type="submit" disabled={busy || !agents.data?.data.length}>
        Start a session
      </button>
      {agents.data && agents.data.data.length === 0 && (
        <p class="muted">
          Create an agent first (<a href="/managed/agents">Managed agents</a>).
        </p>
      )}
      {error && <ErrorBox error={error} title="The session could not be started" />}
    </form>
  );
};

/** The text of a content array (text blocks), or its JSON. */
const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c) => (c && typeof c === 'object' && 'text' in c ? String((c as { text: unknown }).text) : JSON.stringify(c))).join('\n');
  return content === undefined ? '' : JSON.stringify(content, null, 2);
};
const json = (v: unknown) => JSON.stringify(v, null, 2);

/** The events that answer a tool call, by the call's id. */
const answerOf = (e: Ev): string | undefined =>
  e.type === 'agent.tool_result' || e.type === 'agent.mcp_tool_result' ? String(e.tool_use_id ?? e.mcp_tool_use_id ?? '') : e.type === 'user.custom_tool_result' ? String(e.custom_tool_use_id ?? '') : undefined;
const isToolUse = (t: string) => t === 'agent.tool_use' || t === 'agent.custom_tool_use' || t === 'agent.mcp_tool_use';

/** `/sessions/:id`: the live view, the event log replayed then tailed over SSE. */
export const SessionView = () => {
  const { params } = useRoute();
  const id = params.id;
  const { me, checked } = useSession();
  useTitle(`Session ${id}`);
  const info = useAsync(() => (me ? ok(api.GET('/v1/sessions/{id}', { params: { path: { id } } })) : Promise.resolve(undefined)), [id, me?.username]);
  const [events, setEvents] = useState<Ev[]>([]);
  // The text of agent messages still being written (event_start / event_delta previews), by message id.
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [stream, setStream] = useState<{ state: string; message?: string }>({ state: 'connecting' });
  const seen = useRef(new Set<string>());
  const reload = info.reload;
  useEffect(() => {
    if (!me) return undefined;
    setEvents([]);
    setDrafts({});
    seen.current = new Set();
    return follow(`/v1/sessions/${encodeURIComponent(id)}/events/stream?replay=1&event_deltas%5B%5D=agent.message`, {
      onEvent: (_type, data) => {
        const e = data as Ev;
        if (!e || typeof e !== 'object' || typeof e.type !== 'string') return;
        if (e.type === 'event_start') {
          const of = e.event as { id?: string; type?: string } | undefined;
          if (of?.type === 'agent.message' && of.id) setDrafts((d) => ({ ...d, [of.id as string]: '' }));
          return;
        }
        if (e.type === 'event_delta') {
          const key = String(e.event_id ?? '');
          const text = (e.delta as { content?: { text?: string } } | undefined)?.content?.text ?? '';
          // Only the previews of a message this page saw start (the stream sends no type with a delta).
          setDrafts((d) => (key in d ? { ...d, [key]: d[key] + text } : d));
          return;
        }
        if (e.type === 'agent.message' && e.id)
          setDrafts((d) => {
            const { [e.id as string]: _done, ...rest } = d;
            return rest;
          });
        if (e.id) {
          if (seen.current.has(e.id)) return;
          seen.current.add(e.id);
        }
        setEvents((all) => [...all, e]);
        if (e.type.startsWith('session.status_')) reload();
      },
      onState: (state, message) => setStream({ state, message }),
    });
  }, [id, me?.username]);
  if (!checked) return <Loading what="the session" />;
  if (!me) return <SignInFirst />;
  if (info.error) return <ErrorBox error={info.error} title={`Session ${id} could not be read`} />;
  if (!info.data) return <Loading what="the session" />;
  return <Live s={info.data} events={events} drafts={drafts} stream={stream} />;
};

/** A usage's `list_cost.amount` (USD cents, a whole number as a string), if it has one. */
const listCostOf = (usage: unknown): string | undefined => {
  const c = (usage as { list_cost?: { amount?: unknown } } | null | undefined)?.list_cost;
  return typeof c?.amount === 'string' ? c.amount : undefined;
};

const Live = ({ s, events, drafts, stream }: { s: Session; events: Ev[]; drafts: Record<string, string>; stream: { state: string; message?: string } }) => {
  const { busy, error, run } = useAction();
  const [text, setText] = useState('');
  const send = (evs: Array<Record<string, unknown>>) => run(() => ok(api.POST('/v1/sessions/{id}/events', { params: { path: { id: s.id } }, body: { events: evs } })));
  const { answers, status, pending, usage, cost } = useMemo(() => {
    const answers = new Map<string, Ev>();
    let status: string = s.status;
    let pendingIds: string[] = [];
    const usage = { input_tokens: 0, output_tokens: 0, requests: 0 };
    for (const e of events) {
      const a = answerOf(e);
      if (a) answers.set(a, e);
      if (e.type === 'user.tool_confirmation') answers.set(String(e.tool_use_id), e);
      if (e.type.startsWith('session.status_')) {
        status = e.type.slice('session.status_'.length);
        const stop = e.stop_reason as { type?: string; event_ids?: string[] } | undefined;
        pendingIds = status === 'idle' && stop?.type === 'requires_action' ? (stop.event_ids ?? []) : [];
      }
      if (e.type === 'span.model_request_end') {
        const u = (e.model_usage ?? {}) as { input_tokens?: number; output_tokens?: number };
        usage.input_tokens += u.input_tokens ?? 0;
        usage.output_tokens += u.output_tokens ?? 0;
        usage.requests += 1;
      }
    }
    const pending = pendingIds.filter((pid) => !answers.has(pid)).map((pid) => events.find((e) => e.id === pid)).filter((e): e is Ev => e !== undefined);
    // The list cost the server accrues at the model card's list price: the session's, then each session.usage event's.
    let cost = listCostOf((s as { usage?: unknown }).usage);
    for (const e of events) if (e.type === 'session.usage') cost = listCostOf(e.usage) ?? cost;
    return { answers, status, pending, usage, cost };
  }, [events, s.status]);
  const agent = s.agent as { name?: string; id?: string; version?: number; source?: Source };
  const source = agent.source;
  const prompts = source?.type === 'package' ? (source.suggested_prompts ?? []) : [];
  const asked = events.some((e) => e.type === 'user.message');
  return (
    <article class="session" aria-labelledby="session-title">
      <header class="session-head">
        <h1 id="session-title">{s.title || s.id}</h1>
        <p class="badges">
          <Badge tone={tone(status)}>{status}</Badge>
          <Badge tone={stream.state === 'live' ? 'ok' : 'warn'} title={stream.message}>
            stream: {stream.state}
          </Badge>
        </p>
        <dl class="facts">
          <dt>Agent</dt>
          <dd>
            <a href={`/managed/agents/${encodeURIComponent(agent.id ?? '')}`}>{agent.name}</a> v{agent.version}
          </dd>
          {source && <Provenance source={source} />}
          <dt>Session</dt>
          <dd class="mono">{s.id}</dd>
          <dt>Usage</dt>
          <dd aria-label="Usage">
            {usage.input_tokens.toLocaleString()} tokens in, {usage.output_tokens.toLocaleString()} out, {usage.requests} model {usage.requests === 1 ? 'request' : 'requests'}
          </dd>
          <dt>Cost</dt>
          <dd aria-label="Cost">{cost === undefined ? 'not priced: the model card has no list price' : `$${(Number(cost) / 100).toFixed(2)} at list price`}</dd>
          <dt>Active</dt>
          <dd>{Math.round(s.stats.active_seconds)} s</dd>
        </dl>
      </header>
      {stream.message && stream.state === 'closed' && <p class="error" role="alert">{stream.message}</p>}
      <ol class="timeline" aria-label="Events" aria-live="polite">
        {events.length === 0 && <li class="muted">No events yet: send a message below.</li>}
        {events.map((e, i) => (
          <EventItem key={e.id ?? `i${i}`} e={e} answer={e.id ? answers.get(e.id) : undefined} />
        ))}
        {Object.entries(drafts).map(([mid, text]) => (
          <li key={`draft-${mid}`} class="ev msg agent draft" aria-busy="true">
            <span class="ev-who">Agent</span> <span class="muted small">writing…</span>
            <p class="ev-text">{text}</p>
          </li>
        ))}
      </ol>
      {error && <ErrorBox error={error} title="The session did not take that" />}
      {pending.map((p) => (p.type === 'agent.custom_tool_use' ? <CustomToolAnswer key={p.id} e={p} busy={busy} send={send} /> : <Confirm key={p.id} e={p} busy={busy} send={send} />))}
      {prompts.length > 0 && !asked && status !== 'terminated' && (
        <div class="row" role="group" aria-label="Suggested prompts">
          <span class="muted small">Suggested:</span>
          {prompts.map((p) => (
            <button key={p} type="button" onClick={() => setText(p)}>
              {p}
            </button>
          ))}
        </div>
      )}
      <form
        class="composer"
        aria-label="Send a message"
        onSubmit={(e) => {
          e.preventDefault();
          const t = text.trim();
          if (!t) return;
          void send([{ type: 'user.message', content: [{ type: 'text', text: t }] }]).then((done) => done && setText(''));
        }}
      >
        <label>
          Message
          <textarea rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} disabled={status === 'terminated'} />
        </label>
        <div class="row">
          <button type="submit" disabled={busy || status === 'terminated' || !text.trim()}>
            Send
          </button>
          <button type="button" class="danger" disabled={busy || status !== 'running'} onClick={() => void run(() => ok(api.POST('/v1/sessions/{id}/cancel', { params: { path: { id: s.id } } })))}>
            Interrupt
          </button>
        </div>
      </form>
    </article>
  );
};

/** Where a session's agent came from (issue 19): a registry package version, or an agentspace's AssistantConfig. */
type Source = { type: 'package'; name: string; version: string; sha256: string; suggested_prompts?: string[] } | { type: 'agentspace'; agentspace_id: string; assistant_id: string };

const Provenance = ({ source }: { source: Source }) =>
  source.type === 'package' ? (
    <>
      <dt>Package</dt>
      <dd aria-label="Package">
        <a href={`/${source.name}/v/${encodeURIComponent(source.version)}`}>
          {source.name}@{source.version}
        </a>
      </dd>
      <dt>sha256</dt>
      <dd class="mono small" aria-label="Package sha256">
        {source.sha256}
      </dd>
    </>
  ) : (
    <>
      <dt>Agentspace</dt>
      <dd aria-label="Agentspace">
        <a href={`/agentspaces/${encodeURIComponent(source.agentspace_id)}`}>{source.agentspace_id}</a>, assistant <code>{source.assistant_id}</code>
      </dd>
    </>
  );

const EventItem = ({ e, answer }: { e: Ev; answer?: Ev }) => {
  const when = typeof e.processed_at === 'string' ? new Date(e.processed_at).toLocaleTimeString() : '';
  if (e.type === 'user.message' || e.type === 'agent.message') {
    const who = e.type === 'user.message' ? 'You' : 'Agent';
    return (
      <li class={`ev msg ${e.type === 'user.message' ? 'user' : 'agent'}`}>
        <span class="ev-who">{who}</span> <span class="muted small">{when}</span>
        <p class="ev-text">{textOf(e.content)}</p>
      </li>
    );
  }
  if (isToolUse(e.type)) {
    const name = String(e.name ?? e.tool_name ?? 'tool');
    const kind = e.type === 'agent.custom_tool_use' ? 'custom tool' : e.type === 'agent.mcp_tool_use' ? `MCP tool (${String(e.mcp_server_name ?? '')})` : 'tool';
    const failed = answer && answer.is_error === true;
    return (
      <li class="ev tool">
        <details>
          <summary>
            Called {kind} <strong>{name}</strong>{' '}
            {answer ? <Badge tone={failed ? 'warn' : 'ok'}>{answer.type === 'user.tool_confirmation' ? `confirmation: ${String(answer.result)}` : failed ? 'error' : 'answered'}</Badge> : <Badge tone="warn">waiting</Badge>}
          </summary>
          <p class="small muted">Input</p>
          <pre tabIndex={0} aria-label={`Input of ${name}`}>{json(e.input)}</pre>
          {answer && answer.type !== 'user.tool_confirmation' && (
            <>
              <p class="small muted">Result</p>
              <pre tabIndex={0} aria-label={`Result of ${name}`}>{textOf(answer.content)}</pre>
            </>
          )}
        </details>
      </li>
    );
  }
  // Answers are shown inside their call.
  if (answerOf(e) !== undefined || e.type === 'user.tool_confirmation') return null;
  if (e.type.startsWith('session.status_')) {
    const stop = e.stop_reason as { type?: string } | undefined;
    return (
      <li class="ev status muted small">
        {when} · session {e.type.slice('session.status_'.length)}
        {stop?.type ? ` (${stop.type.replace('_', ' ')})` : ''}
      </li>
    );
  }
  if (e.type === 'session.error' || e.type === 'error') {
    const err = e.error as { message?: string } | undefined;
    return (
      <li class="ev error" role="alert">
        {err?.message ?? 'The session failed.'}
      </li>
    );
  }
  if (e.type === 'span.model_request_end') {
    const u = (e.model_usage ?? {}) as { input_tokens?: number; output_tokens?: number };
    return (
      <li class="ev span muted small">
        {when} · model request: {u.input_tokens ?? 0} tokens in, {u.output_tokens ?? 0} out{e.is_error ? ' (failed)' : ''}
      </li>
    );
  }
  if (e.type === 'span.model_request_start' || e.type === 'agent.thinking') return null;
  return (
    <li class="ev other muted small">
      {when} · {e.type}
    </li>
  );
};

type Send = (evs: Array<Record<string, unknown>>) => Promise<boolean>;

const CustomToolAnswer = ({ e, busy, send }: { e: Ev; busy: boolean; send: Send }) => {
  const [text, setText] = useState('');
  const name = String(e.name);
  return (
    <form
      class="action"
      aria-label={`Answer ${name}`}
      onSubmit={(ev) => {
        ev.preventDefault();
        void send([{ type: 'user.custom_tool_result', custom_tool_use_id: e.id, content: [{ type: 'text', text }] }]);
      }}
    >
      <p>
        The agent called your tool <strong>{name}</strong> with <code>{JSON.stringify(e.input)}</code> and waits for its result.
      </p>
      <label>
        Result of {name}
        <textarea rows={2} value={text} onInput={(x) => setText(x.currentTarget.value)} />
      </label>
      <div class="row">
        <button type="submit" disabled={busy}>
          Send result
        </button>
        <button type="button" disabled={busy} onClick={() => void send([{ type: 'user.custom_tool_result', custom_tool_use_id: e.id, is_error: true, content: [{ type: 'text', text: text || 'The tool failed.' }] }])}>
          Send as an error
        </button>
      </div>
    </form>
  );
};

const Confirm = ({ e, busy, send }: { e: Ev; busy: boolean; send: Send }) => {
  const name = String(e.name ?? 'tool');
  const answer = (result: 'allow' | 'deny') => void send([{ type: 'user.tool_confirmation', tool_use_id: e.id, result }]);
  return (
    <div class="action" role="group" aria-label={`Confirm ${name}`}>
      <p>
        The agent asks to run <strong>{name}</strong> with <code>{JSON.stringify(e.input)}</code>.
      </p>
      <div class="row">
        <button type="button" disabled={busy} onClick={() => answer('allow')}>
          Allow {name}
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => answer('deny')}>
          Deny {name}
        </button>
      </div>
    </div>
  );
};
