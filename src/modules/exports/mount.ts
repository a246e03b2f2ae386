/** Scheduled exports as the app runs them: started when the app is ready, stopped when it closes. */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.js';
import type { Db } from '../../db/dialect.js';
import type { Services } from '../../services.js';
import { ExportRepository } from './repository.js';
import { ScheduledExports } from './scheduler.js';

/** With NELM_EXPORT_SCHEDULE set, runs the schedule while `app` runs; nothing otherwise. */
export function mountScheduledExports(app: FastifyInstance, config: Config, db: Db, services: Services): ScheduledExports | undefined {
  if (!config.exports) return undefined;
  const exports = new ScheduledExports(config.exports, config.tenant, db.kysely, new ExportRepository(), services);
  app.addHook('onReady', async () => exports.start(app.log.child({ component: 'exports' })));
  app.addHook('onClose', async () => exports.stop());
  return exports;
}
