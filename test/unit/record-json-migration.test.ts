/**
 * Migration 0004 (`records.json`, the wire JSON the database keeps): on a database that already
 * holds records, applying it gives every record the JSON the API answered before, and on
 * PostgreSQL leaves the rewritten table vacuumed (which sets its visibility map, which deep list pages
 * rely on); reverting it drops the column.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { harness, PG_URL, type Harness } from '../helpers/app.js';
import { openDatabase, type Db } from '../../src/db/connect.js';
import { migrateToLatest, migrator } from '../../src/db/migrate.js';

let dir: string;
let h: Harness;
let db: Db;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-migration-'));
  // SQLite: a file, so that a second connection sees the app's database.
  h = await harness({}, PG_URL ? {} : { DATABASE_URL: path.join(dir, 'nelm.db') });
  db = await openDatabase(h.config);
});

after(async () => {
  await db.close();
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Whether `records.json` can be read (introspection leaves generated columns out on SQLite). */
const hasJson = () =>
  sql`select json from records limit 1`.execute(db.kysely).then(
    () => true,
    () => false,
  );

test('0004 on a database with records: each gets the JSON the API sent; down drops it', async () => {
  const owner = await h.caller('owner.one');
  const source = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, { name: 'Before', description: 'd', owner: { id: owner.identity.id } });
  assert.equal(source.statusCode, 200, source.body);
  const sourceId = source.json().id as string;
  assert.equal(
    (
      await h.request('POST', `/v2024/non-employee-sources/${sourceId}/schema-attributes`, h.admin.token, {
        type: 'TEXT',
        label: 'Note',
        technicalName: 'note',
      })
    ).statusCode,
    200,
  );
  const sent = new Map<string, string>();
  for (const [n, text] of ['plain', 'quote " \\ \u0001 \n 漢字 😀'].entries()) {
    const res = await h.request('POST', '/v2024/non-employee-records', h.admin.token, {
      accountName: `before.${n}`,
      firstName: text,
      lastName: 'Last',
      email: `before.${n}@example.com`,
      phone: text,
      manager: 'owner.one',
      sourceId,
      startDate: '2020-03-24T00:00:00-05:00',
      endDate: '2021-03-25T10:11:12.345Z',
      data: { note: text },
    });
    assert.equal(res.statusCode, 200, res.body);
    const id = res.json().id as string;
    sent.set(id, (await h.request('GET', `/v2024/non-employee-records/${id}`, h.admin.token)).body);
  }

  const steps = migrator(db.kysely, db.engine, db.schema);
  const down = await steps.migrateTo('20261123_0003_bulk_jobs');
  assert.equal(down.error, undefined);
  assert.deepEqual(
    down.results?.map((r) => [r.migrationName, r.direction, r.status]),
    [
      ['20261124_0005_record_cache', 'Down', 'Success'],
      ['20261123_0004_record_json', 'Down', 'Success'],
    ],
  );
  assert.equal(await hasJson(), false);

  assert.deepEqual(await migrateToLatest(db.kysely, db.engine, db.schema), ['20261123_0004_record_json', '20261124_0005_record_cache']);
  assert.equal(await hasJson(), true);
  const rows = await db.kysely.selectFrom('records').select(['id', 'json']).execute();
  assert.equal(rows.length, sent.size);
  for (const row of rows) {
    // The same bytes: keys in order, every string escaped alike.
    assert.equal(row.json, sent.get(row.id), row.id);
    assert.equal((await h.request('GET', `/v2024/non-employee-records/${row.id}`, h.admin.token)).body, sent.get(row.id));
  }
  if (db.engine === 'postgres') {
    // A VACUUM was run (not how many pages it could mark all-visible: other tests' transactions,
    // open at the same time on the same server, keep the newest rows from being visible to all).
    const {
      rows: [stats],
    } = await sql<{ vacuum_count: string }>`select vacuum_count from pg_stat_user_tables where relid = 'records'::regclass`.execute(db.kysely);
    assert.ok(Number(stats!.vacuum_count) > 0, 'VACUUM after the table was rewritten');
  }
});
