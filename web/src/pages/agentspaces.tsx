import { useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, ApiError, ok } from '../api/client';
import type { Json } from '../api/types';
import { RunButton } from '../run-agent';
import { useSession } from '../session';
import { Badge, Empty, ErrorBox, Loading, Table, useAction, useAsync, useTitle } from '../ui';

type Space = Json<'/registry/', 'get'>;
type Validation = Json<'/registry/validate', 'post'>;

/** `/agentspaces` and `/agentspaces/:id`: an account's working sets of agent configs (Alquimia's registry). */
export const Agentspaces = () => {
  const { params } = useRoute();
  const { me, checked } = useSession();
  useTitle(params.id ? `Agentspace ${params.id}` : 'Agentspaces');
  const spaces = useAsync(() => (me ? ok(api.POST('/registry/query', { body: {} })) : Promise.resolve([])), [me?.username]);
  if (!checked) return <Loading what="agentspaces" />;
  if (!me) {
    return (
      <Empty title="Agentspaces belong to an account.">
        <a href="/sign-in">Sign in</a> to see yours.
      </Empty>
    );
  }
  if (spaces.error) return <ErrorBox error={spaces.error} title="Your agentspaces could not be listed" />;
  if (!spaces.data) return <Loading what="agentspaces" />;
  const current = spaces.data.find((s) => s.agentspace_id === params.id);
  return (
    <div class="agentspaces">
      <nav class="side" aria-label="Your agentspaces">
        <h1>Agentspaces</h1>
        {spaces.data.length === 0 ? (
          <Empty title="You have no agentspace yet.">
            Create one: <code>POST /registry/</code> with <code>{'{"name": "my-agents", "namespace": "local"}'}</code> (see the README, “Agentspaces”).
          </Empty>
        ) : (
          <ul class="plain">
            {spaces.data.map((s) => (
              <li key={s.agentspace_id}>
                <a href={`/agentspaces/${encodeURIComponent(s.agentspace_id)}`} aria-current={s.agentspace_id === params.id ? 'page' : undefined}>
                  {s.namespace}/{s.name}
                </a>{' '}
                <span class="muted">{s.agentspace_id}</span>
              </li>
            ))}
          </ul>
        )}
      </nav>
      <div class="space-main">
        {params.id ? current ? <SpaceView space={current} onChange={spaces.reload} /> : <ErrorBox error={new ApiError(404, `No agentspace '${params.id}' in your account.`)} /> : spaces.data.length > 0 && <p class="muted">Choose an agentspace.</p>}
      </div>
    </div>
  );
};

const SpaceView = ({ space, onChange }: { space: Space; onChange: () => void }) => {
  const id = space.agentspace_id;
  const q = { agentspace_id: id };
  const agents = useAsync(() => ok(api.POST('/registry/agent/query', { params: { query: q }, body: {} })), [id]);
  const secrets = useAsync(() => ok(api.GET('/registry/secret', { params: { query: q } })), [id]);
  const parameters = useAsync(() => ok(api.POST('/registry/parameter/query', { params: { query: q }, body: {} })), [id]);
  const [dry, setDry] = useState<Validation>();
  const [published, setPublished] = useState<string>();
  const [tag, setTag] = useState('');
  const { busy, error, run } = useAction();
  return (
    <article aria-labelledby="space-title">
      <h2 id="space-title">
        {space.namespace}/{space.name}{' '}
        <Badge tone={space.visibility === 'public' ? 'muted' : 'warn'}>{space.visibility}</Badge> <Badge tone={space.status === 'enabled' ? 'ok' : 'warn'}>{space.status}</Badge>
      </h2>
      {space.description && <p>{space.description}</p>}
      {error && <ErrorBox error={error} title="That did not work" />}

      <section aria-labelledby="agents-title">
        <h3 id="agents-title">Agents</h3>
        {agents.error ? (
          <ErrorBox error={agents.error} />
        ) : !agents.data ? (
          <Loading what="agents" />
        ) : agents.data.length === 0 ? (
          <Empty title="No agents in this agentspace.">
            Add one with <code>POST /registry/agent?agentspace_id={id}</code> and an AssistantConfig.
          </Empty>
        ) : (
          <ul class="plain agents">
            {agents.data.map((a) => {
              const aid = String(a.assistant_id ?? '');
              const held = space.on_hold.includes(aid);
              return (
                <li key={aid} class="agent">
                  <div class="row">
                    <strong>{String(a.nickname ?? aid)}</strong> <code>{aid}</code> {held && <Badge tone="warn">on hold</Badge>}
                    <button
                      type="button"
                      disabled={busy}
                      aria-label={`${held ? 'Unhold' : 'Hold'} agent ${aid}`}
                      onClick={() =>
                        void run(async () => {
                          const path = { assistant_id: aid };
                          await ok(held ? api.PUT('/registry/agent/unhold/{assistant_id}', { params: { path, query: q } }) : api.PUT('/registry/agent/hold/{assistant_id}', { params: { path, query: q } }));
                          onChange();
                        })
                      }
                    >
                      {held ? 'Unhold' : 'Hold'}
                    </button>
                    {!held && <RunButton target={{ type: 'agentspace', agentspace_id: id, assistant_id: aid }} label={`Run agent ${aid}`} />}
                  </div>
                  <details>
                    <summary>AssistantConfig</summary>
                    <pre tabIndex={0}>
                      <code>{JSON.stringify(a, null, 2)}</code>
                    </pre>
                  </details>
                </li>
              );
            })}
          </ul>
        )}
      </section>

      <section aria-labelledby="secrets-title">
        <h3 id="secrets-title">Secrets</h3>
        <p class="muted">Names and scopes only: values never leave the server.</p>
        {secrets.error ? (
          <ErrorBox error={secrets.error} />
        ) : !secrets.data ? (
          <Loading />
        ) : secrets.data.length === 0 ? (
          <p class="muted">No secrets. Add one with <code>POST /registry/secret</code>.</p>
        ) : (
          <Table caption="Secrets" columns={['Key', 'Scope', 'Description']}>
              {secrets.data.map((s) => (
                <tr key={`${s.scope}/${s.key}`}>
                  <td>
                    <code>{s.key}</code>
                  </td>
                  <td>{s.scope}</td>
                  <td>{s.description}</td>
                </tr>
              ))}
          </Table>
        )}
      </section>

      <section aria-labelledby="params-title">
        <h3 id="params-title">Parameters</h3>
        {parameters.error ? (
          <ErrorBox error={parameters.error} />
        ) : !parameters.data ? (
          <Loading />
        ) : parameters.data.length === 0 ? (
          <p class="muted">No parameters.</p>
        ) : (
          <Table caption="Parameters" columns={['Key', 'Type', 'Value', 'Default', 'Agent']}>
              {parameters.data.map((p) => (
                <tr key={`${String(p.key)}/${String(p.assistant_id ?? '')}`}>
                  <td>
                    <code>{String(p.key)}</code>
                    {p.required ? ' *' : ''}
                  </td>
                  <td>{String(p.type ?? '')}</td>
                  <td>{p.value === undefined || p.value === null ? '—' : JSON.stringify(p.value)}</td>
                  <td>{p.default === undefined || p.default === null ? '—' : JSON.stringify(p.default)}</td>
                  <td>{p.assistant_id ? String(p.assistant_id) : 'every agent'}</td>
                </tr>
              ))}
          </Table>
        )}
      </section>

      <section aria-labelledby="validate-title">
        <h3 id="validate-title">Validate</h3>
        <p class="row">
          <button type="button" disabled={busy} onClick={() => void run(async () => setDry(await ok(api.POST('/registry/validate', { params: { query: { ...q, dry_run: true } } }))))}>
            Dry run
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                setDry(await ok(api.POST('/registry/validate', { params: { query: { ...q, dry_run: false } } })));
                agents.reload();
                secrets.reload();
              })
            }
          >
            Validate and apply
          </button>
        </p>
        {dry && <ValidationDiff v={dry} />}
      </section>

      <section aria-labelledby="publish-title">
        <h3 id="publish-title">Publish to OCI</h3>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              const r = await ok(api.PUT('/registry/publish', { params: { query: { ...q, tag: tag.trim() } }, body: {} }));
              setPublished(`${r.reference} (${r.digest})`);
            });
          }}
        >
          <label>
            Tag
            <input required value={tag} onInput={(e) => setTag(e.currentTarget.value)} placeholder="v1.0.0" />
          </label>
          <button type="submit" disabled={busy}>
            Publish
          </button>
        </form>
        {published && (
          <p role="status">
            Published <code>{published}</code>
          </p>
        )}
      </section>
    </article>
  );
};

/** The validation report as a diff: what each migration changes, the secrets that go, the errors that stay. */
const ValidationDiff = ({ v }: { v: Validation }) => (
  <div class="diff" role="region" aria-label="Validation result">
    <p>
      {v.validated} {v.validated === 1 ? 'agent passes' : 'agents pass'}; {v.errors.length} {v.errors.length === 1 ? 'problem' : 'problems'}.
    </p>
    {v.migrated.length === 0 && v.deleted_secrets.length === 0 && v.errors.length === 0 ? (
      <p class="muted">Nothing would change.</p>
    ) : (
      <pre tabIndex={0}>
        {v.migrated.map((m) => (
          <>
            <span class="diff-head">
              @@ {m.assistant_id} · {m.migration}
            </span>
            {'\n'}
            {m.changes.map((c) => (
              <>
                <span class="diff-mod">~ {c}</span>
                {'\n'}
              </>
            ))}
          </>
        ))}
        {v.deleted_secrets.map((s) => (
          <>
            <span class="diff-del">
              - secret {s.key} ({s.scope})
            </span>
            {'\n'}
          </>
        ))}
        {v.errors.map((e) => (
          <>
            <span class="diff-err">
              ! {e.id}: {e.message}
              {e.details.length ? ` — ${e.details.join('; ')}` : ''}
            </span>
            {'\n'}
          </>
        ))}
      </pre>
    )}
  </div>
);
