/**
 * `npm run bench -- records [options]`: record reads at 1,000,000 records, against the floor (the
 * same SQL through the same driver, floor.ts) and a bare Fastify (a fixed answer, bare.ts).
 *
 * For each engine (SQLite on a temp file; PostgreSQL when a postgres:// URL is given through
 * DATABASE_URL or --pg, in a fresh schema dropped afterwards):
 * - a NELM server child process (rate limit off, log level warn) creates 50 sources with 4 custom
 *   schema attributes each through the API, then stops; the records are seeded in SQL (seed.ts),
 *   20,000 per source; the server starts again on the seeded database;
 * - every list page the load will ask for is checked once (250 records, ordered by lastName);
 * - cells: get-by-id (`GET /v2024/non-employee-records/{id}`, ids drawn at random from ~50,000
 *   spread over all sources) and a list page (`GET /v2024/non-employee-records?filters=sourceId eq
 *   "…"&sorters=lastName&limit=250&offset=…`, a random source and offset 0, 250, 1000 or 5000), at
 *   10 and 50 connections; each cell runs against the bare server (bare.ts: same Fastify, same
 *   response schema, a fixed record or page), the floor server (floor.ts: same Fastify, driver,
 *   pool settings and SQL, no auth, validation or logging) and NELM, each time from a separate
 *   load process (load.ts, autocannon): `--warmup` seconds discarded, then `--duration` measured.
 * Target per cell (the median of `--rounds` rounds): NELM req/s ≥ 0.75 × the floor's, and NELM
 * p99 ≤ 1.5 × the floor's. The ratios to the bare server are reported beside. Each run also
 * reports the CPU time stolen by the hypervisor while it ran (on a shared VM a noisy neighbour
 * shows there, and skews a ratio whose two runs were hit unequally), and the CPU time each
 * response cost the server (and on PostgreSQL the database), which moves less with the machine
 * than throughput does.
 * Prints a table; writes bench/results/records.json.
 *
 * Options: --records N (default 1000000; 50 sources of N/50, at most 20,000 each), --duration S
 * (10), --warmup S (3), --connections 10,50, --engines sqlite,postgres, --pg URL, --only get|list,
 * --rounds R (default 3: each cell R times, bare, floor and NELM in turn; the round of median
 * throughput ratio to the floor is shown, every round's ratio is in records.json), --cpu-prof (profiles of the NELM server into bench/results/profiles/nelm-<engine>-<time>/), --keep (keep the seeded
 * database, bench/results/records-db/ for SQLite and schema bench_records_kept_<shape> for
 * PostgreSQL, and reuse it on the next run with --keep and the same --records and --sources).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, dropPgSchema, isPostgresUrl, pgSchemaExists, startChild, startNelm, type Child, type NelmServer } from '../lib/server.js';
import { CUSTOM } from './data.js';
import { seedPostgres, seedSqlite, type SeedPlan, type Seeded } from './seed.js';
import type { LoadResult, LoadSpec } from './load.js';

const { values: opts } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    sources: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10,50' },
    engines: { type: 'string' },
    pg: { type: 'string' },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
  },
  strict: true,
});

const SOURCES = Number(opts.sources);
const PER_SOURCE = Math.floor(Number(opts.records) / SOURCES);
const DURATION = Number(opts.duration);
const WARMUP = Number(opts.warmup);
const CONNECTIONS = opts.connections.split(',').map(Number);
const PAGE = 250;
const OFFSETS = [0, 250, 1000, 5000].filter((o) => o + PAGE <= PER_SOURCE);
const PG_URL = opts.pg ?? (isPostgresUrl(process.env.DATABASE_URL) ? process.env.DATABASE_URL : undefined);
const ENGINES = (opts.engines ?? (PG_URL ? 'sqlite,postgres' : 'sqlite')).split(',') as ('sqlite' | 'postgres')[];
const KEEP = opts.keep;
const KEPT_DIR = path.join(ROOT, 'bench', 'results', 'records-db');
const ENDPOINTS = (opts.only ? [opts.only] : ['get', 'list']) as ('get' | 'list')[];
const ROUNDS = Number(opts.rounds);

if (!(SOURCES >= 1 && PER_SOURCE >= PAGE && PER_SOURCE <= 20_000))
  throw new Error(`--records / --sources must give 250 to 20,000 records per source (got ${PER_SOURCE})`);
if (!(DURATION > 0 && DURATION <= 120 && WARMUP >= 0 && WARMUP <= 60)) throw new Error('--duration must be in (0, 120] s, --warmup in [0, 60] s');
if (CONNECTIONS.some((c) => !(Number.isInteger(c) && c >= 1 && c <= 1000))) throw new Error('--connections takes whole numbers from 1 to 1000');
if (ENDPOINTS.some((e) => e !== 'get' && e !== 'list')) throw new Error('--only takes get or list');
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 9)) throw new Error('--rounds takes a whole number from 1 to 9');
for (const e of ENGINES) if (e !== 'sqlite' && e !== 'postgres') throw new Error(`unknown engine ${e}`);
if (ENGINES.includes('postgres') && !PG_URL) throw new Error('postgres needs --pg URL or DATABASE_URL=postgres://…');

interface Cell {
  engine: string;
  endpoint: 'get' | 'list';
  connections: number;
  nelm: LoadResult;
  floor: LoadResult;
  bare: LoadResult;
  /** NELM against the floor: the targets. */
  throughputRatio: number;
  p99Ratio: number;
  /** NELM against the bare server. */
  bareThroughputRatio: number;
  pass: boolean;
  /** CPU time the hypervisor gave to others while each server was measured, % (Linux /proc/stat). */
  steal: { bare: number; floor: number; nelm: number };
  /**
   * CPU time per response while measured, µs (Linux /proc): the server process (floor, NELM) and,
   * on PostgreSQL, the database's processes while NELM was measured (all of them: backends and
   * background workers).
   */
  cpu: { floor: number; nelm: number; db?: number };
  /** With --rounds > 1: every round's throughput ratio to the floor (the cell shows the median round). */
  roundRatios?: number[];
}

/** The targets of a cell, against the floor. */
const TARGET = { throughput: 0.75, p99: 1.5 };

const RESULTS = path.join(ROOT, 'bench', 'results');
const children = new Set<Child>();
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    void Promise.all([...children].map((c) => c.stop())).then(() => process.exit(130));
  });
}

async function track<T extends Child>(start: Promise<T>): Promise<T> {
  const child = await start;
  children.add(child);
  const stop = child.stop;
  child.stop = async () => {
    children.delete(child);
    await stop();
  };
  return child;
}

/** The machine's CPU time counters (jiffies) as /proc/stat has them: [total, steal]. */
function cpuTimes(): [number, number] {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is counted in user already)
    return [fields.slice(0, 8).reduce((a, b) => a + b, 0), fields[7] ?? 0];
  } catch {
    return [NaN, NaN];
  }
}

/** User + system CPU time of processes (/proc/<pid>/stat, in clock ticks); NaN when unreadable. */
function processTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // The fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return NaN;
    }
  }
  return ticks;
}

/** The PostgreSQL server's processes on this machine (the postmaster and every child of it). */
function postgresPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres');
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on every Linux build that matters). */
const TICKS_PER_SECOND = 100;

/**
 * `load` against the server of process `serverPid`; over its measured seconds: the share of the
 * machine's CPU time stolen by the hypervisor (%) and the CPU time per response (µs) of the server
 * and, with `database`, of the PostgreSQL server's processes (those alive when measuring started;
 * a backend that exits meanwhile leaves its share out).
 */
async function measured(
  spec: LoadSpec,
  dir: string,
  serverPid: number,
  database: boolean,
): Promise<{ result: LoadResult; steal: number; cpu: number; db?: number }> {
  let start: { total: number; steal: number; server: number; db: Map<number, number> } | undefined;
  const databaseTicks = () =>
    new Map((database ? postgresPids() : []).map((pid) => [pid, processTicks([pid])] as const).filter(([, ticks]) => !Number.isNaN(ticks)));
  const result = await load(spec, dir, () => {
    const [total, steal] = cpuTimes();
    start = { total, steal, server: processTicks([serverPid]), db: databaseTicks() };
  });
  const [total, steal] = cpuTimes();
  const server = processTicks([serverPid]);
  // Backends that started meanwhile count whole (the pools open connections as the load needs
  // them); those that ended meanwhile are left out.
  let db = 0;
  for (const [pid, ticks] of databaseTicks()) db += ticks - (start!.db.get(pid) ?? 0);
  const perResponse = (ticks: number) => (ticks * 1e6) / TICKS_PER_SECOND / result.requests;
  return {
    result,
    steal: (100 * (steal - start!.steal)) / (total - start!.total),
    cpu: perResponse(server - start!.server),
    ...(database ? { db: perResponse(db) } : {}),
  };
}

/** One load run from a separate process; killed if it overruns its time by 30 s. */
function load(spec: LoadSpec, dir: string, onMeasuring: () => void): Promise<LoadResult> {
  const file = path.join(dir, `load-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'records', 'load.ts'), file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let measuring = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!measuring && out.includes('measuring\n')) {
        measuring = true;
        onMeasuring();
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (spec.warmupSeconds + spec.durationSeconds + 30) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      rmSync(file, { force: true });
      if (code !== 0) return reject(new Error(`the load process exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult);
    });
  });
}

const recordPath = (id: string) => `/v2024/non-employee-records/${id}`;
const listPath = (sourceId: string, offset: number) =>
  `/v2024/non-employee-records?filters=${encodeURIComponent(`sourceId eq "${sourceId}"`)}&sorters=lastName&limit=${PAGE}&offset=${offset}`;

async function createSources(server: NelmServer): Promise<{ ids: string[]; manager: string }> {
  const identities = await server.call<{ id: string; alias: string }[]>('GET', '/admin/v1/identities?limit=250');
  const owner = identities.find((i) => i.alias === 'admin')!;
  const ids: string[] = [];
  for (let s = 0; s < SOURCES; s++) {
    const source = await server.call<{ id: string }>('POST', '/v2024/non-employee-sources', {
      name: `Bench source ${s}`,
      description: 'records bench',
      owner: { id: owner.id },
    });
    for (const technicalName of CUSTOM) {
      await server.call('POST', `/v2024/non-employee-sources/${source.id}/schema-attributes`, { type: 'TEXT', label: technicalName, technicalName });
    }
    ids.push(source.id);
  }
  return { ids, manager: owner.alias };
}

/** Checks what the load will ask for: a record, and every list page (250, ordered by lastName then id). */
async function verify(server: NelmServer, ids: string[], sourceIds: string[]): Promise<void> {
  for (const id of ids.slice(0, 20)) {
    const r = await server.call<{ id: string; data: Record<string, string> }>('GET', recordPath(id));
    if (r.id !== id || Object.keys(r.data).length !== CUSTOM.length) throw new Error(`record ${id} came back wrong`);
  }
  for (const sourceId of sourceIds) {
    for (const offset of OFFSETS) {
      const page = await server.call<{ id: string; lastName: string; sourceId: string }[]>('GET', listPath(sourceId, offset));
      if (page.length !== PAGE) throw new Error(`page ${sourceId}@${offset} has ${page.length} records`);
      for (let i = 1; i < page.length; i++) {
        const [a, b] = [page[i - 1]!, page[i]!];
        if (b.sourceId !== sourceId || a.lastName > b.lastName || (a.lastName === b.lastName && a.id > b.id))
          throw new Error(`page ${sourceId}@${offset} is out of order`);
      }
    }
  }
}

/** What a kept database holds: the sources and the get-by-id pool (see --keep). */
interface KeptSeed {
  sourceIds: string[];
  ids: string[];
}

/** The floor server on the same database, with every list page of the load prepared. */
function startFloor(env: Record<string, string>, sourceIds: string[]): Promise<Child> {
  const pages = sourceIds.flatMap((id) => OFFSETS.map((offset) => [id, offset]));
  return track(startChild(path.join(ROOT, 'bench', 'records', 'floor.ts'), [], { ...env, FLOOR_PAGES: JSON.stringify(pages) }));
}

async function engineRun(engine: 'sqlite' | 'postgres', bare: Child, tmp: string): Promise<Cell[]> {
  const shape = `${SOURCES}x${PER_SOURCE}`;
  const schema = KEEP ? `bench_records_kept_${shape}` : `bench_records_${randomBytes(4).toString('hex')}`;
  const file = KEEP ? path.join(KEPT_DIR, `records-${shape}.sqlite`) : path.join(tmp, 'records.sqlite');
  const keptSeed = path.join(KEPT_DIR, engine === 'sqlite' ? `records-${shape}.json` : `${schema}.json`);
  const env: Record<string, string> = engine === 'sqlite' ? { DATABASE_URL: file } : { DATABASE_URL: PG_URL!, NELM_DATABASE_SCHEMA: schema };
  // One directory per run: node writes a profile per thread (the main one is the largest), and a
  // fixed --cpu-prof-name would let the module loader's thread overwrite the server's profile.
  const nodeArgs = opts['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.join(RESULTS, 'profiles', `nelm-${engine}-${Date.now()}`)}`] : [];
  if (KEEP) mkdirSync(KEPT_DIR, { recursive: true });
  try {
    let seed: KeptSeed | undefined;
    const kept = KEEP && existsSync(keptSeed) && (engine === 'sqlite' ? existsSync(file) : await pgSchemaExists(PG_URL!, schema));
    if (kept) {
      seed = JSON.parse(readFileSync(keptSeed, 'utf8')) as KeptSeed;
      console.log(`[${engine}] reusing the kept database (${engine === 'sqlite' ? file : `schema ${schema}`})`);
    } else {
      if (KEEP) {
        // Whatever a previous run left half-made goes first.
        if (engine === 'postgres') await dropPgSchema(PG_URL!, schema);
        else for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
      }
      const server = await track(startNelm(env));
      const { ids: sourceIds, manager } = await createSources(server);
      await server.stop();

      const plan: SeedPlan = { sourceIds, perSource: PER_SOURCE, manager, poolSize: 50_000 };
      console.log(`[${engine}] seeding ${SOURCES} × ${PER_SOURCE} records…`);
      const seeded: Seeded = engine === 'sqlite' ? await seedSqlite(file, plan) : await seedPostgres(PG_URL!, schema, plan);
      console.log(
        `[${engine}] seeded in ${seeded.totalSeconds.toFixed(1)} s (rows ${seeded.insertSeconds.toFixed(1)} s, indexes ${seeded.indexSeconds.toFixed(1)} s); get pool ${seeded.ids.length} ids`,
      );
      seed = { sourceIds, ids: seeded.ids };
      if (KEEP) writeFileSync(keptSeed, JSON.stringify(seed));
    }
    const { sourceIds } = seed;

    const server = await track(startNelm(env, nodeArgs));
    const floor = await startFloor(env, sourceIds);
    try {
      await verify(server, seed.ids, sourceIds);
      const paths = {
        get: seed.ids.map(recordPath),
        list: sourceIds.flatMap((id) => OFFSETS.map((o) => listPath(id, o))),
      };
      const cells: Cell[] = [];
      for (const endpoint of ENDPOINTS) {
        for (const connections of CONNECTIONS) {
          if (stopping) return cells;
          const common = { paths: paths[endpoint], connections, warmupSeconds: WARMUP, durationSeconds: DURATION };
          // Bare, floor, then NELM, `--rounds` times; the cell is the round of median throughput ratio.
          const rounds: Cell[] = [];
          for (let r = 0; r < ROUNDS && !stopping; r++) {
            const bareRun = await measured({ ...common, baseUrl: bare.baseUrl }, tmp, bare.pid, false);
            const floorRun = await measured({ ...common, baseUrl: floor.baseUrl }, tmp, floor.pid, false);
            const nelmRun = await measured({ ...common, baseUrl: server.baseUrl, token: server.token }, tmp, server.pid, engine === 'postgres');
            const [nelm, floorResult, bareResult] = [nelmRun.result, floorRun.result, bareRun.result];
            const failures = nelm.failures + floorResult.failures + bareResult.failures;
            if (failures > 0)
              throw new Error(
                `${engine} ${endpoint} c${connections}: failed requests: NELM ${nelm.failures}, floor ${floorResult.failures}, bare ${bareResult.failures}`,
              );
            const throughputRatio = nelm.rps / floorResult.rps;
            const p99Ratio = nelm.p99 / floorResult.p99;
            rounds.push({
              engine,
              endpoint,
              connections,
              nelm,
              floor: floorResult,
              bare: bareResult,
              throughputRatio,
              p99Ratio,
              bareThroughputRatio: nelm.rps / bareResult.rps,
              pass: throughputRatio >= TARGET.throughput && p99Ratio <= TARGET.p99,
              steal: { bare: bareRun.steal, floor: floorRun.steal, nelm: nelmRun.steal },
              cpu: { floor: floorRun.cpu, nelm: nelmRun.cpu, ...(nelmRun.db !== undefined ? { db: nelmRun.db } : {}) },
            });
          }
          if (rounds.length === 0) return cells;
          const byRatio = [...rounds].sort((a, b) => a.throughputRatio - b.throughputRatio);
          const cell = {
            ...byRatio[(byRatio.length - 1) >> 1]!,
            ...(ROUNDS > 1 ? { roundRatios: rounds.map((c) => Number(c.throughputRatio.toFixed(3))) } : {}),
          };
          console.log(row(cell));
          cells.push(cell);
        }
      }
      return cells;
    } finally {
      await floor.stop();
      await server.stop();
    }
  } finally {
    if (KEEP) {
      // kept for the next run with --keep
    } else if (engine === 'postgres') await dropPgSchema(PG_URL!, schema);
    else for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
}

const HEADER = [
  '| engine | endpoint | connections | NELM req/s | NELM p99 ms | floor req/s | floor p99 ms | req/s ÷ floor | p99 ÷ floor | target | bare req/s | req/s ÷ bare | CPU µs/response floor / NELM (+ database) | steal % |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|',
];
const ENDPOINT_NAMES = { get: 'get by id', list: 'list page (250)' };

function row(c: Cell): string {
  const f = (n: number, d: number) => n.toFixed(d);
  const steal = Math.max(c.steal.bare, c.steal.floor, c.steal.nelm);
  return `| ${c.engine} | ${ENDPOINT_NAMES[c.endpoint]} | ${c.connections} | ${f(c.nelm.rps, 0)} | ${f(c.nelm.p99, 2)} | ${f(c.floor.rps, 0)} | ${f(c.floor.p99, 2)} | ${f(c.throughputRatio, 2)} | ${f(c.p99Ratio, 2)} | ${c.pass ? 'PASS' : 'FAIL'} | ${f(c.bare.rps, 0)} | ${f(c.bareThroughputRatio, 2)} | ${f(c.cpu.floor, 0)} / ${f(c.cpu.nelm, 0)}${c.cpu.db === undefined ? '' : ` (+ ${f(c.cpu.db, 0)})`} | ${f(steal, 1)} |`;
}

const started = Date.now();
const loadBefore = os.loadavg();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'nelm-bench-records-'));
const cells: Cell[] = [];
let bare: Child | undefined;
try {
  bare = await track(startChild(path.join(ROOT, 'bench', 'records', 'bare.ts'), [], {}));
  console.log(HEADER.join('\n'));
  for (const engine of ENGINES) {
    if (stopping) break;
    cells.push(...(await engineRun(engine, bare, tmp)));
  }
} finally {
  await bare?.stop();
  rmSync(tmp, { recursive: true, force: true });
}

const machine = `node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`;
// Other work on the machine skews every figure: the 1-minute load average is printed to show it.
const loadNote = `load average ${loadBefore[0]!.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after`;
console.log(
  `\n${machine}; ${SOURCES} sources × ${PER_SOURCE} records; ${WARMUP} s warm-up + ${DURATION} s per run, ${ROUNDS} round(s) per cell; ${((Date.now() - started) / 1000).toFixed(0)} s in all; ${loadNote}\n`,
);
console.log([...HEADER, ...cells.map(row)].join('\n'));
mkdirSync(RESULTS, { recursive: true });
writeFileSync(
  path.join(RESULTS, 'records.json'),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine,
      load: loadNote,
      args: process.argv.slice(2),
      sources: SOURCES,
      perSource: PER_SOURCE,
      offsets: OFFSETS,
      warmupSeconds: WARMUP,
      durationSeconds: DURATION,
      rounds: ROUNDS,
      cells,
    },
    null,
    2,
  ),
);
process.exit(0);
