import { useRoute } from 'preact-iso';
import { api, ok } from '../api/client';
import { PackageCard } from '../package-card';
import { useReader } from '../session';
import { Empty, ErrorBox, Loading, Pager, Table, formatCount, formatDate, useAsync, useTitle } from '../ui';
import { NotFound } from './not-found';

/** `/@name`: a user's or an organisation's page — their packages, and an org's members and roles. */
export const ScopePage = () => {
  const { params, query } = useRoute();
  if (!params.scope?.startsWith('@')) return <NotFound />;
  const name = params.scope.slice(1);
  const page = Math.max(1, Number.parseInt(query.page ?? '1', 10) || 1);
  return <Scope name={name} page={page} />;
};

const Scope = ({ name, page }: { name: string; page: number }) => {
  const { me, reader } = useReader();
  useTitle(`@${name}`);
  const account = useAsync(() => ok(api.GET('/api/v1/users/{username}', { params: { path: { username: name } } })), [name, reader]);
  const isOrg = account.data?.kind === 'org';
  const org = useAsync(() => (isOrg ? ok(api.GET('/api/v1/orgs/{org}', { params: { path: { org: name } } })) : Promise.resolve(undefined)), [name, isOrg, reader]);
  const packages = useAsync(() => ok(api.GET('/api/v1/packages', { params: { query: { scope: name, sort: 'downloads', page, limit: 20 } } })), [name, page, reader]);
  const stars = useAsync(() => (account.data?.kind === 'user' ? ok(api.GET('/api/v1/users/{username}/stars', { params: { path: { username: name }, query: { limit: 10 } } })) : Promise.resolve(undefined)), [name, account.data?.kind, reader]);
  if (account.error) return <ErrorBox error={account.error} title={`@${name} could not be shown`} />;
  if (!account.data) return <Loading what={`@${name}`} />;
  const a = account.data;
  return (
    <div class="scope-page">
      <header class="scope-head">
        {a.avatar_url && /^https?:/.test(a.avatar_url) && <img src={a.avatar_url} alt="" width="64" height="64" class="avatar" />}
        <div>
          <h1>{a.display_name || a.username}</h1>
          <p class="muted">
            @{a.username} · {isOrg ? 'organisation' : 'user'} · since {formatDate(a.created_at)} · {formatCount(a.total_downloads)} downloads
          </p>
          {a.bio && <p>{a.bio}</p>}
        </div>
      </header>
      <div class="columns">
        <section aria-labelledby="scope-packages">
          <h2 id="scope-packages">Packages</h2>
          {packages.error ? (
            <ErrorBox error={packages.error} />
          ) : !packages.data ? (
            <Loading what="packages" />
          ) : packages.data.packages.length === 0 ? (
            <Empty title={`@${name} has published nothing you can see.`}>{me ? 'Private packages show only to their owners and members.' : 'Sign in to see internal and private packages you may read.'}</Empty>
          ) : (
            <>
              <ul class="cards">
                {packages.data.packages.map((p) => (
                  <PackageCard key={p.full_name} p={p} />
                ))}
              </ul>
              <Pager page={page} limit={20} total={packages.data.total} href={(n) => `/@${name}?page=${n}`} />
            </>
          )}
        </section>
        <aside>
          {isOrg && (
            <section aria-labelledby="members-title">
              <h2 id="members-title">Members</h2>
              {org.error ? (
                <ErrorBox error={org.error} />
              ) : !org.data ? (
                <Loading what="members" />
              ) : (
                <Table caption={`Members of @${name} and their roles`} columns={['Member', 'Role']}>
                    {org.data.members.map((m) => (
                      <tr key={m.username}>
                        <td>
                          <a href={`/@${m.username}`}>{m.username}</a>
                        </td>
                        <td>{m.role}</td>
                      </tr>
                    ))}
                </Table>
              )}
            </section>
          )}
          {!isOrg && stars.data && (
            <section aria-labelledby="stars-title">
              <h2 id="stars-title">Starred</h2>
              {stars.data.packages.length === 0 ? (
                <p class="muted">Nothing starred yet.</p>
              ) : (
                <ul class="plain">
                  {stars.data.packages.map((p) => (
                    <li key={p.full_name}>
                      <a href={`/${p.full_name}`}>{p.full_name}</a>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          )}
        </aside>
      </div>
    </div>
  );
};
