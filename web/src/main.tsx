import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorBoundary, LocationProvider, Route, Router, lazy, useLocation } from 'preact-iso';
import { api, ok } from './api/client';
import { session, useSession, type Me } from './session';
import { Home } from './pages/home';
import './styles.css';

// The home page ships in the first load; every other page is its own chunk, fetched when visited.
const Search = lazy(() => import('./pages/search').then((m) => m.Search));
const PackagePage = lazy(() => import('./pages/package').then((m) => m.PackagePage));
const ScopePage = lazy(() => import('./pages/people').then((m) => m.ScopePage));
const Account = lazy(() => import('./pages/account').then((m) => m.Account));
const SignIn = lazy(() => import('./pages/sign-in').then((m) => m.SignIn));
const OAuthCallback = lazy(() => import('./pages/sign-in').then((m) => m.OAuthCallback));
const Agentspaces = lazy(() => import('./pages/agentspaces').then((m) => m.Agentspaces));
const Managed = lazy(() => import('./pages/managed').then((m) => m.Managed));
const Sessions = lazy(() => import('./pages/sessions').then((m) => m.Sessions));
const SessionView = lazy(() => import('./pages/sessions').then((m) => m.SessionView));
const Workloads = lazy(() => import('./pages/workloads').then((m) => m.Workloads));
const NotFound = lazy(() => import('./pages/not-found').then((m) => m.NotFound));

type Theme = 'light' | 'dark' | 'auto';
const THEME_KEY = 'agentry.theme';

const useTheme = (): [Theme, (t: Theme) => void] => {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem(THEME_KEY) as Theme | null) ?? 'auto');
  useEffect(() => {
    if (theme === 'auto') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);
  return [theme, setTheme];
};

const Header = () => {
  const { me } = useSession();
  const { path, query, route } = useLocation();
  const [theme, setTheme] = useTheme();
  const [q, setQ] = useState(path === '/search' ? (query.q ?? '') : '');
  useEffect(() => {
    if (path === '/search') setQ(query.q ?? '');
  }, [path, query.q]);
  return (
    <header class="top">
      <a href="/" class="brand" aria-label="Agentry home">
        <img src="/favicon.svg" alt="" width="24" height="24" /> Agentry
      </a>
      <form
        role="search"
        class="top-search"
        onSubmit={(e) => {
          e.preventDefault();
          route(`/search?q=${encodeURIComponent(q.trim())}`);
        }}
      >
        <input type="search" name="q" aria-label="Search packages" placeholder="Search agents, skills, MCP servers, recipes" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
      </form>
      <nav aria-label="Main">
        <a href="/search">Browse</a>
        <a href="/agentspaces">Agentspaces</a>
        {me && <a href="/managed/agents">Managed agents</a>}
        {me && <a href="/workloads">Workloads</a>}
        {me ? <a href="/account">{me.username}</a> : <a href="/sign-in">Sign in</a>}
        <select aria-label="Colour theme" value={theme} onChange={(e) => setTheme(e.currentTarget.value as Theme)}>
          <option value="auto">Auto</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </nav>
    </header>
  );
};

const App = () => {
  useEffect(() => {
    if (!session.token()) return session.set(null, null);
    ok(api.GET('/api/v1/whoami')).then(
      (who) => session.set(session.token(), who as Me),
      // A token the server no longer takes is forgotten; a server that cannot be reached keeps it.
      (e: { status?: number }) => (e.status === 401 ? session.set(null, null) : session.set(session.token(), null)),
    );
  }, []);
  return (
    <LocationProvider>
      <a href="#main" class="skip">
        Skip to content
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        <ErrorBoundary>
          <Router onRouteChange={() => document.getElementById('main')?.focus({ preventScroll: true })}>
            <Route path="/" component={Home} />
            <Route path="/search" component={Search} />
            <Route path="/sign-in" component={SignIn} />
            <Route path="/sign-in/callback" component={OAuthCallback} />
            <Route path="/account" component={Account} />
            <Route path="/agentspaces" component={Agentspaces} />
            <Route path="/agentspaces/:id" component={Agentspaces} />
            <Route path="/managed" component={Managed} />
            <Route path="/managed/:section" component={Managed} />
            <Route path="/managed/:section/:id" component={Managed} />
            <Route path="/sessions" component={Sessions} />
            <Route path="/sessions/:id" component={SessionView} />
            <Route path="/workloads" component={Workloads} />
            <Route path="/:scope" component={ScopePage} />
            <Route path="/:scope/:name" component={PackagePage} />
            <Route path="/:scope/:name/v/:version" component={PackagePage} />
            <Route default component={NotFound} />
          </Router>
        </ErrorBoundary>
      </main>
      <footer class="foot muted">
        Agentry · <a href="/openapi.json">API (OpenAPI)</a>
      </footer>
    </LocationProvider>
  );
};

render(<App />, document.getElementById('app')!);
