import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>`; the repository is at `${url}/<name>.git`. */
  url: string;
  /** The commit of each branch, by name. */
  commits: Record<string, string>;
  /** Authorization headers of every request, in order (to see that the token was sent, and how). */
  readonly authorizations: Array<string | undefined>;
  close(): Promise<void>;
}

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();

/**
 * A git smart-HTTP server on 127.0.0.1: `git http-backend` (CGI) behind a small node HTTP server, serving
 * one bare repository `<name>.git` with a `main` branch (README.md) and a `feature` branch (FEATURE.md).
 * With `token`, every request must carry it as HTTP basic credentials (any user name, GitHub-style);
 * else 401 with a Basic challenge.
 */
export const startGitHttpServer = async (name: string, opts: { token?: string } = {}): Promise<GitHttpServer> => {
  const dir = mkdtempSync(join(tmpdir(), 'agentry-git-'));
  const work = join(dir, 'work');
  execFileSync('git', ['init', '--quiet', '--initial-branch=main', work]);
  writeFileSync(join(work, 'README.md'), `# ${name}\n\nhello from main\n`);
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', 'first');
  const main = git(work, 'rev-parse', 'HEAD');
  git(work, 'checkout', '--quiet', '-b', 'feature');
  writeFileSync(join(work, 'FEATURE.md'), 'on the feature branch\n');
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', 'feature');
  const feature = git(work, 'rev-parse', 'HEAD');
  git(work, 'checkout', '--quiet', 'main');
  execFileSync('git', ['clone', '--quiet', '--bare', work, join(dir, `${name}.git`)]);

  const authorizations: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    if (opts.token !== undefined) {
      const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      const password = m ? Buffer.from(m[1], 'base64').toString('utf8').split(':').slice(1).join(':') : undefined;
      if (password !== opts.token) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('authentication required\n');
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: dir,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number.parseInt(v, 10);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
    cgi.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    commits: { main, feature },
    authorizations,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
