/**
 * `npm run bench -- lifecycle [records] [dueInOneMinute]`: the lifecycle's sweep at scale, in one
 * process, on SQLite (a temp file) or on PostgreSQL when DATABASE_URL is a postgres:// URL.
 *
 * - seeds `records` (default 1,000,000) records straight into the database, 20,000 per source,
 *   each with its `lifecycle_due` row as a record write plans it, every end date in 2030;
 * - idle: the sweep's database time per look when nothing is due (100 looks; the median and the
 *   cost per minute at the default 10 s between looks), and the plan of its claim query;
 * - baseline: GET /v2024/non-employee-records/{id} of random records for 15 s (app.inject), p50 and
 *   p99;
 * - expiry: `dueInOneMinute` records (default 20,000) get end dates spread over one minute starting
 *   10 s later (500 per end date), with the sweep running as in a server (the system clock, a look every 10 s); the
 *   same GETs meanwhile, until every one of them has expired; then the lag from each end date to
 *   the time of its `record.expired` (p50, p99, max) and the GET p99 against the baseline.
 * Prints the figures; writes them to bench/results/lifecycle-<engine>.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';

const RECORDS = Number(process.argv[2] ?? 1_000_000);
const DUE = Number(process.argv[3] ?? 20_000);
const PER_SOURCE = 20_000;
const PG = /^postgres/.test(process.env.DATABASE_URL ?? '');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number) => Math.round(x * 100) / 100;

const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-lifecycle-bench-'));
const schema = PG ? `bench_${randomUUID().slice(0, 8)}` : undefined;
const config = loadConfig({
  DATABASE_URL: PG ? process.env.DATABASE_URL : path.join(dir, 'bench.sqlite'),
  ...(schema ? { NELM_DATABASE_SCHEMA: schema } : {}),
  NELM_ADMIN_CLIENT_ID: 'bench-admin',
  NELM_ADMIN_CLIENT_SECRET: 'bench-admin-secret-0123456789',
  NELM_RATE_LIMIT: 'off',
  NELM_LOG_LEVEL: 'silent',
});
const app = await buildApp(config, { logger: false });
await app.ready();
const db = app.db.kysely;
const { directory, tokens, lifecycleSweep } = app.services;
const admin = (await directory.identityByAlias(config.tenant, 'admin'))!;
const token = (
  await tokens.issue({ tenantId: config.tenant, identityId: admin.id, alias: 'admin', clientId: 'bench-admin', admin: true, rights: admin.rights })
).token;
const call = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
  const res = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { payload: JSON.stringify(body) } : {}),
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode}: ${res.body}`);
  return res.json();
};
await directory.createIdentity(config.tenant, { alias: 'jane.doe', name: 'Jane', email: 'jane@example.com', admin: false, rights: [] });

// Seeding ------------------------------------------------------------------------------------
const t0 = performance.now();
const END = '2030-06-30T00:00:00.000Z';
const pool: string[] = [];
const sources = Math.ceil(RECORDS / PER_SOURCE);
for (let s = 0; s < sources; s++) {
  const source = (await call('POST', '/v2024/non-employee-sources', { name: `Bench ${s}`, description: 'bench', owner: { id: admin.id } })) as { id: string };
  const count = Math.min(PER_SOURCE, RECORDS - s * PER_SOURCE);
  const now = new Date().toISOString();
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < count; i += 500) {
      const rows = Array.from({ length: Math.min(500, count - i) }, (_, j) => {
        const id = randomUUID();
        if ((i + j) % 50 === 0) pool.push(id);
        return {
          tenant_id: config.tenant,
          id,
          source_id: source.id,
          account_name: `bench-${s}-${i + j}`,
          first_name: 'Ada',
          last_name: 'Lovelace',
          email: `bench-${s}-${i + j}@example.com`,
          phone: '5125555555',
          manager: 'jane.doe',
          start_date: '2026-01-01T00:00:00.000Z',
          end_date: END,
          start_zone: 'Z',
          end_zone: 'Z',
          data: '{}',
          created: now,
          modified: now,
        };
      });
      await trx.insertInto('records').values(rows).execute();
      const due = rows.map((r) => ({
        tenant_id: r.tenant_id,
        kind: 'record',
        target_id: r.id,
        source_id: r.source_id,
        basis: END,
        step: 'remind:14',
        due_at: '2030-06-16T00:00:00.000Z',
      }));
      await trx.insertInto('lifecycle_due').values(due).execute();
    }
    await trx.updateTable('sources').set({ record_count: count }).where('id', '=', source.id).execute();
  });
}
if (PG) await sql`analyze`.execute(db);
const seedSeconds = (performance.now() - t0) / 1000;
console.log(`seeded ${RECORDS} records in ${seedSeconds.toFixed(0)} s`);

// Idle sweep ---------------------------------------------------------------------------------
await lifecycleSweep.stop();
const idle: number[] = [];
for (let i = 0; i < 100; i++) {
  const t = performance.now();
  await lifecycleSweep.tick();
  idle.push(performance.now() - t);
}
const claimSql = PG
  ? sql`explain select * from lifecycle_due where due_at <= ${new Date().toISOString()} order by due_at limit 100 for update skip locked`
  : sql`explain query plan select * from lifecycle_due where due_at <= ${new Date().toISOString()} order by due_at limit 100`;
const plan = (await claimSql.execute(db)).rows.map((r) => Object.values(r as object).join(' ')).join(' / ');

// GETs ---------------------------------------------------------------------------------------
async function gets(until: () => boolean): Promise<number[]> {
  const times: number[] = [];
  while (!until()) {
    const id = pool[Math.floor(Math.random() * pool.length)]!;
    const t = performance.now();
    await call('GET', `/v2024/non-employee-records/${id}`);
    times.push(performance.now() - t);
    // As between two requests of a client: timers (the sweep's) and I/O run.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return times;
}
const baseEnd = Date.now() + 15_000;
const baseline = await gets(() => Date.now() > baseEnd);

// Expiry -------------------------------------------------------------------------------------
lifecycleSweep.start({ error: (obj, msg) => console.error(msg, obj) });
const dueIds = (await db.selectFrom('records').select('id').orderBy('id').limit(DUE).execute()).map((r) => r.id);
// 500 records per end date, the end dates spread over one minute beginning 10 s from now.
const CHUNK = 500;
const start = Date.now() + 10_000;
const steps = Math.ceil(dueIds.length / CHUNK);
for (let c = 0; c < steps; c++) {
  const ids = dueIds.slice(c * CHUNK, (c + 1) * CHUNK);
  const end = new Date(start + Math.floor((c * 60_000) / steps)).toISOString();
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('records').set({ end_date: end }).where('id', 'in', ids).execute();
    await trx
      .updateTable('lifecycle_due')
      .set({ basis: end, step: 'expire', due_at: end })
      .where('tenant_id', '=', config.tenant)
      .where('kind', '=', 'record')
      .where('target_id', 'in', ids)
      .execute();
  });
}
console.log(`end dates set ${Date.now() - start + 10_000} ms after the start (they begin 10 s after it)`);
let expired = 0;
const counter = setInterval(async () => {
  const row = await db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('type', '=', 'record.expired')
    .executeTakeFirstOrThrow();
  expired = Number(row.n);
}, 1000);
const deadline = start + 60_000 + 120_000;
const during = await gets(() => expired >= dueIds.length || Date.now() > deadline);
clearInterval(counter);
const events = await db.selectFrom('events').select(['time', 'data']).where('type', '=', 'record.expired').execute();
const lags = events.map((e) => Date.parse(e.time) - Date.parse((JSON.parse(e.data) as { endDate: string }).endDate));
await app.close();
if (schema) {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
}
rmSync(dir, { recursive: true, force: true });

const result = {
  engine: PG ? 'postgres' : 'sqlite',
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  records: RECORDS,
  dueInOneMinute: dueIds.length,
  expired: events.length,
  lagP50Ms: pct(lags, 50),
  lagP99Ms: pct(lags, 99),
  lagMaxMs: Math.max(...lags),
  idleLookMedianMs: round(pct(idle, 50)),
  idleDbMsPerMinute: round(pct(idle, 50) * 6),
  idleClaimPlan: plan,
  getBaselineP50Ms: round(pct(baseline, 50)),
  getBaselineP99Ms: round(pct(baseline, 99)),
  getDuringP50Ms: round(pct(during, 50)),
  getDuringP99Ms: round(pct(during, 99)),
  getP99Ratio: round(pct(during, 99) / pct(baseline, 99)),
  seedSeconds: Math.round(seedSeconds),
};
console.table(result);
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/lifecycle-${result.engine}.json`, `${JSON.stringify(result, null, 2)}\n`);
