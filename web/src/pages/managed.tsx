import { diffLines } from 'diff';
import { useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, ok } from '../api/client';
import type { Json } from '../api/types';
import { useSession } from '../session';
import { Badge, Empty, ErrorBox, formatBytes, formatDate, Loading, Table, useAction, useAsync, useTitle, type Async } from '../ui';
import { EvalPage, Evals } from './evals';
import { Integrations } from './integrations';
import { ManagedNav, SECTIONS, type Section } from './managed-nav';

type Agent = Json<'/v1/agents/{id}', 'get'>;

/** `/managed/:section` and `/managed/agents/:id`: the managed agents console (the `/v1` door). */
export const Managed = () => {
  const { params } = useRoute();
  const { me, checked } = useSession();
  const section = (SECTIONS.find(([s]) => s === params.section)?.[0] ?? 'agents') as Section;
  const label = SECTIONS.find(([s]) => s === section)?.[1] ?? 'Agents';
  useTitle(params.id ? `${section === 'evals' ? 'Eval' : 'Agent'} ${params.id}` : label);
  if (!checked) return <Loading />;
  if (!me) {
    return (
      <Empty title="Managed agents belong to an account.">
        <a href="/sign-in">Sign in</a> to see yours.
      </Empty>
    );
  }
  return (
    <div class="managed">
      <ManagedNav current={section} />
      <section aria-labelledby="managed-title">
        {params.id && section === 'agents' ? (
          <AgentPage id={params.id} />
        ) : params.id && section === 'evals' ? (
          <EvalPage id={params.id} />
        ) : (
          <>
            <h1 id="managed-title">{label}</h1>
            {section === 'agents' && <Agents />}
            {section === 'environments' && <Environments />}
            {section === 'vaults' && <Vaults />}
            {section === 'model-cards' && <ModelCards />}
            {section === 'memory-stores' && <MemoryStores />}
            {section === 'files' && <Files />}
            {section === 'evals' && <Evals />}
            {section === 'integrations' && <Integrations />}
          </>
        )}
      </section>
    </div>
  );
};

/** The common frame of a list: its error, its loading, its empty state. */
const ListOf = <T,>({ r, empty, what, children }: { r: Async<{ data: T[] }>; empty: preact.ComponentChildren; what: string; children: (rows: T[]) => preact.ComponentChildren }) =>
  r.error ? <ErrorBox error={r.error} title={`Your ${what} could not be listed`} /> : !r.data ? <Loading what={what} /> : r.data.data.length === 0 ? <>{empty}</> : <>{children(r.data.data)}</>;

const Agents = () => {
  const r = useAsync(() => ok(api.GET('/v1/agents/', { params: { query: { limit: 100 } } })), []);
  return (
    <ListOf r={r} what="agents" empty={<Empty title="No managed agents yet.">Create one with the SDK (<code>client.beta.agents.create(…)</code>) or <code>POST /v1/agents</code>.</Empty>}>
      {(rows) => (
        <Table caption="Agents" columns={['Agent', 'Version', 'Model', 'Tools', 'Updated']}>
          {rows.map((a) => (
            <tr key={a.id}>
              <td>
                <a href={`/managed/agents/${encodeURIComponent(a.id)}`}>{a.name}</a>
                {a.description && <div class="muted small">{a.description}</div>}
              </td>
              <td>v{a.version}</td>
              <td>
                <code>{a.model.id}</code>
              </td>
              <td>{a.tools.length}</td>
              <td>{formatDate(a.updated_at)}</td>
            </tr>
          ))}
        </Table>
      )}
    </ListOf>
  );
};

/** What a version says, without what every version has of its own (id, version, timestamps). */
const comparable = (a: Agent): string => {
  const { id: _id, version: _v, created_at: _c, updated_at: _u, archived_at: _a, type: _t, ...rest } = a;
  return `${JSON.stringify(rest, null, 2)}\n`;
};

const AgentPage = ({ id }: { id: string }) => {
  const { query, route } = useLocation();
  const agent = useAsync(() => ok(api.GET('/v1/agents/{id}', { params: { path: { id } } })), [id]);
  const versions = useAsync(() => ok(api.GET('/v1/agents/{id}/versions', { params: { path: { id }, query: { limit: 100 } } })), [id]);
  const all = versions.data?.data ?? [];
  const newest = all[0]?.version;
  const to = Number(query.to) || newest;
  const from = Number(query.from) || (to !== undefined && to > 1 ? to - 1 : undefined);
  const left = all.find((v) => v.version === from);
  const right = all.find((v) => v.version === to);
  if (agent.error) return <ErrorBox error={agent.error} title={`Agent ${id} could not be read`} />;
  if (!agent.data) return <Loading what="the agent" />;
  const a = agent.data;
  const pick = (which: 'from' | 'to', v: string) => {
    const next = new URLSearchParams({ from: String(from ?? ''), to: String(to ?? ''), [which]: v });
    route(`/managed/agents/${encodeURIComponent(id)}?${next.toString()}`, true);
  };
  return (
    <article aria-labelledby="agent-title">
      <h1 id="agent-title">
        {a.name} <Badge>v{a.version}</Badge> {a.archived_at && <Badge tone="muted">archived</Badge>}
      </h1>
      {a.description && <p class="lead">{a.description}</p>}
      <dl class="facts">
        <dt>Id</dt>
        <dd class="mono">{a.id}</dd>
        <dt>Model</dt>
        <dd>
          <code>{a.model.id}</code>
        </dd>
        <dt>Environment</dt>
        <dd>{a.environment_id ?? '—'}</dd>
        <dt>Tools</dt>
        <dd>{a.tools.map((t) => String(t.name ?? t.type)).join(', ') || '—'}</dd>
        <dt>MCP servers</dt>
        <dd>{a.mcp_servers.map((m) => m.name).join(', ') || '—'}</dd>
        <dt>Skills</dt>
        <dd>{a.skills.map((s) => s.skill_id).join(', ') || '—'}</dd>
      </dl>
      {a.system && (
        <>
          <h2>System prompt</h2>
          <pre tabIndex={0} aria-label="System prompt">
            {a.system}
          </pre>
        </>
      )}
      <p>
        <a href={`/sessions?agent=${encodeURIComponent(a.id)}`}>Start a session with this agent</a>
      </p>
      <h2 id="versions-title">Version history</h2>
      {versions.error ? (
        <ErrorBox error={versions.error} />
      ) : !versions.data ? (
        <Loading what="versions" />
      ) : (
        <>
          <Table caption={`Versions of ${a.name}`} columns={['Version', 'Model', 'Created']}>
            {all.map((v) => (
              <tr key={v.version} aria-current={v.version === to ? 'true' : undefined}>
                <td>v{v.version}</td>
                <td>
                  <code>{v.model.id}</code>
                </td>
                <td>{formatDate(v.created_at)}</td>
              </tr>
            ))}
          </Table>
          {all.length < 2 ? (
            <p class="muted">One version so far: an update to the agent makes a new one, and this page shows what changed.</p>
          ) : (
            <>
              <h2>Changes between versions</h2>
              <div class="row">
                <label>
                  From
                  <select value={String(from)} onChange={(e) => pick('from', e.currentTarget.value)}>
                    {all.map((v) => (
                      <option key={v.version} value={String(v.version)}>
                        v{v.version}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  To
                  <select value={String(to)} onChange={(e) => pick('to', e.currentTarget.value)}>
                    {all.map((v) => (
                      <option key={v.version} value={String(v.version)}>
                        v{v.version}
                      </option>
                    ))}
                  </select>
                </label>
              </div>
              {left && right && <VersionDiff from={left} to={right} />}
            </>
          )}
        </>
      )}
    </article>
  );
};

const VersionDiff = ({ from, to }: { from: Agent; to: Agent }) => {
  const parts = diffLines(comparable(from), comparable(to));
  const changed = parts.some((p) => p.added || p.removed);
  return (
    <div class="diff" role="region" aria-label={`Changes from v${from.version} to v${to.version}`}>
      {!changed ? (
        <p class="muted">
          v{from.version} and v{to.version} say the same.
        </p>
      ) : (
        <pre tabIndex={0}>
          {parts.map((p, i) =>
            p.value
              .replace(/\n$/, '')
              .split('\n')
              .map((line, j) => (
                <span key={`${i}-${j}`} class={p.added ? 'diff-add' : p.removed ? 'diff-del' : 'diff-same'}>
                  {p.added ? '+ ' : p.removed ? '- ' : '  '}
                  {line}
                  {'\n'}
                </span>
              )),
          )}
        </pre>
      )}
    </div>
  );
};

const Environments = () => {
  const r = useAsync(() => ok(api.GET('/v1/environments/', { params: { query: { limit: 100 } } })), []);
  return (
    <ListOf r={r} what="environments" empty={<Empty title="No environments yet.">An environment is where a session's tools run: <code>POST /v1/environments</code> with a name.</Empty>}>
      {(rows) => (
        <Table caption="Environments" columns={['Environment', 'Configuration', 'Created']}>
          {rows.map((e) => (
            <tr key={e.id}>
              <td>
                <strong>{e.name}</strong> {e.archived_at && <Badge tone="muted">archived</Badge>}
                <div class="muted small mono">{e.id}</div>
                {e.description && <div class="muted small">{e.description}</div>}
              </td>
              <td>
                <details>
                  <summary>Configuration</summary>
                  <pre tabIndex={0}>{JSON.stringify(e.config, null, 2)}</pre>
                </details>
              </td>
              <td>{formatDate(e.created_at)}</td>
            </tr>
          ))}
        </Table>
      )}
    </ListOf>
  );
};

const Vaults = () => {
  const r = useAsync(() => ok(api.GET('/v1/vaults/', { params: { query: { limit: 100 } } })), []);
  return (
    <>
      <p class="muted">Secrets never leave the server: a vault shows whether it holds one, a credential its kind and settings without its secret fields.</p>
      <ListOf r={r} what="vaults" empty={<Empty title="No vaults yet.">A vault keeps the credentials a session's MCP servers use: <code>POST /v1/vaults</code>.</Empty>}>
        {(rows) => (
          <ul class="plain">
            {rows.map((v) => (
              <li key={v.id} class="agent">
                <strong>{v.display_name}</strong> <span class="muted mono small">{v.id}</span> {v.has_secret ? <Badge tone="ok">secret set {v.secret_updated_at ? formatDate(v.secret_updated_at) : ''}</Badge> : <Badge tone="muted">no secret</Badge>}
                <Credentials vaultId={v.id} name={v.display_name} />
              </li>
            ))}
          </ul>
        )}
      </ListOf>
    </>
  );
};

const Credentials = ({ vaultId, name }: { vaultId: string; name: string }) => {
  const r = useAsync(() => ok(api.GET('/v1/vaults/{id}/credentials', { params: { path: { id: vaultId } } })), [vaultId]);
  return (
    <ListOf r={r} what="credentials" empty={<p class="muted small">No credentials.</p>}>
      {(rows) => (
        <Table caption={`Credentials of ${name}`} columns={['Credential', 'Kind', 'Settings']}>
          {rows.map((c) => (
            <tr key={c.id}>
              <td>{c.display_name ?? c.id}</td>
              <td>{String(c.auth.type ?? '')}</td>
              <td>
                <code>
                  {Object.entries(c.auth)
                    .filter(([k]) => k !== 'type')
                    .map(([k, val]) => `${k}: ${typeof val === 'string' ? val : JSON.stringify(val)}`)
                    .join(', ') || '—'}
                </code>
              </td>
            </tr>
          ))}
        </Table>
      )}
    </ListOf>
  );
};

const ModelCards = () => {
  const r = useAsync(() => ok(api.GET('/v1/model_cards/', { params: { query: { limit: 100 } } })), []);
  return (
    <ListOf r={r} what="model cards" empty={<Empty title="No model cards yet.">A model card names a provider, its endpoint and its key: <code>POST /v1/model_cards</code>.</Empty>}>
      {(rows) => (
        <Table caption="Model cards" columns={['Model id', 'Provider', 'Model', 'Endpoint', 'Key', 'Headers']}>
          {rows.map((c) => (
            <tr key={c.id}>
              <td>
                <code>{c.model_id}</code>
              </td>
              <td>{c.provider}</td>
              <td>{c.model}</td>
              <td class="mono small">{c.base_url}</td>
              <td>
                <code aria-label={`Key ending ${c.api_key_last4}`}>{c.api_key_preview}</code>
              </td>
              <td>{c.custom_header_names.join(', ') || '—'}</td>
            </tr>
          ))}
        </Table>
      )}
    </ListOf>
  );
};

const MemoryStores = () => {
  const r = useAsync(() => ok(api.GET('/v1/memory_stores/', { params: { query: { limit: 100 } } })), []);
  const [open, setOpen] = useState<string>();
  return (
    <ListOf r={r} what="memory stores" empty={<Empty title="No memory stores yet.">A memory store keeps what agents remember across sessions: <code>POST /v1/memory_stores</code>.</Empty>}>
      {(rows) => (
        <ul class="plain">
          {rows.map((m) => (
            <li key={m.id} class="agent">
              <div class="row">
                <strong>{m.name}</strong> <span class="muted mono small">{m.id}</span>
                <button type="button" aria-expanded={open === m.id} onClick={() => setOpen(open === m.id ? undefined : m.id)}>
                  {open === m.id ? 'Close' : `Open ${m.name}`}
                </button>
              </div>
              {m.description && <p class="muted">{m.description}</p>}
              {open === m.id && <MemoryStore id={m.id} name={m.name} />}
            </li>
          ))}
        </ul>
      )}
    </ListOf>
  );
};

type Hit = Json<'/v1/memory_stores/{id}/search', 'post'>;

const MemoryStore = ({ id, name }: { id: string; name: string }) => {
  const memories = useAsync(() => ok(api.GET('/v1/memory_stores/{id}/memories', { params: { path: { id }, query: { limit: 100, view: 'full' } } })), [id]);
  const [q, setQ] = useState('');
  const [hits, setHits] = useState<Hit>();
  const { busy, error, run } = useAction();
  return (
    <div>
      <form
        role="search"
        class="row"
        aria-label={`Search ${name}`}
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => setHits(await ok(api.POST('/v1/memory_stores/{id}/search', { params: { path: { id } }, body: { query: q.trim(), limit: 20 } }))));
        }}
      >
        <label>
          Search memories
          <input type="search" required value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Search
        </button>
      </form>
      {error && <ErrorBox error={error} title="The search failed" />}
      {hits &&
        (hits.data.length === 0 ? (
          <p class="muted" role="status">
            Nothing matches.
          </p>
        ) : (
          <Table caption={`Memories matching “${q}”`} columns={['Path', 'Score', 'Content']}>
            {hits.data.map((h) => (
              <tr key={h.id}>
                <td class="mono">{h.path}</td>
                <td>{h.score.toFixed(2)}</td>
                <td>{h.content}</td>
              </tr>
            ))}
          </Table>
        ))}
      <ListOf r={memories} what="memories" empty={<p class="muted">No memories yet: agents write them as they work.</p>}>
        {(rows) => (
          <Table caption={`Memories of ${name}`} columns={['Path', 'Size', 'Updated', 'Content']}>
            {rows.map((m) => (
              <tr key={m.id}>
                <td class="mono">{m.path}</td>
                <td>{formatBytes(m.content_size_bytes)}</td>
                <td>{formatDate(m.updated_at)}</td>
                <td>{(m.content ?? '').slice(0, 200)}</td>
              </tr>
            ))}
          </Table>
        )}
      </ListOf>
    </div>
  );
};

const Files = () => {
  const r = useAsync(() => ok(api.GET('/v1/files/', { params: { query: { limit: 100 } } })), []);
  return (
    <ListOf r={r} what="files" empty={<Empty title="No files yet.">Upload one for sessions to read: <code>POST /v1/files</code> (multipart).</Empty>}>
      {(rows) => (
        <Table caption="Files" columns={['File', 'Type', 'Size', 'Session', 'Created']}>
          {rows.map((f) => (
            <tr key={f.id}>
              <td>
                {f.filename}
                <div class="muted small mono">{f.id}</div>
              </td>
              <td>{f.mime_type}</td>
              <td>{formatBytes(f.size_bytes)}</td>
              <td>{f.session_id ? <a href={`/sessions/${encodeURIComponent(f.session_id)}`}>{f.session_id}</a> : '—'}</td>
              <td>{formatDate(f.created_at)}</td>
            </tr>
          ))}
        </Table>
      )}
    </ListOf>
  );
};
