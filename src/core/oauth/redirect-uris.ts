/**
 * Which redirect URIs a sign-in may send the provider's code to. The code is as good as the
 * account, so never to an arbitrary site: a loopback address (the CLI's local listener, as
 * agentx's `http://localhost:9876/callback`), the server's own callback, or one the operator allows.
 */
export const redirectUriProblem = (uri: string, allowed: readonly string[]): string | undefined => {
  if (allowed.includes(uri)) return undefined;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `redirect_uri: '${uri}' is not a URL`;
  }
  if (u.username || u.password || u.hash) return 'redirect_uri: must not carry credentials or a fragment';
  const loopback = u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '[::1]';
  if (u.protocol === 'http:' && loopback) return undefined;
  return `redirect_uri: must be a loopback address (http://localhost:<port>/…, http://127.0.0.1:<port>/…) or one of the server's allowed redirect URIs`;
};
