/**
 * Seeds records straight into the database, with the server stopped: the sources (and their schema
 * attributes) were created through the API before. The secondary indexes of `records` are dropped
 * first and re-created afterwards from their own stored definitions (sqlite_master, pg_indexes), so
 * the result is the migration's schema, built by sort instead of row by row. `sources.record_count`
 * is set to match. PostgreSQL gets a VACUUM ANALYZE at the end, as autovacuum would do after a load
 * this size; SQLite gets nothing (the server never runs ANALYZE).
 */
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { benchRecord, type WireRecord } from './data.js';

export interface SeedPlan {
  sourceIds: readonly string[];
  perSource: number;
  manager: string;
  /** Keep about this many ids (spread over all sources) for the get-by-id pool. */
  poolSize: number;
}

export interface Seeded {
  tenantId: string;
  ids: string[];
  /** Seconds: inserting the rows, building the indexes, the rest. */
  insertSeconds: number;
  indexSeconds: number;
  totalSeconds: number;
}

const COLUMNS = [
  'tenant_id',
  'id',
  'source_id',
  'account_name',
  'first_name',
  'last_name',
  'email',
  'phone',
  'manager',
  'start_date',
  'end_date',
  'data',
  'created',
  'modified',
] as const;

function row(tenantId: string, r: WireRecord): unknown[] {
  return [
    tenantId,
    r.id,
    r.sourceId,
    r.accountName,
    r.firstName,
    r.lastName,
    r.email,
    r.phone,
    r.manager,
    r.startDate,
    r.endDate,
    JSON.stringify(r.data),
    r.created,
    r.modified,
  ];
}

/** Calls `chunk` with the rows of each source, `size` at a time, in creation order. */
async function generate(plan: SeedPlan, size: number, chunk: (rows: WireRecord[], sourceIndex: number) => Promise<void> | void): Promise<string[]> {
  const total = plan.sourceIds.length * plan.perSource;
  const stride = Math.max(1, Math.floor(total / plan.poolSize));
  const ids: string[] = [];
  let n = 0;
  for (let s = 0; s < plan.sourceIds.length; s++) {
    let rows: WireRecord[] = [];
    for (let i = 0; i < plan.perSource; i++, n++) {
      const r = benchRecord(plan.sourceIds[s]!, s, i, n, plan.manager);
      if (n % stride === 0) ids.push(r.id);
      rows.push(r);
      if (rows.length === size) {
        await chunk(rows, s);
        rows = [];
      }
    }
    if (rows.length > 0) await chunk(rows, s);
  }
  return ids;
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

export async function seedSqlite(file: string, plan: SeedPlan): Promise<Seeded> {
  const t0 = performance.now();
  const db = new SqliteDatabase(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -524288');
    const tenantId = (db.prepare('select tenant_id from sources limit 1').get() as { tenant_id: string }).tenant_id;
    const indexes = db.prepare("select name, sql from sqlite_master where type = 'index' and tbl_name = 'records' and sql is not null").all() as {
      name: string;
      sql: string;
    }[];
    for (const { name } of indexes) db.exec(`drop index "${name}"`);

    const statements = new Map<number, SqliteDatabase.Statement>();
    const insert = (count: number) => {
      let statement = statements.get(count);
      if (!statement) {
        const tuple = `(${COLUMNS.map(() => '?').join(', ')})`;
        statement = db.prepare(`insert into records (${COLUMNS.join(', ')}) values ${Array(count).fill(tuple).join(', ')}`);
        statements.set(count, statement);
      }
      return statement;
    };
    // One transaction per 20,000 rows (a source), 500 rows per statement.
    let pending: WireRecord[][] = [];
    const flush = db.transaction((chunks: WireRecord[][]) => {
      for (const rows of chunks) insert(rows.length).run(rows.flatMap((r) => row(tenantId, r)));
    });
    const ids = await generate(plan, 500, (rows) => {
      pending.push(rows);
      if (pending.length * 500 >= 20_000) {
        flush(pending);
        pending = [];
      }
    });
    if (pending.length > 0) flush(pending);
    const insertSeconds = seconds(t0);

    const t1 = performance.now();
    for (const { sql } of indexes) db.exec(sql);
    const indexSeconds = seconds(t1);
    db.exec(`update sources set record_count = (select count(*) from records r where r.tenant_id = sources.tenant_id and r.source_id = sources.id)`);
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { tenantId, ids, insertSeconds, indexSeconds, totalSeconds: seconds(t0) };
  } finally {
    db.close();
  }
}

const PG_TYPES: Record<(typeof COLUMNS)[number], string> = {
  tenant_id: 'text',
  id: 'text',
  source_id: 'text',
  account_name: 'text',
  first_name: 'text',
  last_name: 'text',
  email: 'text',
  phone: 'text',
  manager: 'text',
  start_date: 'timestamptz',
  end_date: 'timestamptz',
  data: 'jsonb',
  created: 'timestamptz',
  modified: 'timestamptz',
};

export async function seedPostgres(url: string, schema: string, plan: SeedPlan): Promise<Seeded> {
  const t0 = performance.now();
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema} -c TimeZone=UTC` });
  await client.connect();
  try {
    await client.query("set maintenance_work_mem = '256MB'");
    const tenantId = (await client.query<{ tenant_id: string }>('select tenant_id from sources limit 1')).rows[0]!.tenant_id;
    const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
      `select indexname, indexdef from pg_indexes where schemaname = $1 and tablename = 'records'
         and indexname not in (select conname from pg_constraint where conrelid = 'records'::regclass)`,
      [schema],
    );
    for (const { indexname } of indexes) await client.query(`drop index "${indexname}"`);

    const text = `insert into records (${COLUMNS.join(', ')}) select * from unnest(${COLUMNS.map((c, i) => `$${i + 1}::${PG_TYPES[c]}[]`).join(', ')})`;
    await client.query('begin');
    let inTransaction = 0;
    const ids = await generate(plan, 5000, async (rows) => {
      const columns = COLUMNS.map(() => [] as unknown[]);
      for (const r of rows) {
        for (const [i, v] of row(tenantId, r).entries()) columns[i]!.push(v);
      }
      await client.query(text, columns);
      inTransaction += rows.length;
      if (inTransaction >= 100_000) {
        await client.query('commit');
        await client.query('begin');
        inTransaction = 0;
      }
    });
    await client.query('commit');
    const insertSeconds = seconds(t0);

    const t1 = performance.now();
    for (const { indexdef } of indexes) await client.query(indexdef);
    const indexSeconds = seconds(t1);
    await client.query(`update sources set record_count = (select count(*) from records r where r.tenant_id = sources.tenant_id and r.source_id = sources.id)`);
    await client.query('vacuum (analyze) records');
    await client.query('analyze sources, schema_attributes');
    return { tenantId, ids, insertSeconds, indexSeconds, totalSeconds: seconds(t0) };
  } finally {
    await client.end();
  }
}
