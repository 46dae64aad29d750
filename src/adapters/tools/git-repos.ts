import { randomBytes } from 'node:crypto';
import { mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AllowList, EgressProxy, type EgressPolicy } from '../egress/index.js';
import type { RepositoryCheckout, WorkspaceRepos } from '../../core/sessions/repo-port.js';
import { runInGroup } from '../workloads/run-in-group.js';
import { WORKDIR } from './workspace.js';

export interface GitReposOptions {
  /** The workspaces' folder (the tool runtime's `baseDir`: `<base>/<session>/root/workspace` is `/workspace`). */
  baseDir: string;
  /** The server's egress policy: every clone goes through a proxy that applies it. */
  egress: EgressPolicy;
  /** The `git` binary (default `git` on the PATH). */
  gitPath?: string;
  /** Longest a clone may take (default 5 minutes). */
  timeoutMs?: number;
}

/** Strips what must never be shown from git's output: credentials in URLs, and the token itself. */
const scrub = (text: string, token: string | undefined): string => {
  let out = text.replace(/\/\/[^/@\s]*@/g, '//');
  if (token) out = out.split(token).join('***');
  return out.trim().split('\n').slice(-3).join(' ').slice(0, 500);
};

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * Clones a session's `github_repository` resources into its workspace with the `git` command, over
 * HTTP(S) only, through a loopback {@link EgressProxy} that applies the server's egress policy (a
 * refused host is named in the error). The token goes to git as an `http.extraHeader` in its
 * environment (GIT_CONFIG_*): never on a command line, never in the clone's `.git/config`, never in
 * a message. No user or system git config is read; no prompt is ever shown.
 */
export class GitRepos implements WorkspaceRepos {
  constructor(private readonly opts: GitReposOptions) {}

  async sync(sessionId: string, repos: readonly RepositoryCheckout[], removed: readonly string[]): Promise<void> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(sessionId)) throw new Error(`"${sessionId}" is not a session id`);
    await mkdir(this.opts.baseDir, { recursive: true, mode: 0o700 });
    const root = join(await realpath(this.opts.baseDir), sessionId, 'root');
    const hostOf = (path: string): string => {
      const segments = path.split('/').filter((s) => s !== '' && s !== '.');
      if (segments.includes('..') || !path.startsWith(`${WORKDIR}/`)) throw new Error(`${path} is not a path inside ${WORKDIR}`);
      return join(root, ...segments);
    };
    const wanted = new Set(repos.map((r) => r.path));
    for (const path of removed) if (!wanted.has(path)) await rm(hostOf(path), { recursive: true, force: true });
    for (const repo of repos) {
      const target = hostOf(repo.path);
      if (await exists(join(target, '.git'))) continue;
      await this.clone(repo, target);
    }
  }

  private async clone(repo: RepositoryCheckout, target: string): Promise<void> {
    const refused: string[] = [];
    const credentials = `git:${randomBytes(12).toString('hex')}`;
    const proxy = await EgressProxy.start({
      policy: this.opts.egress,
      allow: new AllowList('*'),
      credentials,
      onDecision: (d) => {
        if (!d.allowed) refused.push(`${d.host}: ${d.reason ?? 'refused'}`);
      },
    });
    // Cloned beside the target, then moved in: a failed clone leaves nothing half-made behind.
    const temp = `${target}.clone-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const config: Array<[string, string]> = [
        ['http.proxy', `http://${credentials}@127.0.0.1:${String(proxy.port)}`],
        ['credential.helper', ''],
        ['core.askPass', ''],
      ];
      if (repo.token) {
        config.push(['http.extraHeader', `Authorization: Basic ${Buffer.from(`x-access-token:${repo.token}`).toString('base64')}`]);
        // The header goes with every request of this clone: no redirect may carry it to another host.
        config.push(['http.followRedirects', 'false']);
      }
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: dirname(target),
        LANG: 'C',
        GIT_TERMINAL_PROMPT: '0',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_ALLOW_PROTOCOL: 'http:https',
        GIT_CONFIG_COUNT: String(config.length),
        ...Object.fromEntries(
          config.flatMap(([k, v], i) => [
            [`GIT_CONFIG_KEY_${i}`, k],
            [`GIT_CONFIG_VALUE_${i}`, v],
          ]),
        ),
      };
      const git = this.opts.gitPath ?? 'git';
      const timeoutMs = this.opts.timeoutMs ?? 300_000;
      const branch = repo.checkout?.type === 'branch' ? ['--branch', repo.checkout.name] : [];
      const cloned = await runInGroup(git, ['clone', '--quiet', '--no-tags', ...branch, '--', repo.url, temp], { timeoutMs, env });
      const fail = (what: string, stderr: string): Error => {
        const why = refused.length > 0 ? `the egress policy refused ${refused[0]}` : scrub(stderr, repo.token);
        return new Error(`Repository ${repo.url} (resource ${repo.id}) could not be ${what} at ${repo.path}: ${why}`);
      };
      if (!cloned.ok) throw fail('cloned', cloned.stderr);
      if (repo.checkout?.type === 'commit') {
        const checked = await runInGroup(git, ['-C', temp, 'checkout', '--quiet', '--detach', repo.checkout.sha], { timeoutMs, env });
        if (!checked.ok) throw fail(`checked out at ${repo.checkout.sha}`, checked.stderr);
      }
      await rm(target, { recursive: true, force: true });
      await rename(temp, target);
    } finally {
      await proxy.close();
      await rm(temp, { recursive: true, force: true });
    }
  }
}
