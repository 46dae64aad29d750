import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AllowList, EgressProxy, type EgressPolicy, type EgressProxyDecision } from '../egress/index.js';
import { runInGroup } from './run-in-group.js';

/** npm's own default, when neither the operator nor npm's configuration names a registry. */
export const DEFAULT_NPM_REGISTRY = 'https://registry.npmjs.org/';

export interface NpmInstallOptions {
  /** The npm binary. */
  npm: string;
  /** npm's environment: PATH and HOME (npm's user configuration); proxy settings are added here. */
  env: { PATH: string; HOME: string };
  /** The server's egress policy: the install reaches the registry through it, and nothing else. */
  egress: EgressPolicy;
  /** The registry's URL (http or https). */
  registry: string;
  /** npm's cache folder; npm's default when unset. */
  cacheDir?: string;
  timeoutMs: number;
  /** The workload's log: every host the install asked for is written there. */
  log: (line: string) => void;
  /** Aborting it stops the install (npm and what it started are killed before the call rejects). */
  signal?: AbortSignal;
}

/** The registry URL, checked: http(s), no credentials, no query. */
export const parseNpmRegistry = (raw: string): URL => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Error(`the npm registry '${raw}' is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`the npm registry '${raw}' is not an http(s) URL`);
  if (url.username || url.password || url.search || url.hash) throw new Error('the npm registry URL may not carry credentials, a query or a fragment');
  return url;
};

/**
 * The registry npm's configuration names (`npm config get registry`), or npm's default. Aborting
 * `signal` kills npm, and the call rejects once it has ended.
 */
export const configuredNpmRegistry = (npm: string, env: { PATH: string; HOME: string }, signal?: AbortSignal): Promise<string> =>
  new Promise((done, fail) => {
    const child = execFile(npm, ['config', 'get', 'registry'], { env, timeout: 30_000, signal, killSignal: 'SIGKILL' }, (err, stdout) => {
      // Aborted: answered at once, before npm is gone; the call rejects once it is.
      if (signal?.aborted) {
        const stopped = () => fail(new Error('the npm registry lookup was stopped'));
        return child.exitCode !== null || child.signalCode !== null ? stopped() : void child.once('exit', stopped);
      }
      const line = String(stdout).trim().split('\n').pop() ?? '';
      if (err || !/^https?:\/\//.test(line)) return done(DEFAULT_NPM_REGISTRY);
      done(line);
    });
  });

/**
 * `npm install --ignore-scripts <spec>` into `prefix`, through the egress policy: npm is given
 * `HTTPS_PROXY`/`HTTP_PROXY` (and `npm_config_proxy`/`npm_config_https_proxy`) pointing at an
 * {@link EgressProxy} on 127.0.0.1 that lets it reach the registry's host and port only, asks for a
 * one-time password (other local users cannot borrow it), and still refuses private addresses unless
 * the operator's `--egress-allow` says otherwise. The proxy lives for this install only. On failure
 * the error names the package, the last lines npm wrote, and every host the proxy refused.
 */
export const npmInstallThroughEgress = async (spec: string, prefix: string, opts: NpmInstallOptions): Promise<void> => {
  const registry = parseNpmRegistry(opts.registry);
  const port = Number(registry.port) || (registry.protocol === 'https:' ? 443 : 80);
  const hostEntry = `${registry.hostname}:${port}`; // an IPv6 hostname keeps its brackets
  const refused: string[] = [];
  // The registry's host named by a name the policy refuses once resolved: the proxy answers that with
  // a 502, which npm takes for a passing gateway error and retries with its back-off (a minute or so),
  // although the policy refuses every retry alike. The install is stopped at the first such refusal.
  const registryRefused = new AbortController();
  // (WHATWG URLs write an IPv4 address in dotted decimal and an IPv6 one in brackets.)
  const registryIsName = !/^\d+\.\d+\.\d+\.\d+$/.test(registry.hostname) && !registry.hostname.startsWith('[');
  const onDecision = (d: EgressProxyDecision) => {
    const where = `${d.host.includes(':') ? `[${d.host}]` : d.host}:${d.port}`;
    if (d.allowed) opts.log(`[agentry] npm install: egress proxy allowed ${d.method} ${where}`);
    else {
      opts.log(`[agentry] npm install: egress proxy refused ${d.method} ${where} (${d.reason ?? 'refused'})`);
      if (!refused.includes(where)) refused.push(where);
      if (registryIsName && where === hostEntry && d.byPolicy === true) registryRefused.abort();
    }
  };
  const password = randomBytes(18).toString('base64url');
  const proxy = await EgressProxy.start({ policy: opts.egress, allow: new AllowList([hostEntry]), allowPorts: [port], credentials: `npm:${password}`, onDecision });
  try {
    const proxyUrl = `http://npm:${password}@127.0.0.1:${String(proxy.port)}`;
    const env: NodeJS.ProcessEnv = {
      ...opts.env,
      // The operator's extra certificate authorities (a TLS-inspecting gateway's): npm's TLS through the tunnel needs them.
      ...(process.env.NODE_EXTRA_CA_CERTS === undefined ? {} : { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS }),
      HTTPS_PROXY: proxyUrl,
      HTTP_PROXY: proxyUrl,
      https_proxy: proxyUrl,
      http_proxy: proxyUrl,
      NO_PROXY: '',
      no_proxy: '',
      npm_config_proxy: proxyUrl,
      npm_config_https_proxy: proxyUrl,
      npm_config_noproxy: '',
      npm_config_registry: registry.href,
      npm_config_update_notifier: 'false',
      ...(opts.cacheDir === undefined ? {} : { npm_config_cache: opts.cacheDir }),
    };
    const args = ['install', '--prefix', prefix, '--registry', registry.href, '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', spec];
    const signal = opts.signal ? AbortSignal.any([registryRefused.signal, opts.signal]) : registryRefused.signal;
    const r = await runInGroup(opts.npm, args, { timeoutMs: opts.timeoutMs, env, signal });
    if (r.ok) return;
    const tail = !r.aborted
      ? r.stderr.replaceAll(password, '***').trim().split('\n').slice(-3).join(' ').slice(0, 500)
      : registryRefused.signal.aborted
        ? `stopped: the registry's host ${registry.hostname} is refused, and npm's retries would be refused alike`
        : 'stopped: the start was stopped';
    const policy =
      refused.length > 0
        ? `; the egress policy refused ${refused.join(', ')} (npm installs may reach only the registry ${registry.host || registry.hostname}, and private addresses only if --egress-allow allows them)`
        : '';
    throw new Error(`npm install ${spec} failed: ${tail}${policy}`);
  } finally {
    await proxy.close();
  }
};
