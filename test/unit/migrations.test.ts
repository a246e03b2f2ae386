/**
 * The migrations, on the engine DATABASE_URL names: a database upgraded from an earlier migration,
 * with data in it, ends with the same tables and columns as a new one, and keeps its data.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Db } from '../../src/db/dialect.js';
import { migrateToLatest, migrator } from '../../src/db/migrate.js';
import { openDatabase } from '../../src/db/open.js';
import { toRecord } from '../../src/modules/records/model.js';
import { dropSchema, testConfig } from '../helpers/app.js';

const opened: { db: Db; config: ReturnType<typeof testConfig> }[] = [];
after(async () => {
  for (const { db, config } of opened) {
    await db.close();
    await dropSchema(config);
  }
});

async function open(): Promise<Db> {
  const config = testConfig();
  const db = await openDatabase(config);
  opened.push({ db, config });
  return db;
}

/** Every table's columns, by table (Kysely's own bookkeeping tables aside). */
async function shape(db: Db): Promise<Record<string, string[]>> {
  const tables = await db.kysely.introspection.getTables();
  return Object.fromEntries(
    tables
      .filter((t) => !t.name.startsWith('kysely_') && (db.schema === undefined || t.schema === db.schema))
      .map((t) => [t.name, t.columns.map((c) => `${c.name} ${c.dataType}${c.isNullable ? '' : ' not null'}`).sort()])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
}

/** A tenant, its admin identity `i1` and a source `s1`, written in SQL as the schema of the time has them. */
async function seedSource(db: Db, now: string): Promise<void> {
  await sql`insert into tenants (id, name, source_count, created) values ('default', 'default', 1, ${now})`.execute(db.kysely);
  await sql`insert into identities (tenant_id, id, alias, admin, rights, created, modified) values ('default', 'i1', 'admin', 1, '', ${now}, ${now})`.execute(
    db.kysely,
  );
  await sql`insert into sources (tenant_id, id, isc_source_id, name, description, owner_id, cloud_external_id, record_count, custom_attribute_count, created, modified)
    values ('default', 's1', 'isc1', 'Contractors', '', 'i1', '123', 2, 0, ${now}, ${now})`.execute(db.kysely);
}

test('a database upgraded with records in it equals a new one, and its records read back as they were written', async () => {
  const fresh = await open();
  await migrateToLatest(fresh.kysely, fresh.engine, fresh.schema);

  const old = await open();
  const step = await migrator(old.kysely, old.engine, old.schema).migrateTo('20261124_0005_record_cache');
  assert.equal(step.error, undefined);
  const now = '2026-11-24T10:00:00.000Z';
  await seedSource(old, now);
  // The custom attributes in this order: team, then site (the data below is written site last).
  for (const [id, name, position] of [
    ['a1', 'team', 8],
    ['a2', 'site', 9],
  ] as const) {
    await sql`insert into schema_attributes (tenant_id, id, source_id, position, system, type, label, technical_name, required, created, modified)
      values ('default', ${id}, 's1', ${position}, 0, 'TEXT', ${name}, ${name}, 0, ${now}, ${now})`.execute(old.kysely);
  }
  const rows = [
    ['r1', 'ada', '{"site": "", "team": "Ω \\"quoted\\""}'],
    ['r2', 'grace', '{}'],
  ];
  for (const [id, account, data] of rows) {
    await sql`insert into records (tenant_id, id, source_id, account_name, first_name, last_name, email, phone, manager, start_date, end_date, data, created, modified)
      values ('default', ${id}, 's1', ${account}, 'First', 'Last', ${`${account}@example.com`}, '1', 'admin', '2020-03-24T05:00:00.000Z',
        '2021-03-24T05:00:00.000Z', ${data}, ${now}, ${now})`.execute(old.kysely);
  }
  assert.deepEqual(await migrateToLatest(old.kysely, old.engine, old.schema), [
    '20261206_0006_plain_records',
    '20261206_0007_date_zones',
    '20261206_0008_request_comment',
    '20261206_0009_ordered_data',
    '20261206_0010_caseless_names',
    '20261207_0011_bulk_queue',
    '20261208_0012_events',
    '20261208_0013_bulk_parts',
    '20261209_0014_webhooks',
    '20261209_0015_webhook_pending',
    '20261210_0016_lifecycle',
    '20261211_0017_sessions',
    '20261212_0018_totp',
    '20261212_0019_export_ticks',
    '20261213_0020_rate_limits',
    '20261214_0021_identity_disabled',
    '20261215_0022_export_leases',
  ]);

  assert.deepEqual(await shape(old), await shape(fresh));
  assert.ok(!(await shape(old)).records!.some((c) => c.startsWith('json ')), 'records.json is gone');
  const read = (await old.kysely.selectFrom('records').selectAll().orderBy('id').execute()).map(toRecord);
  assert.deepEqual(
    read.map((r) => [r.id, r.accountName, r.data, r.startDate, r.created]),
    [
      // Dates written before offsets were kept come back in UTC.
      ['r1', 'ada', { team: 'Ω "quoted"', site: '' }, '2020-03-24T05:00:00Z', now],
      ['r2', 'grace', {}, '2020-03-24T05:00:00Z', now],
    ],
  );
  assert.deepEqual(Object.keys(read[0]!.data), ['team', 'site'], 'data rewritten in the order of the attributes');
  // PostgreSQL: the record cache's fence and the JSON function are gone; writes no longer wait.
  if (old.engine === 'postgres') {
    const left = await sql<{ name: string }>`
      select tgname as name from pg_trigger where tgname = 'records_cache_fence'
      union all select proname from pg_proc join pg_namespace n on n.oid = pronamespace where n.nspname = ${old.schema!} and proname like 'record_%'
      union all select relname from pg_class join pg_namespace n on n.oid = relnamespace where n.nspname = ${old.schema!} and relname like 'record_cache_%'`.execute(
      old.kysely,
    );
    assert.deepEqual(left.rows, []);
  }
  await sql`update records set first_name = 'Changed' where id = 'r1'`.execute(old.kysely);
});

test('accountNames that differ only in case stop the caseless key, naming them; renamed, the upgrade goes on', async () => {
  const db = await open();
  assert.equal((await migrator(db.kysely, db.engine, db.schema).migrateTo('20261206_0009_ordered_data')).error, undefined);
  const now = '2026-12-06T10:00:00.000Z';
  await seedSource(db, now);
  for (const [id, account] of [
    ['r1', 'ada'],
    ['r2', 'ADA'],
  ]) {
    await sql`insert into records (tenant_id, id, source_id, account_name, first_name, last_name, email, phone, manager, start_date, end_date, data, created, modified)
      values ('default', ${id}, 's1', ${account}, 'First', 'Last', 'a@example.com', '1', 'admin', ${now}, ${now}, '{}', ${now}, ${now})`.execute(db.kysely);
  }
  await assert.rejects(migrateToLatest(db.kysely, db.engine, db.schema), (error: Error) => {
    assert.match(error.message, /^Migration 20261206_0010_caseless_names failed: records hold accountNames that differ only in case \(source s1: ADA, ada\)/);
    return true;
  });
  await sql`update records set account_name = 'ada.two' where id = 'r2'`.execute(db.kysely);
  assert.deepEqual(await migrateToLatest(db.kysely, db.engine, db.schema), [
    '20261206_0010_caseless_names',
    '20261207_0011_bulk_queue',
    '20261208_0012_events',
    '20261208_0013_bulk_parts',
    '20261209_0014_webhooks',
    '20261209_0015_webhook_pending',
    '20261210_0016_lifecycle',
    '20261211_0017_sessions',
    '20261212_0018_totp',
    '20261212_0019_export_ticks',
    '20261213_0020_rate_limits',
    '20261214_0021_identity_disabled',
    '20261215_0022_export_leases',
  ]);
});

test('the file of a job stored before parts becomes its part 0, byte for byte; a finished job has none', async () => {
  const db = await open();
  assert.equal((await migrator(db.kysely, db.engine, db.schema).migrateTo('20261207_0011_bulk_queue')).error, undefined);
  const now = '2026-12-07T10:00:00.000Z';
  await seedSource(db, now);
  const file = Buffer.from('accountName,firstName\nada,Ω Ada\n\u0000\xff', 'latin1');
  for (const [id, status, bytes] of [
    ['j1', 'PENDING', file],
    ['j2', 'COMPLETED', null],
  ] as const) {
    await sql`insert into bulk_jobs (tenant_id, id, source_id, status, requested_by, file_size, file, row_count, run_after, created, modified)
      values ('default', ${id}, 's1', ${status}, 'admin', ${file.length}, ${bytes}, 1, ${now}, ${now}, ${now})`.execute(db.kysely);
  }
  await migrateToLatest(db.kysely, db.engine, db.schema);
  const parts = await db.kysely
    .selectFrom('bulk_job_parts as p')
    .innerJoin('bulk_jobs as j', 'j.seq', 'p.job_seq')
    .select(['j.id', 'p.part', 'p.bytes'])
    .execute();
  assert.deepEqual(
    parts.map((p) => [p.id, p.part, Buffer.from(p.bytes).equals(file)]),
    [['j1', 0, true]],
  );
});
