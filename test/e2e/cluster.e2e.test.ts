/**
 * Three `nelm serve` processes (the built `bin/nelm.js`) on one PostgreSQL schema behind a real
 * HAProxy (bench/lib/cluster.ts; docs/operations.md, "Several processes behind HAProxy"), under
 * the mixed load of `bench/load` (bench/load/driver.ts) with bulk imports, approvals, webhooks
 * and expiries under way (bench/lib/cluster-work.ts, which `npm run bench -- cluster` runs too),
 * while the three are restarted one after the other. Nothing may fail: every answer of the load is
 * a 2xx; each bulk job completes once with its rows once; each event reaches each webhook endpoint
 * once (by `webhook-id`), every one of them; each record expires once; and a client firing past
 * the per-client rate limit gets its limit once across the three processes, not three times.
 * PostgreSQL only: a SQLite file has one server process.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Cluster, HAPROXY } from '../../bench/lib/cluster.js';
import { clientToken, probeProblems, SIDE_WORK_ENV, SideWork } from '../../bench/lib/cluster-work.js';
import { apiCaller } from '../../bench/lib/server.js';
import { type DriverResult, runLoad } from '../../bench/load/driver.js';
import { seed } from '../../bench/load/seed.js';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';
import { fetchToken } from '../helpers/server.js';
import { sleep } from '../helpers/webhooks.js';

const ADMIN = { clientId: 'cluster-admin', clientSecret: 'cluster-admin-secret-0123456789' };
/** The per-client rate limit: each load client stays well under it, the probe goes past it. */
const LIMIT = 600;
const CONNECTIONS = 12;
/** A load connection starts a call at most every PACE_MS: at most 300 calls per window per client. */
const PACE_MS = 100;
const EXPIRING = 20;

const config = PG_URL ? testConfig() : undefined;
let cluster: Cluster | undefined;
let work: SideWork | undefined;

after(async () => {
  await cluster?.stop();
  await work?.close();
  if (config) await dropSchema(config);
});

const skip = !PG_URL ? 'PostgreSQL only: a SQLite file has one server process' : !existsSync(HAPROXY) ? `HAProxy is not installed (${HAPROXY})` : false;

test('three processes behind HAProxy: mixed load and a rolling restart, nothing failed, lost or done twice', { skip, timeout: 240_000 }, async () => {
  const startedAt = Date.now();
  const phase = (what: string) => console.log(`# ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${what}`);
  cluster = await Cluster.start({
    processes: 3,
    command: CLI,
    env: {
      DATABASE_URL: config!.databaseUrl,
      NELM_DATABASE_SCHEMA: config!.databaseSchema!,
      NELM_ADMIN_CLIENT_ID: ADMIN.clientId,
      NELM_ADMIN_CLIENT_SECRET: ADMIN.clientSecret,
      NELM_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      NELM_SECRET_HASH_COST: '10',
      NELM_LOG_LEVEL: 'warn',
      NELM_TOKEN_TTL: '3600',
      NELM_RATE_LIMIT: `${LIMIT}/30s`,
      NELM_TRUST_PROXY: '127.0.0.1',
      NELM_SHUTDOWN_DRAIN: '1',
      NELM_SHUTDOWN_TIMEOUT: '20',
      ...SIDE_WORK_ENV,
    },
  });
  const base = cluster.url;
  phase(`three processes up behind HAProxy at ${base}`);

  const adminToken = await fetchToken(base, ADMIN.clientId, ADMIN.clientSecret);
  const api = { baseUrl: base, token: adminToken, call: apiCaller(base, adminToken) };

  // The webhook endpoints and the sources of the side work, before anything else happens; the
  // load's seed and its clients (one admin and one approver client per connection); the records
  // that expire, their end dates spread over the load, so that they expire while processes restart.
  work = await SideWork.start(api);
  const seeded = await seed(api, { sources: 3, records: 100 });
  const clients = [];
  for (let i = 0; i < CONNECTIONS; i++)
    clients.push({ token: await clientToken(api, seeded.adminId), approverToken: await clientToken(api, seeded.approverId) });
  const loadBegins = Date.now() + 1000;
  await work.expireDuring(loadBegins, { count: EXPIRING, fromMs: 4000, toMs: 4000 + (EXPIRING - 1) * 700 });
  phase('seeded');

  // The load, with two imports, the probe and the rolling restart during it.
  await sleep(Math.max(0, loadBegins - Date.now()));
  const stop = new AbortController();
  const load: Promise<DriverResult> = runLoad(
    { ...seeded, clients, connections: CONNECTIONS, seconds: 90, paceMs: PACE_MS, prefix: `c${randomBytes(3).toString('hex')}` },
    stop.signal,
  );
  const side = work.during(loadBegins, { uploadsAtMs: [0], probe: { atMs: 1500, limit: LIMIT } });
  await sleep(3000);
  phase('load under way; rolling restart');
  const restarts = [];
  for (let i = 0; i < cluster.size; i++) {
    if (i === 1) void work.upload();
    const step = await cluster.restart(i);
    restarts.push(step);
    phase(`nelm${i + 1} restarted: exit ${step.exitCode}, down after ${step.downMs} ms, up again after ${step.upMs} ms`);
  }
  await sleep(2000);
  stop.abort();
  const result = await load;
  const probe = (await side)!;
  phase(`load done: ${result.requests} requests in ${result.seconds.toFixed(1)} s, ${result.errors} failed; probe ${probe.ok} × 200, ${probe.limited} × 429`);

  assert.deepEqual(
    restarts.map((r) => r.exitCode),
    [0, 0, 0],
    'each process stopped cleanly',
  );
  assert.equal(result.errors, 0, `failed requests:\n${result.samples.join('\n')}`);
  assert.ok(result.requests > 100, `a load: ${result.requests} requests`);
  for (const op of ['list', 'get', 'create', 'patch', 'request', 'approve']) assert.ok(result.ops[op]?.count, `some ${op} calls`);

  // The rate limit holds across the three processes: the limit, not three times it.
  assert.deepEqual(probeProblems(probe), []);

  // Each bulk job completed once with its rows once, each record expired once, each event of an
  // endpoint's types reached it once.
  const checked = await work.check();
  assert.deepEqual(checked.problems, []);
  assert.equal(checked.imports, 2);
  phase(`checked: ${checked.deliveries.lifecycle} + ${checked.deliveries.approvals} deliveries, ${checked.imports} imports, ${checked.expiries} expiries`);
});
