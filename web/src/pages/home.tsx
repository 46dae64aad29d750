import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, KIND_LABEL, KINDS, ok, type Kind } from '../api/client';
import { PackageCard } from '../package-card';
import { Empty, ErrorBox, Loading, useAsync, useTitle } from '../ui';

/** Home: search, the kinds, this week's trending packages of a kind, and the categories. */
export const Home = () => {
  useTitle('');
  const { route } = useLocation();
  const [q, setQ] = useState('');
  const [kind, setKind] = useState<Kind>('agent');
  const trending = useAsync(() => ok(api.GET('/api/v1/trending', { params: { query: { kind, period: 'week', limit: 6 } } })), [kind]);
  const categories = useAsync(() => ok(api.GET('/api/v1/categories', { params: { query: { kind } } })), [kind]);
  return (
    <div class="home">
      <section class="hero" aria-labelledby="hero-title">
        <h1 id="hero-title">Agents, skills and MCP servers your team publishes</h1>
        <form
          role="search"
          class="hero-search"
          onSubmit={(e) => {
            e.preventDefault();
            route(`/search?q=${encodeURIComponent(q.trim())}`);
          }}
        >
          <input type="search" aria-label="Search the registry" placeholder="Search by name, description or tag" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          <button type="submit">Search</button>
        </form>
        <ul class="kinds" aria-label="Kinds">
          {KINDS.map((k) => (
            <li key={k}>
              <a href={`/search?kind=${k}`}>{KIND_LABEL[k]}</a>
            </li>
          ))}
          <li>
            <a href="/agentspaces">Agentspaces</a>
          </li>
        </ul>
      </section>

      <div class="tabs" role="group" aria-label="Kind shown below">
        {KINDS.map((k) => (
          <button key={k} type="button" aria-pressed={kind === k} onClick={() => setKind(k)}>
            {KIND_LABEL[k]}
          </button>
        ))}
      </div>

      <div class="columns">
        <section aria-labelledby="trending-title">
          <h2 id="trending-title">Trending this week</h2>
          {trending.error ? (
            <ErrorBox error={trending.error} title="Trending could not be loaded" />
          ) : !trending.data ? (
            <Loading what="trending packages" />
          ) : trending.data.agents.length === 0 ? (
            <Empty title={`No ${KIND_LABEL[kind].toLowerCase()} were downloaded this week.`}>
              Publish one with <code>agentry publish</code>, or <a href={`/search?kind=${kind}`}>browse every one</a>.
            </Empty>
          ) : (
            <ul class="cards">
              {trending.data.agents.map((p) => (
                <PackageCard key={p.full_name} p={p} />
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="categories-title">
          <h2 id="categories-title">Categories</h2>
          {categories.error ? (
            <ErrorBox error={categories.error} title="Categories could not be loaded" />
          ) : !categories.data ? (
            <Loading what="categories" />
          ) : (
            <ul class="categories">
              {categories.data.categories.map((c) => (
                <li key={c.slug}>
                  <a href={`/search?kind=${kind}&category=${c.slug}`}>
                    {c.name} <span class="muted">{c.count}</span>
                  </a>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
};
