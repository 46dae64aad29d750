import { useLocation } from 'preact-iso';
import { api, isKind, KIND_LABEL, KINDS, ok } from '../api/client';
import { PackageCard } from '../package-card';
import { Empty, ErrorBox, Loading, Pager, useAsync, useTitle } from '../ui';

const SORTS = [
  ['relevance', 'Relevance'],
  ['downloads', 'Downloads'],
  ['stars', 'Stars'],
  ['newest', 'Newest'],
] as const;
type Sort = (typeof SORTS)[number][0] | 'name';
const LIMIT = 20;
const FACETS = ['q', 'kind', 'category', 'tag', 'scope', 'verified', 'deprecated', 'sort', 'page'] as const;
const bool = (v: string | undefined): boolean | undefined => (v === 'true' ? true : v === 'false' ? false : undefined);

/** Search: every facet and the sort live in the URL, so a search can be shared, bookmarked and paged back. */
export const Search = () => {
  const { query, route } = useLocation();
  const q = query.q ?? '';
  const kind = isKind(query.kind) ? query.kind : undefined;
  const sort: Sort = (SORTS.some(([s]) => s === query.sort) ? query.sort : q ? 'relevance' : 'downloads') as Sort;
  const page = Math.max(1, Math.min(100000, Number.parseInt(query.page ?? '1', 10) || 1));
  const href = (change: Record<string, string | undefined>): string => {
    const next = new URLSearchParams();
    for (const k of FACETS) {
      const v = k in change ? change[k] : query[k];
      if (v) next.set(k, v);
    }
    if (!('page' in change)) next.delete('page');
    const s = next.toString();
    return `/search${s ? `?${s}` : ''}`;
  };
  useTitle(q ? `Search: ${q}` : 'Browse');
  const filters = {
    q: q || undefined,
    tag: query.tag || undefined,
    scope: query.scope || undefined,
    verified: bool(query.verified),
    deprecated: bool(query.deprecated),
  };
  const result = useAsync(
    () =>
      ok(
        api.GET('/api/v1/packages', {
          params: {
            query: {
              ...filters,
              kind,
              category: query.category || undefined,
              // Relevance needs words to be relevant to.
              sort: sort === 'relevance' && !q ? 'downloads' : sort,
              page,
              limit: LIMIT,
            },
          },
        }),
      ),
    [q, kind, query.category, query.tag, query.scope, query.verified, query.deprecated, sort, page],
  );
  // The kind facet's counts: the same filters (but the kind and category), one count per kind.
  const kindCounts = useAsync(
    () => Promise.all(KINDS.map((k) => ok(api.GET('/api/v1/packages', { params: { query: { ...filters, kind: k, limit: 1 } } })).then((r) => [k, r.total] as const))).then((e) => new Map<string, number>(e)),
    [q, query.tag, query.scope, query.verified, query.deprecated],
  );
  const allKinds = kindCounts.data ? [...kindCounts.data.values()].reduce((a, b) => a + b, 0) : undefined;
  const categories = useAsync(() => ok(api.GET('/api/v1/categories', { params: { query: { kind } } })), [kind]);
  const active = (['category', 'tag', 'scope', 'verified', 'deprecated'] as const).filter((k) => bool(query[k]) !== undefined || (k !== 'verified' && k !== 'deprecated' && query[k]));
  return (
    <div class="search-page">
      <aside class="facets" aria-label="Filters">
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            const data = new FormData(e.currentTarget);
            route(href({ q: String(data.get('q') ?? '').trim() || undefined, tag: String(data.get('tag') ?? '').trim() || undefined, scope: String(data.get('scope') ?? '').trim() || undefined }));
          }}
        >
          <label>
            Words
            <input type="search" name="q" defaultValue={q} key={`q-${q}`} />
          </label>
          <label>
            Tag
            <input name="tag" defaultValue={query.tag ?? ''} key={`t-${query.tag}`} placeholder="e.g. github" />
          </label>
          <label>
            Scope
            <input name="scope" defaultValue={query.scope ?? ''} key={`s-${query.scope}`} placeholder="e.g. @acme" />
          </label>
          <button type="submit">Apply</button>
        </form>
        <fieldset>
          <legend>Kind</legend>
          <ul>
            <li>
              <a href={href({ kind: undefined, category: undefined })} aria-current={!kind ? 'true' : undefined}>
                All kinds {allKinds !== undefined && <span class="muted">{allKinds}</span>}
              </a>
            </li>
            {KINDS.map((k) => (
              <li key={k}>
                <a href={href({ kind: k })} aria-current={kind === k ? 'true' : undefined}>
                  {KIND_LABEL[k]} {kindCounts.data && <span class="muted">{kindCounts.data.get(k)}</span>}
                </a>
              </li>
            ))}
          </ul>
        </fieldset>
        <fieldset>
          <legend>Status</legend>
          <ul>
            <li>
              <a href={href({ verified: query.verified === 'true' ? undefined : 'true' })} aria-current={query.verified === 'true' ? 'true' : undefined}>
                Verified only
              </a>
            </li>
            <li>
              <a href={href({ deprecated: query.deprecated === 'false' ? undefined : 'false' })} aria-current={query.deprecated === 'false' ? 'true' : undefined}>
                Hide deprecated
              </a>
            </li>
            <li>
              <a href={href({ deprecated: query.deprecated === 'true' ? undefined : 'true' })} aria-current={query.deprecated === 'true' ? 'true' : undefined}>
                Deprecated only
              </a>
            </li>
          </ul>
        </fieldset>
        <fieldset>
          <legend>Category</legend>
          {categories.data ? (
            <ul>
              {categories.data.categories
                .filter((c) => c.count > 0 || c.slug === query.category)
                .map((c) => (
                  <li key={c.slug}>
                    <a href={href({ category: query.category === c.slug ? undefined : c.slug })} aria-current={query.category === c.slug ? 'true' : undefined}>
                      {c.name} <span class="muted">{c.count}</span>
                    </a>
                  </li>
                ))}
            </ul>
          ) : (
            <Loading />
          )}
        </fieldset>
      </aside>
      <section class="results" aria-labelledby="results-title">
        <div class="results-head">
          <h1 id="results-title">{q ? <>Results for “{q}”</> : kind ? KIND_LABEL[kind] : 'Every package'}</h1>
          <label class="inline">
            Sort by{' '}
            <select value={sort} onChange={(e) => route(href({ sort: e.currentTarget.value }))}>
              {SORTS.filter(([s]) => s !== 'relevance' || q).map(([s, label]) => (
                <option key={s} value={s}>
                  {label}
                </option>
              ))}
            </select>
          </label>
        </div>
        {active.length > 0 && (
          <p class="chips">
            {active.map((k) => (
              <a key={k} class="chip" href={href({ [k]: undefined })} aria-label={`Remove filter ${k}: ${query[k]}`}>
                {k}: {query[k]} ✕
              </a>
            ))}
          </p>
        )}
        {result.error ? (
          <ErrorBox error={result.error} title="The search failed" />
        ) : !result.data ? (
          <Loading what="results" />
        ) : result.data.packages.length === 0 ? (
          <Empty title={q ? `Nothing matches “${q}”${active.length || kind ? ' with these filters' : ''}.` : 'No packages here yet.'}>
            {active.length || kind ? <a href={`/search${q ? `?q=${encodeURIComponent(q)}` : ''}`}>Clear the filters</a> : <>Publish one: <code>agentry init --kind agent --name my-agent --scope you && agentry publish</code></>}
          </Empty>
        ) : (
          <>
            <p class="muted" aria-live="polite">
              {result.data.total} {result.data.total === 1 ? 'package' : 'packages'}
              {result.loading ? ' (updating…)' : ''}
            </p>
            <ul class="cards">
              {result.data.packages.map((p) => (
                <PackageCard key={p.full_name} p={p} />
              ))}
            </ul>
            <Pager page={page} limit={LIMIT} total={result.data.total} href={(n) => href({ page: String(n) })} />
          </>
        )}
      </section>
    </div>
  );
};
