/**
 * The per-client rate limit (`NELM_RATE_LIMIT`) on the API scope: counted in the database when
 * other processes share it (PostgreSQL: store.ts), in the process's memory otherwise (a SQLite
 * file has one server process).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { RateLimit } from '../../config/config.js';
import type { Db } from '../../db/dialect.js';
import { SharedRateLimits, sharedStore } from './store.js';

export async function mountRateLimit(api: FastifyInstance, limit: RateLimit, db: Db): Promise<void> {
  const store = db.shared ? sharedStore(new SharedRateLimits(db.kysely, api.log.child({ component: 'rate-limit' }))) : undefined;
  await api.register(rateLimit, {
    max: limit.max,
    timeWindow: limit.windowSeconds * 1000,
    hook: 'preHandler',
    keyGenerator: (request) => request.principal?.clientId ?? request.ip,
    errorResponseBuilder: () => ({ statusCode: 429, message: ' Rate Limit Exceeded ' }),
    ...(store ? { store } : {}),
  });
}
