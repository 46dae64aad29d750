import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CliError } from './cli-error.js';

export interface CallbackParams {
  code: string;
  state: string;
}

/**
 * The CLI's end of agentx's redirect flow: a one-shot HTTP listener on
 * `http://localhost:<port>/callback` (both 127.0.0.1 and ::1, as a browser may use either) that
 * waits for the provider to send the browser back with `code` and `state`, then shows the person
 * at the browser how it ended.
 */
export class OAuthCallbackListener {
  private readonly servers: Server[] = [];
  private waiter?: { resolve: (p: CallbackParams & { respond: (ok: boolean, text: string) => void }) => void; reject: (e: Error) => void };

  private port = 0;

  private constructor() {}

  get redirectUri(): string {
    return `http://localhost:${this.port}/callback`;
  }

  static async open(port: number): Promise<OAuthCallbackListener> {
    const l = new OAuthCallbackListener();
    const first = await l.listen('127.0.0.1', port);
    l.servers.push(first);
    const bound = (first.address() as AddressInfo).port;
    l.port = bound;
    // IPv6 loopback too, on the same port; fine to go without where there is no IPv6.
    await l
      .listen('::1', bound)
      .then((s) => l.servers.push(s))
      .catch(() => undefined);
    return l;
  }

  private listen(host: string, port: number): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer(this.handle);
      server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new CliError(`port ${port} is in use: pass --port <another port> (or 0 for any free one)`) : e));
      server.listen(port, host, () => resolve(server));
    });
  }

  private readonly handle = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    const page = (ok: boolean, text: string) => {
      const title = ok ? 'Signed in' : 'Sign-in failed';
      res.writeHead(ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${escapeHtml(text)}</p>\n`);
    };
    const error = url.searchParams.get('error');
    const code = url.searchParams.get('code');
    const state = url.searchParams.get('state');
    if (!this.waiter) {
      page(false, 'This sign-in is over; run agentry login again.');
      return;
    }
    if (error) {
      page(false, `The provider answered: ${error}. You can close this window.`);
      this.waiter.reject(new CliError(`sign-in was not completed at the provider (${error})`, url.searchParams.get('error_description') ? [url.searchParams.get('error_description')!] : []));
      return;
    }
    if (!code || !state) {
      page(false, 'The callback has no code or state.');
      return;
    }
    this.waiter.resolve({ code, state, respond: page });
  };

  /** Resolves with the first callback carrying a code (and a function to answer the browser). */
  wait(timeoutMs: number): Promise<CallbackParams & { respond: (ok: boolean, text: string) => void }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new CliError(`no sign-in within ${Math.round(timeoutMs / 1000)} s; run agentry login --github again`)), timeoutMs);
      this.waiter = {
        resolve: (p) => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          this.waiter = undefined;
          reject(e);
        },
      };
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
