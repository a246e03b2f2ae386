/**
 * The sweep across restarts and processes: end dates that passed while no server ran expire when
 * one starts; two server processes on one PostgreSQL database sweep together and each record
 * expires once (FOR UPDATE SKIP LOCKED). A SQLite file has one process: that test runs on
 * PostgreSQL only.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { recordBody } from '../helpers/factories.js';
import { lifecycleHarness } from '../helpers/lifecycle.js';
import { until } from '../helpers/webhooks.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nelm-lifecycle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function sourceOf(h: Awaited<ReturnType<typeof lifecycleHarness>>): Promise<string> {
  await h.caller('jane.doe');
  const res = await h.request('POST', '/v2024/non-employee-sources', h.adminToken, { name: 'Processes', description: 'd', owner: { id: h.adminId } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().id;
}

test('end dates that passed while no server ran expire once a server starts (restart catch-up)', async () => {
  const config = testConfig({}, PG_URL ? {} : { DATABASE_URL: path.join(dir, 'restart.sqlite') });
  const first = await lifecycleHarness('2027-05-01T10:00:00Z', {}, { config });
  const sourceId = await sourceOf(first);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await first.request(
      'POST',
      '/v2024/non-employee-records',
      first.adminToken,
      recordBody(sourceId, `restart-${i}`, { startDate: '2027-01-01', endDate: `2027-05-01T1${i + 1}:00:00Z` }),
    );
    assert.equal(res.statusCode, 200, res.body);
    ids.push(res.json().id);
  }
  await first.close();
  // Down for a day: the second start's sweep runs at once, without being asked.
  const second = await lifecycleHarness('2027-05-02T10:00:00Z', {}, { config });
  try {
    await until('three records expired', async () => (await second.events('record.expired')).length >= 3);
    const expired = await second.events('record.expired');
    assert.deepEqual(expired.map((e) => e.target.id).sort(), [...ids].sort());
  } finally {
    await second.close();
    await dropSchema(config);
  }
});

test('two processes on one PostgreSQL database: every record expires once', {
  skip: PG_URL ? false : 'PostgreSQL only: a SQLite file has one server process',
}, async () => {
  const config = testConfig();
  const a = await lifecycleHarness('2027-05-01T10:00:00Z', {}, { config });
  const b = await lifecycleHarness('2027-05-01T10:00:00Z', {}, { config });
  try {
    const sourceId = await sourceOf(a);
    for (let i = 0; i < 200; i++) {
      const body = recordBody(sourceId, `two-${i}`, { startDate: '2027-01-01', endDate: '2027-05-01T12:00:00Z' });
      const res = await a.request('POST', '/v2024/non-employee-records', a.adminToken, body);
      assert.equal(res.statusCode, 200, res.body);
    }
    a.clock.set('2027-05-01T12:00:30Z');
    b.clock.set('2027-05-01T12:00:30Z');
    // Both sweep at once, in small batches, several times over.
    await Promise.all([
      a.app.services.lifecycleSweep.drain(),
      b.app.services.lifecycleSweep.drain(),
      a.app.services.lifecycleSweep.drain(),
      b.app.services.lifecycleSweep.drain(),
    ]);
    const expired = await a.events('record.expired');
    const perRecord = new Map<string, number>();
    for (const e of expired) perRecord.set(e.target.id, (perRecord.get(e.target.id) ?? 0) + 1);
    const total = (
      await a.app.db.kysely
        .selectFrom('records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
    assert.equal(perRecord.size, Number(total));
    assert.deepEqual([...new Set(perRecord.values())], [1], 'no record expired twice');
  } finally {
    await b.close();
    await a.close();
    await dropSchema(config);
  }
});
