import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { Registry } from '../../core/registry.js';

/** Prometheus metrics at `/metrics`: requests by route and status, latency, packages, process stats. */
const metricsPlugin: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
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
    help: 'Published packages',
    registers: [prom],
    async collect() {
      this.set(await registry.packages.publishedCount());
    },
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { schema: { tags: ['system'], summary: 'Prometheus metrics', hide: false } }, async (_req, reply) => {
    void reply.header('Content-Type', prom.contentType);
    return prom.metrics();
  });
};

export const metricsRoutes = fp(metricsPlugin, { name: 'agentry-metrics' });
