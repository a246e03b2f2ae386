/**
 * `npm run bench -- load [--seconds N] [--connections C] [--rss-bound-mib M]`: a mixed workload of
 * the official client's common calls against a real server, per engine (SQLite on a temp file;
 * PostgreSQL too when DATABASE_URL is a postgres:// URL).
 *
 * - `nelm serve` in a child process (rate limit off, log level warn);
 * - seeded: 5 sources with one approver, 1,000 records each (bulk upload), the approver's API client;
 * - the load from another child process (driver.ts): C connections (default 50) for N seconds
 *   (default 60), each call picked at random: list records 30 %, get a record 30 %, create a record
 *   15 %, patch a record 15 %, create a request and approve it 10 %;
 * - a warm-up of min(10, N/3) seconds first; the server's RSS (RssAnon of /proc/<pid>/status: the
 *   SQLite file is memory-mapped, see bench/bulk/server.ts memoryOf) after
 *   the warm-up and after the run (after 2 s idle), every 10 s during the run, and VmHWM at the end.
 * Fails (exit 1) on any error response or when RSS grew by more than the bound (default 64 MiB) over
 * the run: a leak. Prints a table; writes bench/results/load.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { memoryOf } from '../bulk/server.js';
import { ROOT, dropPgSchema, isPostgresUrl, startNelm } from '../lib/server.js';
import { type DriverResult, drive } from './driver.js';
import { seed } from './seed.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, connections: { type: 'string', default: '50' }, 'rss-bound-mib': { type: 'string', default: '64' } },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const RSS_BOUND = Number(values['rss-bound-mib']);
const MB = 1024 * 1024;

interface Row {
  engine: string;
  seconds: number;
  connections: number;
  requests: number;
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  rssGrowthMiB: number;
  hwmMiB: number;
  /** RSS every 10 s during the run: a leak climbs, a warming heap levels off. */
  rssEvery10sMiB: number[];
  ops: DriverResult['ops'];
}

async function runEngine(engine: 'sqlite' | 'postgres'): Promise<Row> {
  const pgUrl = process.env.DATABASE_URL;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-load-'));
  const schema = `load_${randomBytes(6).toString('hex')}`;
  const env: Record<string, string> =
    engine === 'postgres' && isPostgresUrl(pgUrl) ? { DATABASE_URL: pgUrl, NELM_DATABASE_SCHEMA: schema } : { DATABASE_URL: path.join(dir, 'nelm.sqlite') };
  const server = await startNelm({ ...env, NELM_LOG_LEVEL: 'error' });
  try {
    const seeded = await seed(server);
    const warm = Math.max(1, Math.min(10, Math.round(SECONDS / 3)));
    const warmup = await drive({ ...seeded, connections: CONNECTIONS, seconds: warm, prefix: `w${randomBytes(3).toString('hex')}` });
    if (warmup.errors > 0) throw new Error(`warm-up errors: ${warmup.samples.join('\n')}`);
    await new Promise((r) => setTimeout(r, 2000));
    const before = memoryOf(server.pid).anon;
    const trend: number[] = [];
    const sampler = setInterval(() => trend.push(Math.round(memoryOf(server.pid).anon / MB)), 10_000);
    const result = await drive({ ...seeded, connections: CONNECTIONS, seconds: SECONDS, prefix: `m${randomBytes(3).toString('hex')}` }).finally(() =>
      clearInterval(sampler),
    );
    await new Promise((r) => setTimeout(r, 2000));
    const after = memoryOf(server.pid);
    if (result.samples.length) console.error(result.samples.join('\n'));
    return {
      engine,
      seconds: Math.round(result.seconds),
      connections: CONNECTIONS,
      requests: result.requests,
      throughput: result.throughput,
      p50: result.total.p50,
      p99: result.total.p99,
      max: result.total.max,
      errors: result.errors,
      rssBeforeMiB: before / MB,
      rssAfterMiB: after.anon / MB,
      rssGrowthMiB: (after.anon - before) / MB,
      hwmMiB: after.hwm / MB,
      rssEvery10sMiB: trend,
      ops: result.ops,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    if (engine === 'postgres' && isPostgresUrl(pgUrl)) await dropPgSchema(pgUrl, schema);
  }
}

const engines: ('sqlite' | 'postgres')[] = ['sqlite', ...(isPostgresUrl(process.env.DATABASE_URL) ? (['postgres'] as const) : [])];
const rows: Row[] = [];
for (const engine of engines) {
  console.error(`load: ${engine}, ${CONNECTIONS} connections, ${SECONDS} s…`);
  rows.push(await runEngine(engine));
}
const f = (n: number, d = 1) => n.toFixed(d);
console.log(
  `\n| engine | s | conn | requests | req/s | p50 ms | p99 ms | max ms | errors | anon RSS before MiB | anon RSS after MiB | growth MiB | VmHWM MiB |`,
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.engine} | ${r.seconds} | ${r.connections} | ${r.requests} | ${f(r.throughput, 0)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${r.errors} | ${f(r.rssBeforeMiB)} | ${f(r.rssAfterMiB)} | ${f(r.rssGrowthMiB)} | ${f(r.hwmMiB)} |`,
  );
}
console.log(`\nAnon RSS every 10 s during the run (MiB): ${rows.map((r) => `${r.engine} ${r.rssEvery10sMiB.join(' → ')}`).join('; ')}`);
console.log('\nper operation (p50 / p99 / max ms, count, errors):');
for (const r of rows) {
  for (const [op, o] of Object.entries(r.ops))
    console.log(`  ${r.engine} ${op.padEnd(8)} ${f(o.p50)} / ${f(o.p99)} / ${f(o.max)}  n=${o.count} errors=${o.errors}`);
}
mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  path.join(ROOT, 'bench', 'results', 'load.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rssBoundMiB: RSS_BOUND, results: rows }, null, 2)}\n`,
);
const bad = rows.filter((r) => r.errors > 0 || r.rssGrowthMiB > RSS_BOUND);
if (bad.length) {
  console.error(`FAILED: ${bad.map((r) => `${r.engine}: ${r.errors} errors, RSS +${f(r.rssGrowthMiB)} MiB (bound ${RSS_BOUND})`).join('; ')}`);
  process.exitCode = 1;
}
