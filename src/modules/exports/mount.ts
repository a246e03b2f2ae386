/** Scheduled exports as the app runs them: started when the app is ready, stopped when it closes. */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Db } from '../../db/dialect.js';
import type { Services } from '../../services.js';
import { ExportRepository } from './repository.js';
import { ScheduledExports } from './scheduler.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The export schedule's scheduler, with NELM_EXPORT_SCHEDULE set. */
    scheduledExports: ScheduledExports | undefined;
  }
}

/**
 * With NELM_EXPORT_SCHEDULE set, runs the schedule while `app` runs; nothing otherwise. No tick is
 * claimed once readiness drains (a stopping process); at the close, a tick in progress is given back.
 */
export function mountScheduledExports(app: FastifyInstance, config: Config, db: Db, services: Services): ScheduledExports | undefined {
  if (!config.exports) return undefined;
  const exports = new ScheduledExports(config.exports, config.tenant, db.kysely, new ExportRepository(), services, {
    shared: db.shared,
    draining: () => app.hasDecorator('readiness') && app.readiness.draining,
  });
  app.decorate('scheduledExports', exports);
  app.addHook('onReady', async () => exports.start(app.log.child({ component: 'exports' })));
  app.addHook('onClose', async () => exports.stop());
  return exports;
}
