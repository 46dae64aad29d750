import type { FastifyPluginAsync, onResponseHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { Gauge, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import { anonymous } from '../../core/auth/principal.js';
import { sameSecret } from '../../core/auth/same-secret.js';
import { AgentryError } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';

export interface MetricsOptions {
  registry: Registry;
  /** When set, `/metrics` answers only `Authorization: Bearer <token>` (compared in constant time). */
  token?: string;
}

/** Upper bounds of the request duration histogram's buckets, in seconds. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** One method and route: how many answers of each status, and how long they took. */
interface Series {
  method: string;
  route: string;
  statuses: Map<number, number>;
  /** Answers per bucket (not cumulative): index i counts durations in (bound i-1, bound i]; the last, those above every bound. */
  buckets: number[];
  sum: number;
  count: number;
}

/** A label value as the Prometheus text format quotes it. */
const labelValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/**
 * `agentry_http_requests_total` (by method, route and status) and
 * `agentry_http_request_duration_seconds` (a histogram by method and route), kept as plain
 * numbers and written in the Prometheus text format when `/metrics` is read. prom-client's
 * labelled metrics check and hash their labels and make a closure on every call: for an answer
 * that takes ~150 µs of CPU, a few per cent of it.
 */
class RequestMetrics {
  private readonly series = new Map<string, Series>();

  /** Records one answer into `byMethod`, the series of one route (its URL pattern, or `unmatched`) by method. */
  record(byMethod: Map<string, Series>, route: string, method: string, status: number, seconds: number): void {
    let s = byMethod.get(method);
    if (!s) {
      const key = `${method} ${route}`;
      s = this.series.get(key);
      if (!s) this.series.set(key, (s = { method, route, statuses: new Map(), buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 }));
      byMethod.set(method, s);
    }
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    s.buckets[i]! += 1;
    s.sum += seconds;
    s.count += 1;
  }

  /** Both metrics in the text format, each family after a blank line (as prom-client separates its own). */
  exposition(): string {
    const counts: string[] = [];
    const durations: string[] = [];
    for (const s of this.series.values()) {
      const labels = `method="${labelValue(s.method)}",route="${labelValue(s.route)}"`;
      for (const [status, n] of s.statuses) counts.push(`agentry_http_requests_total{${labels},status="${status}"} ${n}`);
      let cumulative = 0;
      for (let i = 0; i <= DURATION_BUCKETS.length; i++) {
        cumulative += s.buckets[i]!;
        durations.push(`agentry_http_request_duration_seconds_bucket{le="${i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i] : '+Inf'}",${labels}} ${cumulative}`);
      }
      durations.push(`agentry_http_request_duration_seconds_sum{${labels}} ${s.sum}`, `agentry_http_request_duration_seconds_count{${labels}} ${s.count}`);
    }
    return [
      '\n# HELP agentry_http_requests_total HTTP requests\n# TYPE agentry_http_requests_total counter\n',
      ...counts.map((l) => `${l}\n`),
      '\n# HELP agentry_http_request_duration_seconds HTTP request duration\n# TYPE agentry_http_request_duration_seconds histogram\n',
      ...durations.map((l) => `${l}\n`),
    ].join('');
  }
}

/** A route's `onResponse` hooks as the route options hold them (one, several or none), as a list. */
const hookList = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);

/** The bearer token of a request, if it sent one. */
const bearerOf = (header: string | undefined): string | undefined => /^Bearer[ \t]+(\S+)\s*$/i.exec(header ?? '')?.[1];

/**
 * Prometheus metrics at `/metrics`: requests by route and status, latency, packages, process
 * stats; open to all unless a metrics token is set (`--metrics-token`, AGENTRY_METRICS_TOKEN).
 */
const metricsPlugin: FastifyPluginAsync<MetricsOptions> = async (app, { registry, token }) => {
  const prom = new PromRegistry();
  collectDefaultMetrics({ register: prom, prefix: 'agentry_' });
  const requests = new RequestMetrics();
  new Gauge({
    name: 'agentry_packages',
    help: token ? 'Published packages, every visibility' : 'Published packages an anonymous caller may read',
    registers: [prom],
    async collect() {
      // Open to anyone, the figure counts what anyone may read (issue 12: a private package is in no
      // count of who may not read it); behind the metrics token, the operator's figure counts every package.
      this.set(await registry.packages.publishedCount(token ? undefined : anonymous()));
    },
  });

  // Each route gets its own callback hook (no promise to make and settle), made when the route is
  // added and knowing its URL pattern: a request's route is not looked up through the
  // `routeOptions` getter, which builds an object of a dozen fields for every call. (A GET's HEAD
  // twin is added from the options as they were before this hook, so it gets its own.)
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    const byMethod = new Map<string, Series>();
    const hook: onResponseHookHandler = (req, reply, done) => {
      requests.record(byMethod, url, req.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    route.onResponse = [...hookList(route.onResponse), hook];
  });
  // Answers no route matched (404s of the not-found handler, the router's own refusals).
  const unmatched = new Map<string, Series>();
  app.addHook('onResponse', (req, reply, done) => {
    if (req.is404) requests.record(unmatched, 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  const summary = token ? 'Prometheus metrics (a Bearer of the metrics token)' : 'Prometheus metrics';
  const schema = {
    tags: ['system'],
    summary,
    hide: false,
    produces: ['text/plain'],
    response: { 200: Type.String({ description: 'The Prometheus text exposition format' }) },
    ...(token ? { security: [{ bearer: [] }] } : {}),
  };
  app.get('/metrics', { schema }, async (req, reply) => {
    if (token !== undefined) {
      const given = bearerOf(req.headers.authorization);
      if (given === undefined || !sameSecret(given, token)) {
        void reply.header('WWW-Authenticate', 'Bearer realm="agentry-metrics"');
        throw new AgentryError('unauthorized', given === undefined ? 'The metrics need a Bearer token' : 'Invalid metrics token');
      }
    }
    void reply.header('Content-Type', prom.contentType);
    return (await prom.metrics()) + requests.exposition();
  });
};

export const metricsRoutes = fp(metricsPlugin, { name: 'agentry-metrics' });
