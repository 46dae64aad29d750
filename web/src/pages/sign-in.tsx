import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiError, ok } from '../api/client';
import { session, type Me } from '../session';
import { ErrorBox, useTitle } from '../ui';

const STATE_KEY = 'agentry.oauth';

/** Checks a token with /whoami and keeps it in this browser. */
export const signInWithToken = async (token: string): Promise<Me> => {
  const who = await ok(api.GET('/api/v1/whoami', { headers: { authorization: `Bearer ${token}` } }));
  session.set(token, who as Me);
  return who as Me;
};

export const SignIn = () => {
  useTitle('Sign in');
  const { route } = useLocation();
  const [token, setToken] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  return (
    <div class="narrow">
      <h1>Sign in</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            await signInWithToken(token.trim());
            route('/account');
          } catch (err) {
            setError(err as ApiError);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Token
          <input type="password" name="token" autoComplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} placeholder="agentry_…" aria-describedby="token-help" />
        </label>
        <p id="token-help" class="muted">
          A token from <code>agentry token create</code>, or the one <code>agentry user add</code> printed. It is kept in this browser only.
        </p>
        <button type="submit" disabled={busy || !token.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      {error && <ErrorBox error={error} title="Not signed in" />}
      <h2>Or with your identity provider</h2>
      <OAuthButton />
    </div>
  );
};

const OAuthButton = () => {
  const [error, setError] = useState<ApiError>();
  return (
    <>
      <button
        type="button"
        onClick={async () => {
          setError(undefined);
          try {
            const { auth_url } = await ok(api.POST('/api/v1/auth/github', { body: { redirect_uri: `${location.origin}/sign-in/callback` } }));
            const state = new URL(auth_url).searchParams.get('state');
            if (state) sessionStorage.setItem(STATE_KEY, state);
            location.assign(auth_url);
          } catch (e) {
            setError(e as ApiError);
          }
        }}
      >
        Sign in with GitHub
      </button>
      {error && <ErrorBox error={error} title={error.status === 501 ? 'Sign-in with a provider is not set up on this server' : 'Sign-in could not start'} />}
    </>
  );
};

/** Where the provider sends the browser back: trade the code and state for a token. */
export const OAuthCallback = () => {
  useTitle('Signing in');
  const { query, route } = useLocation();
  const [error, setError] = useState<ApiError>();
  useEffect(() => {
    const expected = sessionStorage.getItem(STATE_KEY);
    sessionStorage.removeItem(STATE_KEY);
    if (query.error) return setError(new ApiError(400, `The provider refused: ${query.error_description ?? query.error}`));
    if (!query.code || !query.state || query.state !== expected) return setError(new ApiError(400, 'This sign-in link is not the one this browser started. Start again.'));
    ok(api.GET('/api/v1/auth/callback', { params: { query: { code: query.code, state: query.state } } }))
      .then((r) => signInWithToken(r.token))
      .then(() => route('/account', true), (e: ApiError) => setError(e));
  }, []);
  return (
    <div class="narrow">
      <h1>Signing in…</h1>
      {error && (
        <>
          <ErrorBox error={error} title="Sign-in failed" />
          <a href="/sign-in">Try again</a>
        </>
      )}
    </div>
  );
};
