import { spawn } from 'node:child_process';
import { CliError } from '../cli-error.js';
import { saveUserConfig } from '../config-file.js';
import type { Connection } from '../connection.js';
import { OAuthCallbackListener } from '../oauth-callback.js';

export interface GithubLoginOptions {
  port: number;
  browser: boolean;
  timeoutSeconds: number;
}

interface SignedIn {
  token: string;
  user: { username: string; display_name: string | null; avatar_url: string | null; github_id: number | string };
}

/** Opens `url` in the desktop's browser, if there is one; silent when there is not. */
const openBrowser = (url: string): void => {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    /* no browser: the URL is printed */
  }
};

/**
 * `agentry login --github`: agentx's redirect flow. Listens on http://localhost:<port>/callback,
 * asks the registry for the provider's authorize URL (POST /auth/github), sends the person there,
 * takes the code and state the provider sends back, checks the state is the one the registry
 * issued, and trades them for an Agentry token (GET /auth/callback), which it saves.
 */
export const loginWithGithub = async (conn: Connection, opts: GithubLoginOptions): Promise<SignedIn> => {
  const listener = await OAuthCallbackListener.open(opts.port);
  try {
    const { auth_url: authUrl } = await conn.client.json<{ auth_url: string }>('POST', '/auth/github', { body: { redirect_uri: listener.redirectUri } });
    const issuedState = new URL(authUrl).searchParams.get('state');
    process.stderr.write(`Open this URL in a browser to sign in:\n\n  ${authUrl}\n\nWaiting for the sign-in at ${listener.redirectUri} …\n`);
    if (opts.browser) openBrowser(authUrl);
    const back = await listener.wait(opts.timeoutSeconds * 1000);
    if (issuedState && back.state !== issuedState) {
      back.respond(false, 'The state does not match this sign-in.');
      throw new CliError('sign-in refused: the callback carried another state than the one this sign-in started with');
    }
    let signedIn: SignedIn;
    try {
      signedIn = await conn.client.json<SignedIn>('GET', '/auth/callback', { query: { code: back.code, state: back.state } });
    } catch (e) {
      back.respond(false, `The registry refused the sign-in: ${(e as Error).message}`);
      throw e;
    }
    back.respond(true, `Signed in to ${conn.registry} as ${signedIn.user.username}. You can close this window.`);
    conn.config.registries[conn.registry] = { token: signedIn.token, username: signedIn.user.username };
    conn.config.default_registry = conn.registry;
    await saveUserConfig(conn.configPath, conn.config);
    return signedIn;
  } finally {
    await listener.close();
  }
};
