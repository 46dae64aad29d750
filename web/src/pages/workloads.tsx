import { useState } from 'preact/hooks';
import { api, ok } from '../api/client';
import type { Json } from '../api/types';
import { useSession } from '../session';
import { Badge, Empty, ErrorBox, formatDate, Loading, useAction, useAsync, usePoll, useTitle } from '../ui';

type Workload = Json<'/api/v1beta/workloads', 'get'>['workloads'][number];
type Check = Json<'/api/v1beta/workloads/upgrade-check', 'get'>['results'][number];

const tone = (s: string) => (s === 'running' ? 'ok' : s === 'stopped' ? 'muted' : s === 'error' || s === 'unhealthy' ? 'warn' : 'info');

/** `/workloads`: the MCP servers this server runs (ToolHive's API): status, logs, lifecycle, upgrades, clients. */
export const Workloads = () => {
  const { me, checked } = useSession();
  useTitle('MCP workloads');
  const list = useAsync(() => (me ? ok(api.GET('/api/v1beta/workloads', { params: { query: { all: true } } })) : Promise.resolve(undefined)), [me?.username]);
  const checks = useAsync(() => (me ? ok(api.GET('/api/v1beta/workloads/upgrade-check', { params: { query: { all: true } } })) : Promise.resolve(undefined)), [me?.username]);
  // A workload that is starting or stopping changes by itself: look again while one is.
  const moving = list.data?.workloads.some((w) => w.status !== 'running' && w.status !== 'stopped' && w.status !== 'error');
  usePoll(Boolean(moving), list, 1000);
  if (!checked) return <Loading what="workloads" />;
  if (!me) {
    return (
      <Empty title="Workloads are run for an account.">
        <a href="/sign-in">Sign in</a> to see yours.
      </Empty>
    );
  }
  return (
    <section aria-labelledby="workloads-title">
      <h1 id="workloads-title">MCP workloads</h1>
      {list.error ? (
        <ErrorBox error={list.error} title="Your workloads could not be listed" />
      ) : !list.data ? (
        <Loading what="workloads" />
      ) : list.data.workloads.length === 0 ? (
        <Empty title="No MCP server runs here yet.">
          Run one from the registry: <code>thv run &lt;server&gt;</code> against this server, or <code>POST /api/v1beta/workloads</code> with a <code>server</code> name; open an MCP server's page for the exact command.
        </Empty>
      ) : (
        <ul class="plain">
          {list.data.workloads.map((w) => (
            <WorkloadItem key={w.name} w={w} check={checks.data?.results.find((c) => c.workload_name === w.name)} admin={me.is_admin} onChange={() => (list.reload(), checks.reload())} />
          ))}
        </ul>
      )}
    </section>
  );
};

const WorkloadItem = ({ w, check, admin, onChange }: { w: Workload; check?: Check; admin: boolean; onChange: () => void }) => {
  const { busy, error, run } = useAction();
  const [logs, setLogs] = useState<string>();
  const [note, setNote] = useState<string>();
  const [upgradeEnv, setUpgradeEnv] = useState<Record<string, string>>({});
  const path = { name: w.name };
  const act = (what: string, call: () => Promise<unknown>) =>
    void run(async () => {
      await call();
      setNote(what);
      onChange();
    });
  const readLogs = () => run(async () => setLogs(String(await ok(api.GET('/api/v1beta/workloads/{name}/logs', { params: { path }, parseAs: 'text' })))));
  return (
    <li class="agent workload">
      <div class="row">
        <h2 class="inline-h">{w.name}</h2>
        <Badge tone={tone(w.status)}>{w.status}</Badge>
        {check?.status === 'upgrade-available' && <Badge tone="warn">upgrade available</Badge>}
        {check?.status === 'up-to-date' && <Badge tone="muted">up to date</Badge>}
      </div>
      {w.status_context && <p class="muted small">{w.status_context}</p>}
      {check?.status === 'upgrade-available' && (
        <p class="small">
          The registry has a newer version of <a href={`/@${check.registry_server ?? ''}`}>{check.registry_server}</a>: the upgrade runs <code>{check.candidate_image}</code>
          {check.candidate_image === check.current_image ? " (the same package, with the entry's new settings)" : <> instead of <code>{check.current_image}</code></>}.
        </p>
      )}
      <dl class="facts">
        <dt>Package</dt>
        <dd class="mono">{w.package}</dd>
        <dt>URL</dt>
        <dd class="mono">{w.url}</dd>
        <dt>Transport</dt>
        <dd>
          {w.transport_type} (proxied as {w.proxy_mode})
        </dd>
        <dt>Group</dt>
        <dd>{w.group}</dd>
        <dt>Tools</dt>
        <dd>{w.tools.join(', ') || '—'}</dd>
        <dt>Started</dt>
        <dd>{formatDate(w.started_at || w.created_at)}</dd>
      </dl>
      <div class="row" role="group" aria-label={`Actions for ${w.name}`}>
        {w.status === 'stopped' || w.status === 'error' ? (
          <button type="button" disabled={busy} onClick={() => act('Starting…', () => ok(api.POST('/api/v1beta/workloads/{name}/restart', { params: { path } })))}>
            Start {w.name}
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => act('Stopping…', () => ok(api.POST('/api/v1beta/workloads/{name}/stop', { params: { path } })))}>
            Stop {w.name}
          </button>
        )}
        <button type="button" disabled={busy} onClick={() => act('Restarting…', () => ok(api.POST('/api/v1beta/workloads/{name}/restart', { params: { path } })))}>
          Restart {w.name}
        </button>
        <button type="button" disabled={busy} onClick={() => void readLogs()}>
          {logs === undefined ? 'Show logs' : 'Refresh logs'} of {w.name}
        </button>
      </div>
      {check?.status === 'upgrade-available' && (
        <form
          class="row"
          aria-label={`Upgrade ${w.name}`}
          onSubmit={(e) => {
            e.preventDefault();
            const env = Object.fromEntries(Object.entries(upgradeEnv).filter(([, v]) => v !== ''));
            act('Upgraded: the new version is running.', () => ok(api.POST('/api/v1beta/workloads/{name}/upgrade', { params: { path }, body: Object.keys(env).length > 0 ? { env } : null })));
          }}
        >
          {(check.env_var_drift?.added ?? [])
            .filter((v) => !v.secret)
            .map((v) => (
              <label key={v.name}>
                {v.name}
                {v.required ? ' (required)' : ''}
                <input required={v.required && v.default === undefined} placeholder={v.default ?? v.description ?? ''} value={upgradeEnv[v.name] ?? ''} onInput={(e) => setUpgradeEnv({ ...upgradeEnv, [v.name]: e.currentTarget.value })} />
              </label>
            ))}
          <button type="submit" disabled={busy}>
            Upgrade {w.name}
          </button>
          {busy && <span class="muted small">Starting the new version and checking its health…</span>}
        </form>
      )}
      {note && (
        <p role="status" class="muted">
          {note}
        </p>
      )}
      {error && <ErrorBox error={error} title="That did not work" />}
      {logs !== undefined && (
        <pre tabIndex={0} class="logs" aria-label={`Logs of ${w.name}`}>
          {logs.split('\n').slice(-200).join('\n') || 'No output yet.'}
        </pre>
      )}
      {admin && <RegisterClient w={w} />}
    </li>
  );
};

/** Registers an MCP client (Claude Code, Cursor, VS Code, …) in the workload's group: its settings file gets the group's servers. */
const RegisterClient = ({ w }: { w: Workload }) => {
  const clients = useAsync(() => ok(api.GET('/api/v1beta/discovery/clients')), []);
  const { busy, error, run } = useAction();
  const [done, setDone] = useState<string>();
  const [client, setClient] = useState('');
  const list = clients.data?.clients ?? [];
  return (
    <form
      class="row"
      aria-label={`Register ${w.name} in a client`}
      onSubmit={(e) => {
        e.preventDefault();
        const name = client || list[0]?.client_type;
        if (!name) return;
        void run(async () => {
          const r = await ok(api.POST('/api/v1beta/clients', { body: { name, groups: [w.group] } }));
          setDone(`${r.name} now lists the servers of group ${(r.groups ?? [w.group]).join(', ')}.`);
          clients.reload();
        });
      }}
    >
      <label>
        Client
        <select value={client || list[0]?.client_type} onChange={(e) => setClient(e.currentTarget.value)}>
          {list.map((c) => (
            <option key={c.client_type} value={c.client_type}>
              {c.client_type}
              {c.registered ? ' (registered)' : c.installed ? ' (installed)' : ''}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy || list.length === 0}>
        Register in client
      </button>
      {done && <span role="status">{done}</span>}
      {clients.error && <ErrorBox error={clients.error} title="The clients could not be listed" />}
      {error && <ErrorBox error={error} title="The client was not registered" />}
    </form>
  );
};
