import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import { anonymous } from '../../core/auth/principal.js';
import { sameSecret } from '../../core/auth/same-secret.js';
import { AgentryError } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';

export interface MetricsOptions {
  registry: Registry;
  /** When set, `/metrics` answers only `Authorization: Bearer <token>` (compared in constant time). */
  token?: string;
}

/** The bearer token of a request, if it sent one. */
const bearerOf = (header: string | undefined): string | undefined => /^Bearer[ \t]+(\S+)\s*$/i.exec(header ?? '')?.[1];

/**
 * Prometheus metrics at `/metrics`: requests by route and status, latency, packages, process
 * stats; open to all unless a metrics token is set (`--metrics-token`, AGENTRY_METRICS_TOKEN).
 */
const metricsPlugin: FastifyPluginAsync<MetricsOptions> = async (app, { registry, token }) => {
  const prom = new PromRegistry();
  collectDefaultMetrics({ register: prom, prefix: 'agentry_' });
  const requests = new Counter({ name: 'agentry_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [prom] });
  const duration = new Histogram({
    name: 'agentry_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [prom],
  });
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

  // A callback hook (every request runs it): no promise to make and settle.
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
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
    return prom.metrics();
  });
};

export const metricsRoutes = fp(metricsPlugin, { name: 'agentry-metrics' });
