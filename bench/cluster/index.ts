/**
 * `npm run bench -- cluster [--seconds N] [--connections C] [--rate-limit counted|off]`: the mixed
 * load of `bench/load` (bench/load/driver.ts, in a process of its own) through a real HAProxy
 * (bench/lib/cluster.ts) in front of `nelm serve` processes on one PostgreSQL database
 * (DATABASE_URL, a postgres:// URL; a fresh schema per cluster, dropped afterwards), with the side
 * work of the cluster test under way (bench/lib/cluster-work.ts: two webhook endpoints on a
 * receiver of the bench's, two bulk imports of 300 rows and 20 records expiring per phase):
 *
 * 1. one process behind HAProxy: the endpoints registered, seeded (bench/load/seed.ts), a warm-up
 *    of min(10, N/3) s, then N seconds (default 60) of load, with an import 1 s and N/2 s in and
 *    the records' end dates spread from the 3rd second to 2 s before the end;
 * 2. three processes behind HAProxy, on a new schema: the same;
 * 3. the same three processes, N seconds more of load and side work while they are restarted one
 *    after the other (SIGTERM, exit, start, HAProxy sees it up), from the 2nd second on.
 *
 * After each phase the side work is checked (every import, expiry and delivery since the cluster
 * started): each import COMPLETED once with its rows once, each record expired once, every event
 * of an endpoint's types delivered to it once. The rate limit counts every request in the database
 * (`counted`: a limit no client reaches) or is off. Prints a table (req/s, p50, p99, max, failures,
 * what was checked) with the load average before and after each phase, writes
 * bench/results/cluster.json, and fails (exit 1) on any failed request or check.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Cluster } from '../lib/cluster.js';
import { type Checked, SIDE_WORK_ENV, SideWork } from '../lib/cluster-work.js';
import { apiCaller, BENCH_ADMIN, benchAdminToken, ROOT, SERVER_NODE_FLAGS, dropPgSchema, isPostgresUrl } from '../lib/server.js';
import { sleep } from '../lib/webhooks.js';
import { drive } from '../load/driver.js';
import { type Seeded, seed } from '../load/seed.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '50' },
    'rate-limit': { type: 'string', default: 'counted' },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const RATE_LIMIT = values['rate-limit'] === 'off' ? 'off' : '100000000/10s';
/** Records expiring per phase, as in the cluster test. */
const EXPIRING = 20;
const PG_URL = process.env.DATABASE_URL;
if (!isPostgresUrl(PG_URL)) {
  console.error('bench cluster: set DATABASE_URL to a postgres:// URL (several processes need PostgreSQL)');
  process.exit(2);
}

const loadavg = () => os.loadavg()[0]!.toFixed(1);

interface Row {
  phase: string;
  processes: number;
  seconds: number;
  requests: number;
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  failures: number;
  loadBefore: string;
  loadAfter: string;
  samples: string[];
  restarts?: { exitCode: number | null; downMs: number; upMs: number }[];
  /** What the phase added to the side work, checked after it (with everything before it on the same processes). */
  checked: Omit<Checked, 'problems'>;
  /** How long the check took: mostly waiting for the deliveries still queued. */
  checkSeconds: number;
  problems: string[];
}

interface Running {
  cluster: Cluster;
  seeded: Seeded;
  work: SideWork;
  /** The side work checked so far on these processes. */
  checked?: Checked;
}

async function startCluster(processes: number, schema: string): Promise<Running> {
  const cluster = await Cluster.start({
    processes,
    command: [...SERVER_NODE_FLAGS, '--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts')],
    env: {
      DATABASE_URL: PG_URL!,
      NELM_DATABASE_SCHEMA: schema,
      NELM_ADMIN_CLIENT_ID: BENCH_ADMIN.clientId,
      NELM_ADMIN_CLIENT_SECRET: BENCH_ADMIN.clientSecret,
      NELM_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      NELM_RATE_LIMIT: RATE_LIMIT,
      NELM_TRUST_PROXY: '127.0.0.1',
      NELM_SHUTDOWN_DRAIN: '1',
      NELM_LOG_LEVEL: 'error',
      NELM_TOKEN_TTL: '3600',
      ...SIDE_WORK_ENV,
    },
    output: 'inherit',
  });
  try {
    const token = await benchAdminToken(cluster.url);
    const api = { baseUrl: cluster.url, token, call: apiCaller(cluster.url, token) };
    const work = await SideWork.start(api);
    try {
      return { cluster, seeded: await seed(api), work };
    } catch (error) {
      await work.close();
      throw error;
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

const plan = (seeded: Seeded, seconds: number, tag: string) => ({
  ...seeded,
  connections: CONNECTIONS,
  seconds,
  prefix: `${tag}${randomBytes(3).toString('hex')}`,
});
const warm = Math.max(1, Math.min(10, Math.round(SECONDS / 3)));
const rows: Row[] = [];

/** One measured phase: the load and the side work, the processes restarted one after the other if `restart`; then the checks. */
async function measure(phase: string, processes: number, running: Running, restart: boolean): Promise<Row> {
  const { cluster, seeded, work } = running;
  const begins = Date.now() + 1000;
  await work.expireDuring(begins, { count: EXPIRING, fromMs: 3000, toMs: Math.max(3000, SECONDS * 1000 - 2000) });
  const before = loadavg();
  await sleep(begins - Date.now());
  const load = drive(plan(seeded, SECONDS, restart ? 'r' : 'm'));
  const side = work.during(begins, { uploadsAtMs: [1000, SECONDS * 500] });
  let restarts: Row['restarts'];
  if (restart) {
    await sleep(2000);
    restarts = [];
    for (let i = 0; i < cluster.size; i++) restarts.push(await cluster.restart(i));
  }
  const result = await load;
  await side;
  const loadAfter = loadavg();
  const checkBegan = Date.now();
  const checked = await work
    .check()
    .catch(
      (error: Error): Checked => ({ imports: 0, rows: 0, expiries: 0, deliveries: { lifecycle: 0, approvals: 0 }, problems: [`check: ${error.message}`] }),
    );
  const previous = running.checked;
  running.checked = checked;
  return {
    phase,
    processes,
    seconds: Math.round(result.seconds),
    requests: result.requests,
    throughput: result.throughput,
    p50: result.total.p50,
    p99: result.total.p99,
    max: result.total.max,
    failures: result.errors,
    loadBefore: before,
    loadAfter,
    samples: result.samples,
    ...(restarts ? { restarts } : {}),
    checked: {
      imports: checked.imports - (previous?.imports ?? 0),
      rows: checked.rows - (previous?.rows ?? 0),
      expiries: checked.expiries - (previous?.expiries ?? 0),
      deliveries: {
        lifecycle: checked.deliveries.lifecycle - (previous?.deliveries.lifecycle ?? 0),
        approvals: checked.deliveries.approvals - (previous?.deliveries.approvals ?? 0),
      },
    },
    checkSeconds: (Date.now() - checkBegan) / 1000,
    problems: checked.problems,
  };
}

for (const processes of [1, 3]) {
  const schema = `cluster_${randomBytes(6).toString('hex')}`;
  console.error(`cluster: ${processes} process(es) behind HAProxy, ${CONNECTIONS} connections, ${SECONDS} s…`);
  const running = await startCluster(processes, schema);
  try {
    const warmup = await drive(plan(running.seeded, warm, 'w'));
    if (warmup.errors > 0) throw new Error(`warm-up failures: ${warmup.samples.join('\n')}`);
    rows.push(await measure(`${processes} process${processes > 1 ? 'es' : ''}`, processes, running, false));
    if (processes === 3) {
      console.error(`cluster: rolling restart of ${processes} processes under load, ${SECONDS} s…`);
      rows.push(await measure('3 processes, rolling restart', processes, running, true));
    }
  } finally {
    await running.cluster.stop();
    await running.work.close();
    await dropPgSchema(PG_URL, schema);
  }
}

const f = (n: number, d = 1) => n.toFixed(d);
console.log(`\nrate limit: ${RATE_LIMIT === 'off' ? 'off' : 'counted in PostgreSQL for every request'}; ${CONNECTIONS} connections; ${os.cpus().length} cores`);
console.log('\n| phase | processes | s | requests | req/s | p50 ms | p99 ms | max ms | failed | load average before → after |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.phase} | ${r.processes} | ${r.seconds} | ${r.requests} | ${f(r.throughput, 0)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${r.failures} | ${r.loadBefore} → ${r.loadAfter} |`,
  );
}
console.log('\n| phase | imports (rows) | expiries | deliveries lifecycle + approvals | checked in s | problems |');
console.log('|---|---|---|---|---|---|');
for (const { phase, checked: c, checkSeconds, problems } of rows) {
  console.log(
    `| ${phase} | ${c.imports} (${c.rows}) | ${c.expiries} | ${c.deliveries.lifecycle} + ${c.deliveries.approvals} | ${f(checkSeconds)} | ${problems.length} |`,
  );
}
for (const r of rows.filter((x) => x.restarts)) {
  console.log(
    `\nrolling restart: ${r.restarts!.map((s, i) => `nelm${i + 1} exit ${s.exitCode} ${s.downMs} ms after SIGTERM, its successor in the pool ${s.upMs} ms after it`).join('; ')}`,
  );
}
for (const r of rows.filter((x) => x.samples.length)) console.error(`${r.phase}: ${r.samples.join('\n')}`);
for (const r of rows.filter((x) => x.problems.length)) console.error(`${r.phase}, side work:\n  ${r.problems.join('\n  ')}`);
mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  path.join(ROOT, 'bench', 'results', 'cluster.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rateLimit: RATE_LIMIT, connections: CONNECTIONS, results: rows }, null, 2)}\n`,
);
const bad = rows.filter((r) => r.failures > 0 || r.problems.length > 0 || r.restarts?.some((s) => s.exitCode !== 0));
if (bad.length) {
  console.error(`FAILED: ${bad.map((r) => `${r.phase}: ${r.failures} failed requests, ${r.problems.length} problems of the side work`).join('; ')}`);
  process.exitCode = 1;
}
