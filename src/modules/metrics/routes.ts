/**
 * Where the metrics are served (docs/operations.md, "Metrics"): on a listener of their own
 * (NELM_METRICS_PORT, no authentication, bound to NELM_METRICS_HOST), and/or at `/metrics` on the
 * API port for a bearer of NELM_METRICS_TOKEN (compared in constant time). With neither, nothing
 * is measured and `/metrics` is a 404.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { MetricsSettings } from '../../config/config.js';
import type { Db } from '../../db/dialect.js';
import type { Services } from '../../services.js';
import { Metrics } from './metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Set when metrics are served; `address` once their own listener listens. */
    metrics: (Metrics & { address?: AddressInfo }) | undefined;
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether `header` is `Bearer <token>`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (\S+)$/i.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

/** Measures the app and serves its metrics, when the settings ask for them. */
export function mountMetrics(app: FastifyInstance, settings: MetricsSettings, db: Db, services: Services): void {
  if (settings.port === undefined && settings.token === undefined) {
    app.decorate('metrics', undefined);
    return;
  }
  const metrics: Metrics & { address?: AddressInfo } = new Metrics(db, services.lifecycle.clock);
  app.decorate('metrics', metrics);
  app.addHook('onResponse', (request, reply, done) => {
    metrics.answered(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime);
    done();
  });
  services.webhookDeliveries.onAttempt = (status) => metrics.webhookAttempt(status);
  services.bulkJobs.onFinished = (status, seconds) => metrics.jobEnded(status, seconds);
  const log = app.log.child({ component: 'metrics' });

  const { token } = settings;
  if (token !== undefined) {
    app.get('/metrics', async (request, reply) => {
      if (!bearerMatches(request.headers.authorization, token)) {
        return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ error: 'JWT validation failed: the metrics token is missing or wrong' });
      }
      const text = await metrics.scrape(log);
      return reply.type(metrics.contentType).send(text);
    });
  }

  if (settings.port !== undefined) {
    let server: Server | undefined;
    app.addHook('onReady', async () => {
      server = createServer((request, response) => {
        const path = (request.url ?? '/').split('?')[0];
        if (request.method !== 'GET' || path !== '/metrics') {
          response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found: the metrics are at GET /metrics"}');
          return;
        }
        metrics.scrape(log).then(
          (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
          () => response.writeHead(500).end(),
        );
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(settings.port, settings.host, () => resolve());
      });
      metrics.address = server.address() as AddressInfo;
      log.info({ address: metrics.address }, `metrics at http://${settings.host}:${metrics.address.port}/metrics`);
    });
    app.addHook('onClose', async () => {
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      server?.closeAllConnections();
    });
  }
  app.addHook('onClose', async () => metrics.close());
}
