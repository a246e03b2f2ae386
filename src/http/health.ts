/**
 * Health for load balancers and orchestrators (docs/operations.md, "Health"):
 * - `GET /health`: 200 `{"status":"ok"}` while the process answers;
 * - `GET /health/live`: the same, under the name orchestrators expect;
 * - `GET /health/ready`: 200 `{"status":"ready"}` when the database answers, every migration of
 *   this version is applied and the workers run; otherwise 503 naming the checks that failed.
 *   A stopping process answers 503 from the signal on (`Readiness.drain`), before it stops listening.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/dialect.js';
import { pendingMigrations } from '../db/migrate.js';
import type { Services } from '../services.js';

/** The longest the database may take to answer the readiness query. */
const DATABASE_TIMEOUT_MS = 2000;

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness;
  }
}

/** Whether the process takes new work; a stopping process drains. */
export class Readiness {
  draining = false;

  drain(): void {
    this.draining = true;
  }
}

type Check = 'database' | 'migrations' | 'workers' | 'shutdown';

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(app: FastifyInstance, db: Db, services: Services): void {
  const readiness = new Readiness();
  app.decorate('readiness', readiness);
  // While the process stops, every answer ends its connection: a load balancer opens a new one for
  // its next request (to another process once readiness has failed), and no connection kept alive
  // is left for the listener's close to race with.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (readiness.draining) reply.header('Connection', 'close');
    done(null, payload);
  });
  // Applied migrations stay applied: once all are seen, the table is not read again.
  let migrated = false;
  const workers = {
    'bulk-jobs': services.bulkJobs,
    'event-consumers': services.consumers,
    webhooks: services.webhookDeliveries,
    notifications: services.notifications,
    lifecycle: services.lifecycleSweep,
  };

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/health/ready', async (request, reply) => {
    const checks: Record<Check, string> = { database: 'ok', migrations: 'ok', workers: 'ok', shutdown: 'ok' };
    if (readiness.draining) checks.shutdown = 'the process is stopping';
    try {
      await withTimeout(db.ping(), DATABASE_TIMEOUT_MS);
      if (!migrated) {
        const pending = await withTimeout(pendingMigrations(db.kysely), DATABASE_TIMEOUT_MS);
        if (pending.length > 0) checks.migrations = `not applied: ${pending.join(', ')}`;
        else migrated = true;
      }
    } catch (error) {
      // Said in the log only: the answer is public.
      request.log.warn({ err: error }, 'readiness: the database does not answer');
      checks.database = 'the database does not answer';
      if (!migrated) checks.migrations = 'unknown: the database does not answer';
    }
    const stopped = Object.entries(workers)
      .filter(([, worker]) => !worker.isRunning)
      .map(([name]) => name);
    if (stopped.length > 0) checks.workers = `not running: ${stopped.join(', ')}`;
    const failed = (Object.keys(checks) as Check[]).filter((name) => checks[name] !== 'ok');
    if (failed.length === 0) return { status: 'ready' };
    return reply.code(503).send({ status: 'unavailable', failed, checks });
  });
}
