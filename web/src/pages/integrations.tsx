import { useState } from 'preact/hooks';
import { api, ok } from '../api/client';
import type { Json } from '../api/types';
import { Badge, Empty, ErrorBox, formatDate, Loading, Table, useAction, useAsync } from '../ui';

type Listing = Json<'/v1/integrations/', 'get'>;
type Integration = Listing['data'][number];
type Provider = Listing['providers'][number];
type Agent = Json<'/v1/agents/', 'get'>['data'][number];

/** What each Slack credential is, for the install form's labels. */
const HINTS: Record<string, string> = {
  bot_token: 'Bot token (xoxb-…), for an install by credentials',
  signing_secret: 'Signing secret (always needed)',
  client_id: 'Client id, for an OAuth install',
  client_secret: 'Client secret, for an OAuth install',
};

/**
 * `/managed/integrations`: chat platforms connected to the account's managed agents — install one
 * (credentials go to the server's secret store and are never shown again), publish an agent on a
 * channel, remove either.
 */
export const Integrations = () => {
  const r = useAsync(() => ok(api.GET('/v1/integrations/', { params: { query: { limit: 100 } } })), []);
  const agents = useAsync(() => ok(api.GET('/v1/agents/', { params: { query: { limit: 100 } } })), []);
  if (r.error) return <ErrorBox error={r.error} title="Your integrations could not be listed" />;
  if (!r.data) return <Loading what="integrations" />;
  const rows = r.data.data;
  return (
    <>
      <p class="muted">Secrets never leave the server: an integration shows the names of the credentials it holds, never their values.</p>
      {rows.length === 0 ? (
        <Empty title="No integrations yet.">Install one below: people then write to your agents in a chat channel (see docs/integrations.md).</Empty>
      ) : (
        <ul class="plain">
          {rows.map((i) => (
            <IntegrationItem key={i.id} i={i} agents={agents.data?.data ?? []} onChange={r.reload} />
          ))}
        </ul>
      )}
      {r.data.providers.length > 0 && <Install providers={r.data.providers} onDone={r.reload} />}
    </>
  );
};

const Install = ({ providers, onDone }: { providers: Provider[]; onDone: () => void }) => {
  const [provider, setProvider] = useState(providers[0]?.id ?? '');
  const [name, setName] = useState('');
  const [apiBase, setApiBase] = useState('');
  // Held only until sent: the form is emptied once the server has them.
  const [creds, setCreds] = useState<Record<string, string>>({});
  const [done, setDone] = useState<string>();
  const { busy, error, run } = useAction();
  const p = providers.find((x) => x.id === provider) ?? providers[0];
  return (
    <form
      class="stack"
      aria-labelledby="install-title"
      autocomplete="off"
      onSubmit={(e) => {
        e.preventDefault();
        const credentials = Object.fromEntries(Object.entries(creds).filter(([k, v]) => p.credentials.includes(k) && v !== ''));
        void run(async () => {
          const made = await ok(api.POST('/v1/integrations/', { body: { provider: p.id, name: name.trim() || undefined, credentials, api_base_url: apiBase.trim() || undefined } }));
          setCreds({});
          setName('');
          setApiBase('');
          setDone(`${made.name} is installed (${made.status}).`);
          onDone();
        });
      }}
    >
      <h2 id="install-title">Install an integration</h2>
      <div class="row">
        <label>
          Provider
          <select value={p.id} onChange={(e) => setProvider(e.currentTarget.value)}>
            {providers.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input value={name} maxLength={256} placeholder={p.name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Web API base
          <input type="url" value={apiBase} placeholder={p.default_api_base_url} onInput={(e) => setApiBase(e.currentTarget.value)} />
        </label>
      </div>
      <div class="row">
        {p.credentials.map((c) => (
          <label key={c}>
            {HINTS[c] ?? c}
            <input type="password" autocomplete="new-password" spellcheck={false} value={creds[c] ?? ''} onInput={(e) => setCreds({ ...creds, [c]: e.currentTarget.value })} />
          </label>
        ))}
      </div>
      <div class="row">
        <button type="submit" disabled={busy}>
          Install {p.name}
        </button>
        {done && <span role="status">{done}</span>}
      </div>
      {error && <ErrorBox error={error} title="The integration was not installed" />}
    </form>
  );
};

const IntegrationItem = ({ i, agents, onChange }: { i: Integration; agents: Agent[]; onChange: () => void }) => {
  const pubs = useAsync(() => ok(api.GET('/v1/integrations/{id}/publications', { params: { path: { id: i.id }, query: { limit: 100 } } })), [i.id]);
  const { busy, error, run } = useAction();
  const path = { id: i.id };
  const agentName = (id: string) => agents.find((a) => a.id === id)?.name ?? id;
  return (
    <li class="agent">
      <div class="row">
        <h3 class="inline-h">{i.name}</h3>
        <Badge tone={i.status === 'active' ? 'ok' : 'warn'}>{i.status}</Badge>
        <span class="muted small mono">{i.id}</span>
      </div>
      <dl class="facts">
        <dt>Provider</dt>
        <dd>{i.provider}</dd>
        <dt>Workspace</dt>
        <dd>{i.workspace ?? 'any'}</dd>
        <dt>Credentials held</dt>
        <dd>{i.credentials.join(', ') || '—'}</dd>
        <dt>Events URL</dt>
        <dd>
          <code>{location.origin + i.events_path}</code>
        </dd>
        <dt>Last reply</dt>
        <dd>{i.last_delivery ? `${i.last_delivery.ok ? 'delivered' : `failed: ${i.last_delivery.error ?? 'unknown'}`} (${formatDate(i.last_delivery.at)})` : 'none yet'}</dd>
        <dt>Installed</dt>
        <dd>{formatDate(i.created_at)}</dd>
      </dl>
      {i.status === 'pending' && (
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void run(async () => {
              const { url } = await ok(api.GET('/v1/integrations/{id}/install', { params: { path } }));
              location.assign(url);
            })
          }
        >
          Finish the OAuth install of {i.name}
        </button>
      )}
      <h4>Publications</h4>
      {pubs.error ? (
        <ErrorBox error={pubs.error} title="The publications could not be listed" />
      ) : !pubs.data ? (
        <Loading what="publications" />
      ) : pubs.data.data.length === 0 ? (
        <p class="muted">No agent answers in a channel of {i.name} yet: publish one below.</p>
      ) : (
        <Table caption={`Publications of ${i.name}`} columns={['Agent', 'Channel', 'Workspace', 'Since', { hidden: 'Actions' }]}>
          {pubs.data.data.map((p) => (
            <tr key={p.id}>
              <td>
                <a href={`/managed/agents/${encodeURIComponent(p.agent_id)}`}>{agentName(p.agent_id)}</a>
              </td>
              <td class="mono">{p.channel}</td>
              <td>{p.workspace ?? 'any'}</td>
              <td>{formatDate(p.created_at)}</td>
              <td>
                <button
                  type="button"
                  class="link"
                  disabled={busy}
                  onClick={() =>
                    void run(async () => {
                      await ok(api.DELETE('/v1/integrations/{id}/publications/{pub_id}', { params: { path: { id: i.id, pub_id: p.id } } }));
                      pubs.reload();
                    })
                  }
                >
                  Unpublish {agentName(p.agent_id)} from {p.channel}
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <Publish i={i} agents={agents} onDone={pubs.reload} />
      <div class="row">
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            if (!confirm(`Remove ${i.name}? Its credentials and publications go; its sessions stay.`)) return;
            void run(async () => {
              await ok(api.DELETE('/v1/integrations/{id}', { params: { path } }));
              onChange();
            });
          }}
        >
          Remove {i.name}
        </button>
      </div>
      {error && <ErrorBox error={error} title="That did not work" />}
    </li>
  );
};

const Publish = ({ i, agents, onDone }: { i: Integration; agents: Agent[]; onDone: () => void }) => {
  const [agent, setAgent] = useState('');
  const [channel, setChannel] = useState('');
  const [workspace, setWorkspace] = useState('');
  const { busy, error, run } = useAction();
  const chosen = agent || agents[0]?.id || '';
  if (agents.length === 0) return <p class="muted">Create a managed agent to publish it on a channel.</p>;
  return (
    <form
      class="row"
      aria-label={`Publish an agent on ${i.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          await ok(api.POST('/v1/integrations/{id}/publications', { params: { path: { id: i.id } }, body: { agent_id: chosen, channel: channel.trim(), workspace: workspace.trim() || undefined } }));
          setChannel('');
          setWorkspace('');
          onDone();
        });
      }}
    >
      <label>
        Agent
        <select value={chosen} onChange={(e) => setAgent(e.currentTarget.value)}>
          {agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Channel id
        <input required maxLength={128} placeholder="C0123456" value={channel} onInput={(e) => setChannel(e.currentTarget.value)} />
      </label>
      <label>
        Workspace id
        <input maxLength={128} placeholder="any" value={workspace} onInput={(e) => setWorkspace(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy}>
        Publish
      </button>
      {error && <ErrorBox error={error} title="The agent was not published" />}
    </form>
  );
};
