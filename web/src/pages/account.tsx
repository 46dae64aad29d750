import { useState } from 'preact/hooks';
import { api, ok } from '../api/client';
import { session, useSession, type Me } from '../session';
import { Badge, Empty, ErrorBox, Loading, Table, formatDate, useAction, useAsync, useTitle } from '../ui';

type Visibility = 'public' | 'internal' | 'private';
const VISIBILITIES: Visibility[] = ['public', 'internal', 'private'];

export const Account = () => {
  useTitle('Your account');
  const { me, checked } = useSession();
  if (!checked) return <Loading what="your account" />;
  if (!me) {
    return (
      <Empty title="You are not signed in.">
        <a href="/sign-in">Sign in</a> with a token to manage your tokens, organisations and the visibility of your packages.
      </Empty>
    );
  }
  return (
    <div class="account">
      <header>
        <h1>{me.display_name || me.username}</h1>
        <p class="muted">
          Signed in as <a href={`/@${me.username}`}>@{me.username}</a> {me.is_admin && <Badge tone="warn">administrator</Badge>} with the token “{me.token.name}” ({me.token.permission}
          {me.token.scopes ? `, ${me.token.scopes.join(' ')} only` : ''}).{' '}
          <button type="button" class="link" onClick={() => session.set(null, null)}>
            Sign out
          </button>
        </p>
      </header>
      <nav class="toc" aria-label="On this page">
        <a href="#tokens">Tokens</a> <a href="#orgs">Organisations</a> <a href="#visibility">Visibility</a> {me.is_admin && <a href="#namespaces">Namespaces</a>} <a href="#audit">Audit log</a>
      </nav>
      <Tokens me={me} />
      <Orgs me={me} />
      <VisibilitySection me={me} />
      {me.is_admin && <Namespaces me={me} />}
      <Audit me={me} />
    </div>
  );
};

const Tokens = ({ me }: { me: Me }) => {
  const tokens = useAsync(() => ok(api.GET('/api/v1/tokens')), [me.username]);
  const create = useAction();
  const revoke = useAction();
  const [name, setName] = useState('');
  const [permission, setPermission] = useState<'read' | 'publish' | 'admin'>('read');
  const [scopes, setScopes] = useState('');
  const [days, setDays] = useState('');
  const [created, setCreated] = useState<{ name: string; token: string }>();
  const canMint = me.token.permission === 'publish' || me.token.permission === 'admin';
  return (
    <section id="tokens" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Tokens</h2>
      {created && (
        <div class="notice" role="status">
          <p>
            <strong>Token “{created.name}” created.</strong> Copy it now: it is shown only once.
          </p>
          <input readOnly value={created.token} aria-label={`The new token ${created.name}`} onFocus={(e) => e.currentTarget.select()} class="mono" />
        </div>
      )}
      {canMint ? (
        <form
          class="row"
          aria-label="Create a token"
          onSubmit={async (e) => {
            e.preventDefault();
            await create.run(async () => {
              const body = {
                name: name.trim(),
                permission,
                ...(scopes.trim() ? { scopes: scopes.trim().split(/[\s,]+/) } : {}),
                ...(days.trim() ? { expires_in_days: Number(days) } : {}),
              };
              const t = await ok(api.POST('/api/v1/tokens', { body }));
              setCreated({ name: t.name, token: t.token });
              setName('');
              tokens.reload();
            });
          }}
        >
          <label>
            Name
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={100} />
          </label>
          <label>
            Permission
            <select value={permission} onChange={(e) => setPermission(e.currentTarget.value as typeof permission)}>
              <option value="read">read</option>
              <option value="publish">publish</option>
              {me.is_admin && <option value="admin">admin</option>}
            </select>
          </label>
          <label>
            Scopes (optional)
            <input value={scopes} onInput={(e) => setScopes(e.currentTarget.value)} placeholder="@acme @alice" />
          </label>
          <label>
            Expires in days (optional)
            <input type="number" min={1} max={3650} value={days} onInput={(e) => setDays(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={create.busy}>
            Create token
          </button>
        </form>
      ) : (
        <p class="muted">This {me.token.permission} token cannot create tokens: sign in with a publish or admin token to make one.</p>
      )}
      {create.error && <ErrorBox error={create.error} title="The token was not created" />}
      {revoke.error && <ErrorBox error={revoke.error} title="The token was not revoked" />}
      {tokens.error ? (
        <ErrorBox error={tokens.error} />
      ) : !tokens.data ? (
        <Loading what="tokens" />
      ) : (
        <Table caption="Your tokens" columns={['Name', 'Prefix', 'Permission', 'Scopes', 'Created', 'Last used', 'Expires', { hidden: 'Actions' }]}>
              {tokens.data.tokens.map((t) => (
                <tr key={t.id} class={t.revoked_at ? 'revoked' : undefined}>
                  <td>
                    {t.name}
                    {t.id === me.token.id && <Badge>this session</Badge>}
                  </td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>{t.permission}</td>
                  <td>{t.scopes?.join(' ') ?? 'all'}</td>
                  <td>{formatDate(t.created_at)}</td>
                  <td>{formatDate(t.last_used_at)}</td>
                  <td>{t.expires_at ? formatDate(t.expires_at) : 'never'}</td>
                  <td>
                    {t.revoked_at ? (
                      <span class="muted">revoked {formatDate(t.revoked_at)}</span>
                    ) : (
                      <button
                        type="button"
                        class="danger"
                        disabled={revoke.busy}
                        aria-label={`Revoke token ${t.name}`}
                        onClick={async () => {
                          if (!confirm(`Revoke the token “${t.name}”? Whatever uses it stops working at once.`)) return;
                          const done = await revoke.run(() => ok(api.DELETE('/api/v1/tokens/{id}', { params: { path: { id: String(t.id) } } })));
                          if (done && t.id === me.token.id) session.set(null, null);
                          else tokens.reload();
                        }}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
        </Table>
      )}
    </section>
  );
};

const Orgs = ({ me }: { me: Me }) => (
  <section id="orgs" aria-labelledby="orgs-title">
    <h2 id="orgs-title">Organisations</h2>
    {me.orgs.length === 0 ? (
      <Empty title="You belong to no organisation.">An administrator creates one with <code>agentry org add &lt;org&gt; --owner {me.username}</code>.</Empty>
    ) : (
      me.orgs.map((o) => <OrgMembers key={o.name} org={o.name} role={o.role} me={me} />)
    )}
  </section>
);

const OrgMembers = ({ org, role, me }: { org: string; role: string; me: Me }) => {
  const data = useAsync(() => ok(api.GET('/api/v1/orgs/{org}', { params: { path: { org } } })), [org]);
  const act = useAction();
  const [user, setUser] = useState('');
  const [newRole, setNewRole] = useState('maintainer');
  const manages = (role === 'owner' || me.is_admin) && me.token.permission !== 'read';
  const setRole = (username: string, r: string) => act.run(async () => (await ok(api.PUT('/api/v1/orgs/{org}/members/{username}', { params: { path: { org, username } }, body: { role: r as 'owner' } })), data.reload()));
  return (
    <div class="org">
      <h3>
        <a href={`/@${org}`}>@{org}</a> <span class="muted">you are {role}</span>
      </h3>
      {act.error && <ErrorBox error={act.error} title="The change was not made" />}
      {data.error ? (
        <ErrorBox error={data.error} />
      ) : !data.data ? (
        <Loading />
      ) : (
        <Table caption={`Members of @${org}`} columns={manages ? ['Member', 'Role', { hidden: 'Actions' }] : ['Member', 'Role']}>
            {data.data.members.map((m) => (
              <tr key={m.username}>
                <td>
                  <a href={`/@${m.username}`}>{m.username}</a>
                </td>
                <td>
                  {manages ? (
                    <select aria-label={`Role of ${m.username}`} value={m.role} disabled={act.busy} onChange={(e) => void setRole(m.username, e.currentTarget.value)}>
                      <option>owner</option>
                      <option>maintainer</option>
                      <option>member</option>
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                {manages && (
                  <td>
                    <button type="button" class="danger" aria-label={`Remove ${m.username} from @${org}`} disabled={act.busy} onClick={() => void act.run(async () => (await ok(api.DELETE('/api/v1/orgs/{org}/members/{username}', { params: { path: { org, username: m.username } } })), data.reload()))}>
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
        </Table>
      )}
      {manages && (
        <form
          class="row"
          aria-label={`Add a member to @${org}`}
          onSubmit={async (e) => {
            e.preventDefault();
            if (await setRole(user.trim(), newRole)) setUser('');
          }}
        >
          <label>
            Username
            <input required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
          </label>
          <label>
            Role
            <select value={newRole} onChange={(e) => setNewRole(e.currentTarget.value)}>
              <option>owner</option>
              <option>maintainer</option>
              <option>member</option>
            </select>
          </label>
          <button type="submit" disabled={act.busy}>
            Add member
          </button>
        </form>
      )}
    </div>
  );
};

const VisibilitySection = ({ me }: { me: Me }) => {
  const scopes = [me.username, ...me.orgs.filter((o) => o.role !== 'member' || me.is_admin).map((o) => o.name)];
  return (
    <section id="visibility" aria-labelledby="visibility-title">
      <h2 id="visibility-title">Visibility</h2>
      <p class="muted">public: anyone · internal: every signed-in account · private: the owner, the organisation's members and administrators.</p>
      {scopes.map((s) => (
        <ScopeVisibility key={s} scope={s} />
      ))}
    </section>
  );
};

const VisibilitySelect = ({ label, value, onChange, disabled }: { label: string; value: Visibility; onChange: (v: Visibility) => void; disabled?: boolean }) => (
  <select aria-label={label} value={value} disabled={disabled} onChange={(e) => onChange(e.currentTarget.value as Visibility)}>
    {VISIBILITIES.map((v) => (
      <option key={v}>{v}</option>
    ))}
  </select>
);

const ScopeVisibility = ({ scope }: { scope: string }) => {
  const [page, setPage] = useState(1);
  const def = useAsync(() => ok(api.GET('/api/v1/access/{scope}', { params: { path: { scope: `@${scope}` } } })), [scope]);
  const pkgs = useAsync(
    async () => {
      const list = await ok(api.GET('/api/v1/packages', { params: { query: { scope, sort: 'name', page, limit: 10 } } }));
      const withAccess = await Promise.all(list.packages.map(async (p) => ({ ...p, visibility: (await ok(api.GET('/api/v1/access/{scope}/{name}', { params: { path: { scope: p.scope, name: p.name } } }))).visibility })));
      return { ...list, packages: withAccess };
    },
    [scope, page],
  );
  const act = useAction();
  return (
    <div class="org">
      <h3>@{scope}</h3>
      {act.error && <ErrorBox error={act.error} title="The visibility was not changed" />}
      {def.data && (
        <p>
          New packages of @{scope} start{' '}
          <VisibilitySelect label={`Default visibility of @${scope}`} value={def.data.visibility} disabled={act.busy} onChange={(v) => void act.run(async () => (await ok(api.PUT('/api/v1/access/{scope}', { params: { path: { scope: `@${scope}` } }, body: { visibility: v } })), def.reload()))} />
        </p>
      )}
      {pkgs.error ? (
        <ErrorBox error={pkgs.error} />
      ) : !pkgs.data ? (
        <Loading />
      ) : pkgs.data.packages.length === 0 ? (
        <p class="muted">No packages in @{scope} yet.</p>
      ) : (
        <>
          <ul class="plain">
            {pkgs.data.packages.map((p) => (
              <li key={p.full_name} class="row">
                <a href={`/${p.full_name}`}>{p.full_name}</a>
                <VisibilitySelect label={`Visibility of ${p.full_name}`} value={p.visibility} disabled={act.busy} onChange={(v) => void act.run(async () => (await ok(api.PUT('/api/v1/access/{scope}/{name}', { params: { path: { scope: p.scope, name: p.name } }, body: { visibility: v } })), pkgs.reload()))} />
              </li>
            ))}
          </ul>
          {pkgs.data.total > 10 && (
            <p class="row">
              <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
                Previous
              </button>
              <span>
                {page} / {Math.ceil(pkgs.data.total / 10)}
              </span>
              <button type="button" disabled={page * 10 >= pkgs.data.total} onClick={() => setPage(page + 1)}>
                Next
              </button>
            </p>
          )}
        </>
      )}
    </div>
  );
};

const Namespaces = ({ me }: { me: Me }) => {
  const [owner, setOwner] = useState(me.username);
  const [name, setName] = useState('');
  const list = useAsync(() => ok(api.GET('/api/v1/users/{account}/scopes', { params: { path: { account: owner || me.username } } })), [owner]);
  const act = useAction();
  return (
    <section id="namespaces" aria-labelledby="ns-title">
      <h2 id="ns-title">Namespaces (administrators)</h2>
      <p class="muted">Reverse-DNS namespaces (like io.github.alice) that MCP servers publish under, and who owns them.</p>
      <form
        class="row"
        aria-label="Register a namespace"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await act.run(() => ok(api.POST('/api/v1/scopes', { body: { name: name.trim(), owner: owner.trim() } })))) {
            setName('');
            list.reload();
          }
        }}
      >
        <label>
          Namespace
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="io.github.alice" />
        </label>
        <label>
          Owner
          <input required value={owner} onInput={(e) => setOwner(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={act.busy}>
          Register
        </button>
      </form>
      {act.error && <ErrorBox error={act.error} title="The namespace was not registered" />}
      {list.data && (list.data.scopes.length === 0 ? <p class="muted">@{owner} owns no namespace.</p> : <ul class="plain">{list.data.scopes.map((s) => <li key={s.name}>{s.name} <span class="muted">since {formatDate(s.created_at)}</span></li>)}</ul>)}
    </section>
  );
};

const Audit = ({ me }: { me: Me }) => {
  const [page, setPage] = useState(1);
  const [everyone, setEveryone] = useState(false);
  // Everyone reads what their own account did; an administrator can also read every account's entries.
  const log = useAsync(
    () => (everyone && me.is_admin ? ok(api.GET('/api/v1/audit', { params: { query: { page, limit: 20 } } })) : ok(api.GET('/api/v1/whoami/audit', { params: { query: { page, limit: 20 } } }))),
    [me.username, page, everyone],
  );
  return (
    <section id="audit" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <p class="muted">What {everyone ? 'every account' : `@${me.username}`} did on this server, newest first.</p>
      {log.error ? (
        <ErrorBox error={log.error} />
      ) : !log.data ? (
        <Loading what="the audit log" />
      ) : (
        <>
          {me.is_admin && (
            <label class="inline">
              <input type="checkbox" checked={everyone} onChange={(e) => (setEveryone(e.currentTarget.checked), setPage(1))} /> Every account's entries
            </label>
          )}
          {log.data.entries.length === 0 ? (
            <p class="muted">No entries yet: publishing, creating a token or changing a visibility is recorded here.</p>
          ) : (
            <Table caption="Audit log" columns={['When', 'Who', 'Action', 'Target', 'Details']}>
                  {log.data.entries.map((e) => (
                    <tr key={e.id}>
                      <td>{new Date(e.at).toLocaleString()}</td>
                      <td>{e.actor ?? '—'}</td>
                      <td>
                        <code>{e.action}</code>
                      </td>
                      <td>{e.target}</td>
                      <td>
                        <code class="small">{Object.keys(e.details).length ? JSON.stringify(e.details) : ''}</code>
                      </td>
                    </tr>
                  ))}
            </Table>
          )}
          {log.data.total > 20 && (
            <p class="row">
              <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
                Newer
              </button>
              <button type="button" disabled={page * 20 >= log.data.total} onClick={() => setPage(page + 1)}>
                Older
              </button>
            </p>
          )}
        </>
      )}
    </section>
  );
};
