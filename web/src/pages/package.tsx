import { useMemo } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, ok } from '../api/client';
import type { Json } from '../api/types';
import { renderMarkdown } from '../markdown';
import { KIND_NAME } from '../package-card';
import { RunButton } from '../run-agent';
import { useReader } from '../session';
import { frontMatter, snippets } from '../snippets';
import { Badge, Empty, ErrorBox, formatBytes, formatCount, formatDate, Loading, Snippet, Table, useAction, useAsync, useTitle } from '../ui';
import { NotFound } from './not-found';

type Detail = Json<'/api/v1/packages/{scope}/{name}', 'get'>;
type Version = Json<'/api/v1/packages/{scope}/{name}/versions', 'get'>['versions'][number];

const VISIBILITY_TEXT: Record<string, string> = {
  public: 'Anyone can read it',
  internal: 'Every signed-in account of this server can read it',
  private: 'Only its owner, the members of its organisation and administrators can read it',
};

export const PackagePage = () => {
  const { params } = useRoute();
  if (!params.scope?.startsWith('@')) return <NotFound />;
  return <PackageView scope={params.scope} name={params.name ?? ''} version={params.version} />;
};

const PackageView = ({ scope, name, version }: { scope: string; name: string; version?: string }) => {
  const path = { scope, name };
  const { me, reader } = useReader();
  const pkg = useAsync(() => ok(api.GET('/api/v1/packages/{scope}/{name}', { params: { path } })), [scope, name, reader]);
  const versions = useAsync(() => ok(api.GET('/api/v1/packages/{scope}/{name}/versions', { params: { path } })), [scope, name, reader]);
  const access = useAsync(() => ok(api.GET('/api/v1/access/{scope}/{name}', { params: { path } })), [scope, name, reader]);
  useTitle(`${scope}/${name}`);
  if (pkg.error) {
    return (
      <div>
        <h1>
          {scope}/{name}
        </h1>
        <ErrorBox error={pkg.error} title="This package could not be shown" />
      </div>
    );
  }
  if (!pkg.data) return <Loading what={`${scope}/${name}`} />;
  const p = pkg.data;
  const shown = version ?? p.latest_version ?? undefined;
  return (
    <article class="package" aria-labelledby="pkg-title">
      <header class="pkg-head">
        <h1 id="pkg-title">
          <a href={`/${p.scope}`}>{p.scope}</a>/{p.name}
        </h1>
        <div class="badges">
          <Badge tone="muted">{KIND_NAME[p.kind] ?? p.kind}</Badge>
          {p.latest_version && <Badge>v{p.latest_version}</Badge>}
          {p.is_verified && (
            <Badge tone="ok" title="Verified publisher">
              ✓ verified
            </Badge>
          )}
          {access.data && (
            <Badge tone={access.data.visibility === 'public' ? 'muted' : 'warn'} title={VISIBILITY_TEXT[access.data.visibility]}>
              {access.data.visibility}
            </Badge>
          )}
          {p.deprecated && <Badge tone="warn">deprecated</Badge>}
        </div>
        <p class="lead">{p.description}</p>
        <StarButton scope={scope} name={name} count={p.star_count} />
        {p.kind === 'agent' &&
          shown &&
          (me ? (
            <RunButton target={{ type: 'package', name: p.full_name, version: shown }} label={`Run ${p.full_name}@${shown}`} />
          ) : (
            <p class="muted">
              <a href="/sign-in">Sign in to run this agent</a>
            </p>
          ))}
      </header>
      {p.deprecated && (
        <div class="warning" role="note">
          <strong>The latest version is deprecated:</strong> {p.deprecated}
        </div>
      )}
      {versions.data && <Findings version={shown} findings={versions.data.versions.find((v) => v.version === shown)?.findings ?? []} />}
      <div class="pkg-body">
        <div class="pkg-main">
          <section aria-labelledby="readme-title">
            <h2 id="readme-title">README</h2>
            {p.readme ? (
              <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(p.readme) }} />
            ) : (
              <Empty title="This package has no README.">Add a README.md beside the manifest and publish a new version.</Empty>
            )}
          </section>
          <KindDetails p={p} />
          <section aria-labelledby="versions-title">
            <h2 id="versions-title">Versions</h2>
            {versions.error ? <ErrorBox error={versions.error} /> : !versions.data ? <Loading what="versions" /> : <VersionTable p={p} versions={versions.data.versions} shown={shown} />}
          </section>
          {shown && <Signatures scope={scope} name={name} version={shown} />}
          {shown && <Files scope={scope} name={name} version={shown} kind={p.kind} />}
        </div>
        <aside class="pkg-side" aria-label="Install and facts">
          <section aria-labelledby="install-title">
            <h2 id="install-title">Install</h2>
            {shown ? (
              snippets({ kind: p.kind, scope: p.scope, name: p.name, version: shown, manifest: p.manifest, origin: location.origin }).map((s) => (
                <Snippet key={s.label} label={s.label} text={s.text} />
              ))
            ) : (
              <Empty title="No version to install.">Every version was unpublished.</Empty>
            )}
          </section>
          <Downloads scope={scope} name={name} total={p.download_count} />
          <section aria-labelledby="facts-title">
            <h2 id="facts-title">Facts</h2>
            <dl class="facts">
              <dt>Owner</dt>
              <dd>
                <a href={`/@${p.author.username}`}>{p.author.display_name || p.author.username}</a>
              </dd>
              {p.license && (
                <>
                  <dt>License</dt>
                  <dd>{p.license}</dd>
                </>
              )}
              {p.category && (
                <>
                  <dt>Category</dt>
                  <dd>
                    <a href={`/search?category=${encodeURIComponent(p.category)}`}>{p.category}</a>
                  </dd>
                </>
              )}
              {p.repository && (
                <>
                  <dt>Repository</dt>
                  <dd>
                    <SafeLink href={p.repository} />
                  </dd>
                </>
              )}
              {p.homepage && (
                <>
                  <dt>Homepage</dt>
                  <dd>
                    <SafeLink href={p.homepage} />
                  </dd>
                </>
              )}
              <dt>Published</dt>
              <dd>{formatDate(p.created_at)}</dd>
              <dt>Updated</dt>
              <dd>{formatDate(p.updated_at)}</dd>
            </dl>
            {p.tags.length > 0 && (
              <ul class="tags" aria-label="Tags">
                {p.tags.map((t) => (
                  <li key={t}>
                    <a href={`/search?tag=${encodeURIComponent(t)}`}>#{t}</a>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="tags-title">
            <h2 id="tags-title">Dist-tags</h2>
            {Object.keys(p.dist_tags).length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <dl class="facts">
                {Object.entries(p.dist_tags).map(([tag, v]) => (
                  <>
                    <dt key={`t-${tag}`}>{tag}</dt>
                    <dd key={`v-${tag}`}>
                      <a href={`/${p.full_name}/v/${encodeURIComponent(v)}`}>{v}</a>
                    </dd>
                  </>
                ))}
              </dl>
            )}
          </section>
        </aside>
      </div>
    </article>
  );
};

/** Only http(s) links are links; anything else (javascript:, data:) is shown as text. */
const SafeLink = ({ href }: { href: string }) =>
  /^https?:\/\//i.test(href) ? (
    <a href={href} rel="noopener noreferrer nofollow" target="_blank">
      {href.replace(/^https?:\/\//, '')}
    </a>
  ) : (
    <span>{href}</span>
  );

const StarButton = ({ scope, name, count }: { scope: string; name: string; count: number }) => {
  const { me, reader } = useReader();
  const path = { scope, name };
  const state = useAsync(() => ok(api.GET('/api/v1/packages/{scope}/{name}/star', { params: { path } })), [scope, name, reader]);
  const { busy, error, run } = useAction();
  const starred = state.data?.starred ?? false;
  const stars = state.data?.star_count ?? count;
  if (!me) {
    return (
      <p class="star">
        ★ {formatCount(stars)} · <a href="/sign-in">Sign in to star</a>
      </p>
    );
  }
  return (
    <div class="star">
      <button
        type="button"
        aria-pressed={starred}
        disabled={busy || !state.data}
        onClick={() =>
          void run(async () => {
            await ok(starred ? api.DELETE('/api/v1/packages/{scope}/{name}/star', { params: { path } }) : api.PUT('/api/v1/packages/{scope}/{name}/star', { params: { path } }));
            state.reload();
          })
        }
      >
        {starred ? '★ Starred' : '☆ Star'}
      </button>{' '}
      <span aria-live="polite">{formatCount(stars)} stars</span>
      {error && <ErrorBox error={error} title="The star was not saved" />}
    </div>
  );
};

const KindDetails = ({ p }: { p: Detail }) => {
  const m = p.manifest;
  if (p.kind === 'agent') {
    const perms = p.permissions;
    return (
      <section aria-labelledby="agent-title">
        <h2 id="agent-title">What this agent needs</h2>
        <h3>Permissions</h3>
        <ul class="perms">
          <li>{perms.filesystem ? '⚠ Reads and writes files' : '✓ No file system access'}</li>
          <li>{perms.network ? '⚠ Uses the network' : '✓ No network access'}</li>
          <li>{perms.execute_commands ? '⚠ Runs commands' : '✓ Runs no commands'}</li>
        </ul>
        <h3>MCP servers</h3>
        {p.mcp_servers.length ? (
          <ul>
            {p.mcp_servers.map((s) => (
              <li key={s}>
                <code>{s}</code>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">None.</p>
        )}
        <h3>Examples</h3>
        {p.examples.length ? (
          <ul class="examples">
            {p.examples.map((e, i) => (
              <li key={i}>
                <q>{e.prompt}</q>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No examples in agent.yaml.</p>
        )}
      </section>
    );
  }
  if (p.kind === 'mcp-server' && m) {
    return (
      <section aria-labelledby="server-title">
        <h2 id="server-title">server.json</h2>
        <pre class="json" tabIndex={0} aria-label="server.json">
          <code>{JSON.stringify(m, null, 2)}</code>
        </pre>
      </section>
    );
  }
  if (p.kind === 'skill' && m) {
    return (
      <section aria-labelledby="skill-title">
        <h2 id="skill-title">SKILL.md front matter</h2>
        <pre tabIndex={0} aria-label="SKILL.md front matter">
          <code>{frontMatter(m)}</code>
        </pre>
      </section>
    );
  }
  if (p.kind === 'recipe' && m) {
    return (
      <section aria-labelledby="recipe-title">
        <h2 id="recipe-title">Recipe manifest</h2>
        <pre tabIndex={0} aria-label="Recipe manifest">
          <code>{JSON.stringify(m, null, 2)}</code>
        </pre>
      </section>
    );
  }
  return null;
};

/** What the shown version was flagged for at publish (risky permissions, unknown registries): published, but worth a look. */
const Findings = ({ version, findings }: { version?: string; findings: Version['findings'] }) =>
  findings.length === 0 ? null : (
    <div class="warning" role="note" aria-label="Publish findings">
      <strong>
        Flagged at publish ({version}): {findings.length === 1 ? '1 finding' : `${findings.length} findings`}
      </strong>
      <ul>
        {findings.map((f) => (
          <li key={`${f.rule}:${f.path}`}>
            <code>{f.rule}</code> at <code>{f.path}</code>: {f.message}
          </li>
        ))}
      </ul>
    </div>
  );

const VersionTable = ({ p, versions, shown }: { p: Detail; versions: Version[]; shown?: string }) => {
  if (versions.length === 0)
    return (
      <Empty title="No published versions.">
        Publish one with <code>agentry publish</code>.
      </Empty>
    );
  const tagsOf = (v: string) =>
    Object.entries(p.dist_tags)
      .filter(([, x]) => x === v)
      .map(([t]) => t);
  // Only those who maintain the package's scope get session counts (agent packages): a column of its own then.
  const sessions = versions.some((v) => v.session_count !== undefined);
  return (
    <Table caption={`Versions of ${p.full_name}`} columns={['Version', 'Published', 'Size', 'Downloads', ...(sessions ? ['Sessions'] : []), 'Tags']}>
      {versions.map((v) => (
        <tr key={v.version} aria-current={v.version === shown ? 'true' : undefined}>
          <th scope="row">
            <a href={`/${p.full_name}/v/${encodeURIComponent(v.version)}`}>{v.version}</a>
            {v.deprecated && (
              <>
                {' '}
                <Badge tone="warn" title={v.deprecated}>
                  deprecated
                </Badge>
              </>
            )}
          </th>
          <td>{formatDate(v.published_at)}</td>
          <td>{formatBytes(v.tarball_size)}</td>
          <td>{formatCount(v.download_count)}</td>
          {sessions && <td title="Sessions that ran this version (only you and the other maintainers see this)">{formatCount(v.session_count ?? 0)}</td>}
          <td>{tagsOf(v.version).join(', ')}</td>
        </tr>
      ))}
    </Table>
  );
};

/** Whether the shown version is signed, and by which keys (docs/signing.md). */
const Signatures = ({ scope, name, version }: { scope: string; name: string; version: string }) => {
  const sigs = useAsync(() => ok(api.GET('/api/v1/packages/{scope}/{name}/versions/{version}/signatures', { params: { path: { scope, name, version } } })), [scope, name, version]);
  if (!sigs.data) return null;
  return (
    <p class="signatures">
      {sigs.data.signed ? (
        sigs.data.signatures.map((s) => (
          <Badge
            key={s.digest}
            tone={s.trusted === false ? 'warn' : 'ok'}
            title={`Signed with key ${s.key_id ?? 'unknown'}${s.trusted === null ? '' : s.trusted ? ', which the scope trusts' : ', which the scope does not trust'}`}
          >
            signed {s.key_id ? s.key_id.slice(0, 12) : ''}
            {s.trusted === true ? ' ✓' : ''}
          </Badge>
        ))
      ) : (
        <Badge tone="muted">{version} is not signed</Badge>
      )}
    </p>
  );
};

const Files = ({ scope, name, version }: { scope: string; name: string; version: string; kind: string }) => {
  const files = useAsync(() => ok(api.GET('/api/v1/packages/{scope}/{name}/versions/{version}/files', { params: { path: { scope, name, version } } })), [scope, name, version]);
  return (
    <section aria-labelledby="files-title">
      <h2 id="files-title">Files of {version}</h2>
      {files.error ? (
        <ErrorBox error={files.error} title="The files could not be listed" />
      ) : !files.data ? (
        <Loading what="files" />
      ) : (
        <ul class="files">
          {files.data.files.map((f) => (
            <li key={f.path}>
              <code>{f.path}</code> <span class="muted">{formatBytes(f.size)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
};

/** Downloads per day over 30 days, as bars, with the numbers in a table for screen readers. */
const Downloads = ({ scope, name, total }: { scope: string; name: string; total: number }) => {
  const data = useAsync(() => ok(api.GET('/api/v1/packages/{scope}/{name}/downloads', { params: { path: { scope, name }, query: { days: 30 } } })), [scope, name]);
  const chart = useMemo(() => {
    if (!data.data) return null;
    const days = data.data.days;
    const max = Math.max(1, ...days.map((d) => d.downloads));
    const w = 300;
    const h = 60;
    const bw = w / days.length;
    return (
      <svg viewBox={`0 0 ${w} ${h}`} class="chart" role="img" aria-label={`${data.data.total} downloads in the last 30 days`}>
        {days.map((d, i) => {
          const bh = (d.downloads / max) * (h - 2);
          return (
            <rect key={d.day} x={i * bw + 1} y={h - bh} width={Math.max(1, bw - 2)} height={bh}>
              <title>
                {d.day}: {d.downloads}
              </title>
            </rect>
          );
        })}
      </svg>
    );
  }, [data.data]);
  return (
    <section aria-labelledby="downloads-title">
      <h2 id="downloads-title">Downloads</h2>
      <p>
        <strong>{formatCount(total)}</strong> in all{data.data ? <>, {formatCount(data.data.total)} in the last 30 days</> : null}
      </p>
      {data.error ? <ErrorBox error={data.error} /> : (chart ?? <Loading />)}
    </section>
  );
};
