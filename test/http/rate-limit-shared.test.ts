/**
 * The per-client rate limit on PostgreSQL counts in the database (src/modules/rate-limit): two
 * apps on one schema, as two server processes behind a load balancer, allow a client its limit
 * once between them, not once each; and a failing count lets requests through rather than failing
 * them. (On SQLite one process owns the file and counts in memory: test/http/foundation.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import { harness, PG_URL } from '../helpers/app.js';

const skip = !PG_URL && 'PostgreSQL: a SQLite file has one server process, which counts in memory';

test('two apps on one database share each client’s count: the 101st request across both is a 429', { skip }, async () => {
  const one = await harness({ rateLimit: { max: 100, windowSeconds: 60 } });
  const two = await buildApp(one.config, { logger: false });
  try {
    await two.ready();
    const get = (app: typeof two) => app.inject({ method: 'GET', url: '/v2024/non-employee-sources', headers: { authorization: `Bearer ${one.admin.token}` } });
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await get(i % 2 === 0 ? one.app : two)).statusCode);
    assert.deepEqual(new Set(statuses), new Set([200]), 'the first 100, alternating between the apps');
    for (const app of [two, one.app]) {
      const limited = await get(app);
      assert.equal(limited.statusCode, 429);
      assert.deepEqual(limited.json(), { message: ' Rate Limit Exceeded ' });
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${limited.headers['retry-after']}`);
    }
    const other = await one.caller('other', { rights: ['idn:nesr:read'] });
    const otherAnswer = await two.inject({ method: 'GET', url: '/v2024/non-employee-sources', headers: { authorization: `Bearer ${other.token}` } });
    assert.equal(otherAnswer.statusCode, 200, 'another client counts apart');
  } finally {
    await two.close();
    await one.close();
  }
});

test('when the count fails (its table gone), requests pass instead of failing', { skip }, async () => {
  const h = await harness({ rateLimit: { max: 2, windowSeconds: 60 } });
  try {
    await sql`drop table rate_limits`.execute(h.app.db.kysely);
    for (let i = 0; i < 4; i++) assert.equal((await h.request('GET', '/v2024/non-employee-sources', h.admin.token)).statusCode, 200);
  } finally {
    await h.close();
  }
});
