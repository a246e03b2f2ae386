/**
 * The shared rate limit's window (src/modules/rate-limit/store.ts) on the engine DATABASE_URL
 * names, with a clock the test moves: a window starts at a key's first request and counts each
 * request once; it ends on time and the next request starts a new one; keys count apart; expired
 * windows are deleted; a database that fails lets requests through, said in the log.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from '../../src/db/dialect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { openDatabase } from '../../src/db/open.js';
import { SharedRateLimits } from '../../src/modules/rate-limit/store.js';
import { dropSchema, testConfig } from '../helpers/app.js';

const config = testConfig();
let db: Db;
let now = Date.parse('2026-12-13T10:00:00Z');
const warnings: { obj: object; msg: string }[] = [];
const log = { warn: (obj: object, msg: string) => warnings.push({ obj, msg }) };

before(async () => {
  db = await openDatabase(config);
  await migrateToLatest(db.kysely, db.engine, db.schema);
});
after(async () => {
  await db.close();
  await dropSchema(config);
});

const rows = () => db.kysely.selectFrom('rate_limits').select(['key', 'hits', 'window_end']).orderBy('key').execute();

test('a window counts each request from the first, and ends when its time is up', async () => {
  const limits = new SharedRateLimits(db.kysely, log, () => now);
  assert.deepEqual(await limits.hit('a', 10_000), { current: 1, ttl: 10_000 });
  now += 4_000;
  assert.deepEqual(await limits.hit('a', 10_000), { current: 2, ttl: 6_000 });
  assert.deepEqual(await limits.hit('b', 10_000), { current: 1, ttl: 10_000 }, 'another key counts apart');
  now += 5_999;
  assert.deepEqual(await limits.hit('a', 10_000), { current: 3, ttl: 1 });
  now += 1;
  assert.deepEqual(await limits.hit('a', 10_000), { current: 1, ttl: 10_000 }, 'the window ended: a new one');
  assert.deepEqual(await limits.hit('b', 10_000), { current: 2, ttl: 4_000 });
});

test('requests counted at once by several counters (processes) are each counted once', async () => {
  const counters = [0, 1, 2].map(() => new SharedRateLimits(db.kysely, log, () => now));
  const states = await Promise.all(Array.from({ length: 60 }, (_, i) => counters[i % 3]!.hit('together', 60_000)));
  assert.deepEqual(
    states.map((s) => s.current).sort((x, y) => x - y),
    Array.from({ length: 60 }, (_, i) => i + 1),
  );
});

test('windows that ended are deleted at the first count a minute after the last deletion', async () => {
  const limits = new SharedRateLimits(db.kysely, log, () => now);
  await limits.hit('old', 1_000);
  now += 30_000;
  await limits.hit('fresh', 120_000);
  assert.ok(
    (await rows()).some((r) => r.key === 'old'),
    'not yet: less than a minute',
  );
  now += 31_000;
  await limits.hit('fresh', 120_000);
  for (let i = 0; i < 50 && (await rows()).some((r) => r.key === 'old'); i++) await new Promise((r) => setTimeout(r, 10));
  const left = (await rows()).map((r) => r.key);
  assert.ok(!left.includes('old'), `expired window deleted: ${left.join(', ')}`);
  assert.ok(left.includes('fresh'));
});

test('a database that fails: the request passes uncounted, and the log says so once per 10 s', async () => {
  const broken = await openDatabase(testConfig());
  await broken.close();
  warnings.length = 0;
  const limits = new SharedRateLimits(broken.kysely, log, () => now);
  assert.deepEqual(await limits.hit('a', 10_000), { current: 0, ttl: 10_000 });
  assert.deepEqual(await limits.hit('a', 10_000), { current: 0, ttl: 10_000 });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.msg, /could not count requests: they pass uncounted/);
  now += 10_000;
  await limits.hit('a', 10_000);
  assert.equal(warnings.length, 2);
  assert.equal((warnings[1]!.obj as { uncounted: number }).uncounted, 2, 'the requests since the last line');
});
