/**
 * Scheduled exports across processes and failures (docs/operations.md#scheduled-exports). Each
 * source is exported once per tick, whatever happens to the process that claimed it:
 * - a process whose timer fires late (`nelm serve` held with SIGSTOP across a tick) claims the
 *   schedule's tick, not the clock's second (PostgreSQL: two processes on one schema);
 * - a process that stops mid-tick gives the tick back, and another finishes it (on SQLite, the
 *   next process on the file);
 * - an error mid-tick writes `export.failed` for the tick, and another attempt finishes it;
 * - a process that hangs mid-tick, as a killed one would, loses the tick when its lease runs out,
 *   another finishes it, and the hung one writes nothing more once it goes on (PostgreSQL);
 * - a process whose readiness drains claims no tick.
 * The ticks are the schedule's latest (`0 0 1 1 *`: the 1st of January), run by the test.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Cron } from 'croner';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/config.js';
import type { Principal } from '../../src/auth/principal.js';
import type { EventInput, SerializedEventInput } from '../../src/modules/events/model.js';
import { exportFileName, latestTick } from '../../src/modules/exports/scheduler.js';
import type { Exec } from '../../src/db/dialect.js';
import { ADMIN, dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';
import { until } from '../helpers/webhooks.js';

const KEK = randomBytes(32).toString('hex');
const YEARLY = '0 0 1 1 *';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

interface World {
  dir: string;
  exportDir: string;
  config: Config;
  sources: string[];
}

const worlds: World[] = [];
after(async () => {
  for (const world of worlds) {
    await dropSchema(world.config);
    rmSync(world.dir, { recursive: true, force: true });
  }
});

/** A database (a SQLite file, or a PostgreSQL schema) and the exports' settings every process of it shares. */
function world(schedule = YEARLY, timing: { leaseMs?: number; retryMs?: number } = {}): World {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-exports-takeover-'));
  const exportDir = path.join(dir, 'exports');
  const env = {
    DATABASE_URL: PG_URL ?? path.join(dir, 'nelm.sqlite'),
    NELM_EXPORT_SCHEDULE: schedule,
    NELM_EXPORT_DIR: exportDir,
    NELM_EXPORT_KEEP: '50',
    NELM_KEY_ENCRYPTION_KEY: KEK,
  };
  // Unfinished ticks looked for every 100 ms.
  const config = testConfig({ exports: { ...testConfig({}, env).exports!, retryMs: 100, ...timing } }, env);
  const made = { dir, exportDir, config, sources: [] };
  worlds.push(made);
  return made;
}

/** A server process of the world (its own database connections and scheduler). */
async function processOf(w: World): Promise<FastifyInstance> {
  const app = await buildApp(w.config, { logger: false });
  await app.ready();
  return app;
}

async function call(app: FastifyInstance, token: string, method: 'GET' | 'POST', url: string, body?: unknown) {
  const response = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body as object }) });
  assert.ok(response.statusCode < 300, `${method} ${url} → ${response.statusCode}: ${response.body}`);
  return response.json();
}

/** Three sources with a record each. */
async function populate(w: World, app: FastifyInstance): Promise<void> {
  const tokenResponse = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: ADMIN.clientSecret }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const token = (tokenResponse.json() as { access_token: string }).access_token;
  const admin = ((await call(app, token, 'GET', '/admin/v1/identities')) as { id: string; alias: string }[]).find((i) => i.alias === 'admin')!;
  for (const name of ['First', 'Second', 'Third']) {
    const source = (await call(app, token, 'POST', '/v2024/non-employee-sources', { name, description: 'x', owner: { id: admin.id } })) as { id: string };
    await call(app, token, 'POST', '/v2024/non-employee-records', {
      sourceId: source.id,
      accountName: `${name.toLowerCase()}.person`,
      firstName: name,
      lastName: 'Lee',
      email: `${name.toLowerCase()}@example.com`,
      phone: '555',
      manager: 'admin',
      startDate: '2026-01-01T00:00:00Z',
      endDate: '2035-01-01T00:00:00Z',
    });
    w.sources.push(source.id);
  }
}

/** The schedule's latest tick. */
function latest(schedule = YEARLY): Date {
  const cron = new Cron(schedule, { timezone: 'UTC', paused: true });
  try {
    return latestTick(cron, new Date())!;
  } finally {
    cron.stop();
  }
}

interface ExportEvent {
  type: string;
  target_type: string;
  target_id: string;
  data: string;
}

async function exportEvents(db: Exec): Promise<ExportEvent[]> {
  return db.selectFrom('events').select(['type', 'target_type', 'target_id', 'data']).where('type', 'like', 'export.%').orderBy('seq').execute();
}

async function tickRow(db: Exec, tick: Date) {
  return db.selectFrom('export_ticks').selectAll().where('tick', '=', tick.toISOString()).executeTakeFirst();
}

/** The tick finished, each source's file written once with one `export.completed`, nothing left half-written. */
async function assertExportedOnce(w: World, db: Exec, tick: Date): Promise<ExportEvent[]> {
  const row = await until('the tick finished', async () => {
    const found = await tickRow(db, tick);
    return found?.finished_at ? found : undefined;
  });
  assert.ok(row.finished_at);
  const file = exportFileName(tick);
  const events = await exportEvents(db);
  const completed = events.filter((e) => e.type === 'export.completed');
  for (const sourceId of w.sources) {
    const mine = completed.filter((e) => e.target_id === sourceId && (JSON.parse(e.data) as { file: string }).file === path.join(sourceId, file));
    assert.equal(mine.length, 1, `${sourceId}: ${mine.length} export.completed events for the tick`);
    assert.deepEqual(readdirSync(path.join(w.exportDir, sourceId)), [file], `${sourceId}: its file, and no partial one`);
  }
  assert.deepEqual(
    events.filter((e) => e.type === 'export.failed' && e.target_type === 'source'),
    [],
  );
  // A finished tick's notes of its sources are gone: no process takes it over.
  assert.deepEqual(await db.selectFrom('export_tick_sources').select('source_id').where('tick', '=', tick.toISOString()).execute(), []);
  return events;
}

type ExportFn = FastifyInstance['services']['bulk']['export'];

/** Makes `app`'s export of `sourceId` wait for `hold` first; resolves when it gets there. */
function holdExport(app: FastifyInstance, sourceId: string, hold: () => Promise<void>): Promise<void> {
  const bulk = app.services.bulk;
  const exportOf: ExportFn = bulk.export.bind(bulk);
  let reached!: () => void;
  const there = new Promise<void>((resolve) => {
    reached = resolve;
  });
  bulk.export = async (principal: Principal, id: string) => {
    if (id === sourceId) {
      reached();
      await hold();
    }
    return exportOf(principal, id);
  };
  return there;
}

describe('scheduled exports: each tick once, whatever happens to its process', () => {
  test('a process that stops mid-tick gives the tick back; another process finishes it', async () => {
    const w = world();
    const a = await processOf(w);
    await populate(w, a);
    // PostgreSQL: another process runs meanwhile and takes the tick over as soon as it is given back.
    const b = PG_URL ? await processOf(w) : undefined;
    try {
      const tick = latest();
      const atSecond = holdExport(a, w.sources[1]!, () => sleep(300));
      const ticking = a.scheduledExports!.tick(tick);
      await atSecond;
      await a.close();
      assert.equal(await ticking, false, 'the stopped process did not finish the tick');
      // SQLite: the next process on the file finishes it.
      const next = b ?? (await processOf(w));
      try {
        await assertExportedOnce(w, next.db.kysely, tick);
      } finally {
        if (!b) await next.close();
      }
    } finally {
      await b?.close();
    }
  });

  test('an error mid-tick writes export.failed for the tick; another attempt finishes it', async () => {
    const w = world();
    const a = await processOf(w);
    await populate(w, a);
    const b = PG_URL ? await processOf(w) : undefined;
    try {
      const tick = latest();
      // The database fails once as the second source's export is recorded.
      const events = a.services.events;
      const append = events.append.bind(events);
      let failed = false;
      events.append = async (trx: Exec, tenantId: string, list: readonly (EventInput | SerializedEventInput)[]) => {
        if (!failed && list.some((e) => e.type === 'export.completed' && e.target.id === w.sources[1])) {
          failed = true;
          throw new Error('connection terminated unexpectedly');
        }
        return append(trx, tenantId, list);
      };
      assert.equal(await a.scheduledExports!.tick(tick), false);
      const all = await assertExportedOnce(w, a.db.kysely, tick);
      const tickFailed = all.filter((e) => e.type === 'export.failed' && e.target_type === 'export');
      assert.equal(tickFailed.length, 1);
      assert.equal(tickFailed[0]!.target_id, tick.toISOString());
      assert.match(JSON.parse(tickFailed[0]!.data).error, /connection terminated unexpectedly/);
      assert.equal((await tickRow(a.db.kysely, tick))?.attempts, 2);
    } finally {
      await b?.close();
      await a.close();
    }
  });

  test('a process that hangs mid-tick loses it when its lease runs out; it writes nothing more', {
    skip: !PG_URL && 'PostgreSQL: one process owns a SQLite file',
  }, async () => {
    const w = world(YEARLY, { leaseMs: 1000 });
    const a = await processOf(w);
    await populate(w, a);
    let goOn!: () => void;
    const hung = new Promise<void>((resolve) => {
      goOn = resolve;
    });
    const b = await processOf(w);
    try {
      const tick = latest();
      const atSecond = holdExport(a, w.sources[1]!, () => hung);
      const ticking = a.scheduledExports!.tick(tick);
      await atSecond;
      await assertExportedOnce(w, b.db.kysely, tick);
      goOn();
      assert.equal(await ticking, false, 'the process that went on found the tick taken over');
      await assertExportedOnce(w, b.db.kysely, tick);
    } finally {
      goOn();
      await b.close();
      await a.close();
    }
  });

  test('a process whose readiness drains claims no tick', async () => {
    const w = world('* * * * * *');
    const a = await processOf(w);
    try {
      a.readiness.drain();
      await sleep(2500);
      assert.deepEqual(await a.db.kysely.selectFrom('export_ticks').select('tick').execute(), []);
    } finally {
      await a.close();
    }
  });

  test('a process whose timer fires late claims the schedule tick, not its clock second', {
    skip: !PG_URL && 'PostgreSQL: two processes on one database',
  }, async () => {
    const schedule = '*/4 * * * * *';
    const w = world(schedule);
    const a = await processOf(w);
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = s.address() as { port: number };
        s.close(() => resolve(free));
      });
    });
    const child = spawn(process.execPath, [...CLI, 'serve'], {
      env: {
        ...process.env,
        DATABASE_URL: w.config.databaseUrl,
        NELM_DATABASE_SCHEMA: w.config.databaseSchema!,
        PORT: String(port),
        HOST: '127.0.0.1',
        NELM_ADMIN_CLIENT_ID: ADMIN.clientId,
        NELM_ADMIN_CLIENT_SECRET: ADMIN.clientSecret,
        NELM_SECRET_HASH_COST: '10',
        NELM_KEY_ENCRYPTION_KEY: KEK,
        NELM_EXPORT_SCHEDULE: schedule,
        NELM_EXPORT_DIR: w.exportDir,
        NELM_EXPORT_KEEP: '50',
        NELM_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await populate(w, a);
      await until(
        'the other process is ready',
        () =>
          fetch(`http://127.0.0.1:${port}/health/ready`).then(
            (r) => r.status === 200,
            () => false,
          ),
        30_000,
      );
      // A tick at least 1.5 s away; the other process is held from just before it to 1.4 s after.
      const tick = Math.ceil((Date.now() + 1500) / 4000) * 4000;
      await sleep(tick - 400 - Date.now());
      child.kill('SIGSTOP');
      await sleep(tick + 1400 - Date.now());
      child.kill('SIGCONT');
      // Its timer fires now, 1.4 s late; then both run the next tick on time.
      await sleep(tick + 4000 + 1500 - Date.now());
      const files = (await exportEvents(a.db.kysely))
        .filter((e) => e.type === 'export.completed' && e.target_id === w.sources[0])
        .map((e) => (JSON.parse(e.data) as { file: string }).file);
      assert.ok(files.includes(path.join(w.sources[0]!, exportFileName(new Date(tick)))), files.join(', '));
      assert.equal(new Set(files).size, files.length, `a tick exported twice: ${files.join(', ')}`);
      for (const file of files) assert.equal(Number(/T\d{4}(\d\d)Z\.csv$/.exec(file)?.[1]) % 4, 0, `${file} is a tick of the schedule`);
      const names = readdirSync(path.join(w.exportDir, w.sources[0]!)).filter((f) => !f.startsWith('.'));
      assert.deepEqual(names.sort(), files.map((f) => path.basename(f)).sort());
      assert.ok(existsSync(path.join(w.exportDir, w.sources[0]!, exportFileName(new Date(tick)))));
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited;
      await a.close();
    }
  });
});
