/**
 * The raw floor of an import: parse the same CSV with csv-parse, then insert the same rows into the
 * `records` table (same migrations, same indexes) in one transaction with the same driver:
 * better-sqlite3 with one prepared statement, or pg with multi-row INSERTs of 1,000 rows.
 * No validation, no HTTP, no job: what any import must at least spend.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { migrateToLatest } from '../../src/db/migrate.js';
import { HEADER } from './data.js';

const COLUMNS = [
  'tenant_id',
  'id',
  'source_id',
  'account_name',
  'first_name',
  'last_name',
  'phone',
  'email',
  'manager',
  'start_date',
  'end_date',
  'data',
  'created',
  'modified',
];
const TENANT = 'bench';
const SOURCE = 'f'.repeat(32);

/** Parses the file and shapes each row as a `records` row (values in COLUMNS order). */
function rowsOf(file: Buffer): unknown[][] {
  const records = parse(file, { bom: true }) as string[][];
  const now = new Date().toISOString();
  return records.slice(1).map((r) => {
    const data: Record<string, string> = {};
    for (let k = 8; k < HEADER.length; k++) data[HEADER[k]!] = r[k]!;
    return [TENANT, randomBytes(16).toString('hex'), SOURCE, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], JSON.stringify(data), now, now];
  });
}

const seedSql = (now: string) => [
  `insert into tenants (id, name, source_count, created) values ('${TENANT}', 'bench', 1, '${now}')`,
  `insert into identities (tenant_id, id, alias, admin, rights, created, modified) values ('${TENANT}', 'owner', 'owner', 1, '', '${now}', '${now}')`,
  `insert into sources (tenant_id, id, isc_source_id, name, description, owner_id, cloud_external_id, record_count, custom_attribute_count, created, modified)
   values ('${TENANT}', '${SOURCE}', 'x', 'bench', '', 'owner', '1', 0, 0, '${now}', '${now}')`,
];

export async function sqliteFloor(file: Buffer, dir: string): Promise<number> {
  const database = new SqliteDatabase(path.join(dir, `floor-${randomBytes(4).toString('hex')}.sqlite`));
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database }) });
  await migrateToLatest(kysely, 'sqlite');
  for (const statement of seedSql(new Date().toISOString())) database.exec(statement);
  const t0 = performance.now();
  const rows = rowsOf(file);
  const insert = database.prepare(`insert into records (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')})`);
  database.transaction(() => {
    for (const r of rows) insert.run(r);
  })();
  const ms = performance.now() - t0;
  await kysely.destroy();
  return ms;
}

export async function postgresFloor(file: Buffer, url: string): Promise<number> {
  const schema = `bench_floor_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
  const pool = new pg.Pool({ connectionString: url, max: 2, options: `-c search_path=${schema}` });
  const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateToLatest(kysely, 'postgres', schema);
    const client = await pool.connect();
    try {
      for (const statement of seedSql(new Date().toISOString())) await client.query(statement);
      const t0 = performance.now();
      const rows = rowsOf(file);
      await client.query('begin');
      const chunk = 1000;
      for (let i = 0; i < rows.length; i += chunk) {
        const part = rows.slice(i, i + chunk);
        const values = part.map((_, r) => `(${COLUMNS.map((__, c) => `$${r * COLUMNS.length + c + 1}`).join(', ')})`).join(', ');
        await client.query({
          name: part.length === chunk ? 'floor_insert' : undefined,
          text: `insert into records (${COLUMNS.join(', ')}) values ${values}`,
          values: part.flat(),
        });
      }
      await client.query('commit');
      return performance.now() - t0;
    } finally {
      client.release();
    }
  } finally {
    await kysely.destroy();
    await admin.query(`drop schema "${schema}" cascade`);
    await admin.end();
  }
}
