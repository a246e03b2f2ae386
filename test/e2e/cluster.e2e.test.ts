/**
 * Three `nelm serve` processes (the built `bin/nelm.js`) on one PostgreSQL schema behind a real
 * HAProxy (bench/lib/cluster.ts; docs/operations.md, "Several processes behind HAProxy"), under
 * the mixed load of `bench/load` (bench/load/driver.ts) with bulk imports, approvals, webhooks
 * and expiries under way, while the three are restarted one after the other. Nothing may fail:
 * every answer of the load is a 2xx; each bulk job completes once with its rows once; each event
 * reaches each webhook endpoint once (by `webhook-id`), every one of them; each record expires
 * once; and a client firing past the per-client rate limit gets its limit once across the three
 * processes, not three times. PostgreSQL only: a SQLite file has one server process.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Cluster, HAPROXY } from '../../bench/lib/cluster.js';
import { apiCaller } from '../../bench/lib/server.js';
import { type DriverResult, runLoad } from '../../bench/load/driver.js';
import { seed } from '../../bench/load/seed.js';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';
import { fetchToken } from '../helpers/server.js';
import { type Receiver, sleep, startReceiver, until } from '../helpers/webhooks.js';

const ADMIN = { clientId: 'cluster-admin', clientSecret: 'cluster-admin-secret-0123456789' };
/** The per-client rate limit: each load client stays well under it, the probe goes past it. */
const LIMIT = 600;
const CONNECTIONS = 12;
/** A load connection starts a call at most every PACE_MS: at most 300 calls per window per client. */
const PACE_MS = 100;
const EXPIRING = 20;
const BULK_ROWS = 300;

const config = PG_URL ? testConfig() : undefined;
let cluster: Cluster | undefined;
let receiver: Receiver | undefined;

after(async () => {
  await cluster?.stop();
  await receiver?.close();
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
      NELM_LIFECYCLE_SWEEP_SECONDS: '1',
      NELM_WEBHOOK_ALLOW_HTTP: 'true',
      NELM_WEBHOOK_ALLOW_PRIVATE: 'true',
      NELM_WEBHOOK_TIMEOUT: '5',
    },
  });
  const base = cluster.url;
  phase(`three processes up behind HAProxy at ${base}`);

  const tokenOf = (clientId: string, clientSecret: string) => fetchToken(base, clientId, clientSecret);
  const adminToken = await tokenOf(ADMIN.clientId, ADMIN.clientSecret);
  const call = apiCaller(base, adminToken);
  const clientOf = async (identityId: string) => {
    const client = await call<{ clientId: string; clientSecret: string }>('POST', `/admin/v1/identities/${identityId}/clients`);
    return tokenOf(client.clientId, client.clientSecret);
  };
  /** Every audit event of `types`, oldest first. */
  const auditEvents = async (types: string[]) => {
    const filters = encodeURIComponent(`type in (${types.map((t) => `"${t}"`).join(', ')})`);
    const out: { id: string; type: string; target: { id: string } }[] = [];
    for (let offset = 0; ; offset += 250) {
      const page = await call<typeof out>('GET', `/admin/v1/audit-events?filters=${filters}&limit=250&offset=${offset}`);
      out.push(...page);
      if (page.length < 250) return out;
    }
  };

  // Two webhook endpoints on one receiver, registered before anything else happens.
  // The lifecycle endpoint answers slowly: a restart is likely to catch a request of it in flight.
  receiver = await startReceiver((got) => ({ status: 200, delayMs: got.path.endsWith('/lifecycle') ? 300 : 20 }));
  const endpoints = {
    lifecycle: ['record.expired', 'record.expiring'],
    approvals: ['approval.approved', 'request.approved', 'bulk_job.completed', 'bulk_job.failed'],
  };
  for (const [name, events] of Object.entries(endpoints)) await call('POST', '/admin/v1/webhooks', { url: `${receiver.url}/${name}`, events });

  // The load's seed, its clients (one admin and one approver client per connection), and the
  // sources of the imports and of the expiring records.
  const seeded = await seed({ baseUrl: base, token: adminToken, call }, { sources: 3, records: 100 });
  const clients = [];
  for (let i = 0; i < CONNECTIONS; i++) clients.push({ token: await clientOf(seeded.adminId), approverToken: await clientOf(seeded.approverId) });
  const bulkSource = await call<{ id: string }>('POST', '/v2024/non-employee-sources', { name: 'imports', description: '', owner: { id: seeded.adminId } });
  const expiringSource = await call<{ id: string }>('POST', '/v2024/non-employee-sources', {
    name: 'expiring',
    description: '',
    owner: { id: seeded.adminId },
  });
  const person = (accountName: string, endDate: string) => ({
    accountName,
    firstName: 'Short',
    lastName: 'Lived',
    email: `${accountName}@example.com`,
    phone: '555',
    manager: 'admin',
    sourceId: expiringSource.id,
    startDate: '2024-01-01T00:00:00Z',
    endDate,
  });
  // End dates spread over the load, so that records expire while processes restart.
  const loadBegins = Date.now() + 1000;
  const expiring: string[] = [];
  for (let i = 0; i < EXPIRING; i++) {
    const end = new Date(loadBegins + 4000 + i * 700).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expiring.push((await call<{ id: string }>('POST', '/v2024/non-employee-records', person(`expiring.${i}`, end))).id);
  }
  phase('seeded');

  const failures: string[] = [];
  const upload = async (n: number) => {
    const rows = Array.from({ length: BULK_ROWS }, (_, i) => `bulk${n}.${i},A,B,1,bulk${n}.${i}@example.com,admin,2024-01-01,2030-01-01`);
    const form = new FormData();
    form.append(
      'data',
      new Blob([['accountName,firstName,lastName,phone,email,manager,startDate,endDate', ...rows].join('\n')], { type: 'text/csv' }),
      'rows.csv',
    );
    const res = await fetch(`${base}/v2024/non-employee-sources/${bulkSource.id}/non-employee-bulk-upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
      body: form,
    });
    if (res.status !== 202) failures.push(`bulk upload ${n} → ${res.status}: ${await res.text()}`);
    return res.status === 202 ? ((await res.json()) as { id: string }).id : undefined;
  };

  /** A client of its own firing twice the limit, 20 at a time: only 200s and 429s. */
  const probe = async () => {
    const token = await clientOf(seeded.adminId);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 2 * LIMIT) {
          next++;
          try {
            const res = await fetch(`${base}/v2024/non-employee-sources?limit=1`, { headers: { authorization: `Bearer ${token}` } });
            await res.arrayBuffer();
            statuses.push(res.status);
            if (res.status === 429) retryAfter = res.headers.get('retry-after');
          } catch (error) {
            failures.push(`rate-limit probe: ${String(error)}`);
          }
        }
      }),
    );
    return {
      ok: statuses.filter((s) => s === 200).length,
      limited: statuses.filter((s) => s === 429).length,
      other: statuses.filter((s) => s !== 200 && s !== 429),
      retryAfter,
    };
  };

  // The load, with two imports, the probe and the rolling restart during it.
  await sleep(Math.max(0, loadBegins - Date.now()));
  const stop = new AbortController();
  const load: Promise<DriverResult> = runLoad(
    { ...seeded, clients, connections: CONNECTIONS, seconds: 90, paceMs: PACE_MS, prefix: `c${randomBytes(3).toString('hex')}` },
    stop.signal,
  );
  const jobs = [upload(1)];
  const probed = sleep(1500).then(probe);
  await sleep(3000);
  phase('load under way; rolling restart');
  const restarts = [];
  for (let i = 0; i < cluster.size; i++) {
    if (i === 1) jobs.push(upload(2));
    const step = await cluster.restart(i);
    restarts.push(step);
    phase(`nelm${i + 1} restarted: exit ${step.exitCode}, down after ${step.downMs} ms, up again after ${step.upMs} ms`);
  }
  await sleep(2000);
  stop.abort();
  const result = await load;
  const { ok, limited, other, retryAfter } = await probed;
  phase(`load done: ${result.requests} requests in ${result.seconds.toFixed(1)} s, ${result.errors} failed; probe ${ok} × 200, ${limited} × 429`);

  assert.deepEqual(
    restarts.map((r) => r.exitCode),
    [0, 0, 0],
    'each process stopped cleanly',
  );
  assert.equal(result.errors, 0, `failed requests:\n${result.samples.join('\n')}`);
  assert.deepEqual(failures, []);
  assert.ok(result.requests > 100, `a load: ${result.requests} requests`);
  for (const op of ['list', 'get', 'create', 'patch', 'request', 'approve']) assert.ok(result.ops[op]?.count, `some ${op} calls`);

  // The rate limit holds across the three processes: the limit, not three times it.
  assert.deepEqual(other, [], 'the probe got only 200s and 429s');
  assert.ok(ok >= LIMIT && ok <= LIMIT * 1.05, `${ok} requests of one client passed a limit of ${LIMIT} (three processes counting apart would pass them all)`);
  assert.equal(ok + limited, 2 * LIMIT);
  assert.ok(Number(retryAfter) > 0, `Retry-After: ${retryAfter}`);

  // Each bulk job completed once, its rows there once.
  const jobIds = (await Promise.all(jobs)).filter((id): id is string => id !== undefined);
  assert.equal(jobIds.length, 2);
  for (const id of jobIds) {
    await until(
      `bulk job ${id} to finish`,
      async () => {
        const job = await call<{ status: string }>('GET', `/v2024/non-employee-sources/${bulkSource.id}/non-employee-bulk-upload/jobs/${id}`);
        return job.status === 'COMPLETED' || job.status === 'ERROR' ? job : undefined;
      },
      60_000,
    ).then((job) => assert.equal(job.status, 'COMPLETED', `job ${id}`));
  }
  const jobEvents = await auditEvents(['bulk_job.completed', 'bulk_job.failed']);
  for (const id of jobIds) {
    assert.deepEqual(
      jobEvents.filter((e) => e.target.id === id).map((e) => e.type),
      ['bulk_job.completed'],
      `job ${id} ended once`,
    );
  }
  const imported: string[] = [];
  for (let offset = 0; ; offset += 250) {
    const page = await call<{ accountName: string }[]>(
      'GET',
      `/v2024/non-employee-records?limit=250&offset=${offset}&filters=${encodeURIComponent(`sourceId eq "${bulkSource.id}"`)}`,
    );
    imported.push(...page.map((r) => r.accountName));
    if (page.length < 250) break;
  }
  assert.equal(imported.length, 2 * BULK_ROWS, 'every row once');
  assert.equal(new Set(imported).size, 2 * BULK_ROWS);

  // Each record expired once.
  const lastEnd = loadBegins + 4000 + EXPIRING * 700;
  const expired = await until(
    'every expiry',
    async () => {
      const events = await auditEvents(['record.expired']);
      return events.filter((e) => expiring.includes(e.target.id)).length >= EXPIRING && events;
    },
    Math.max(10_000, lastEnd + 10_000 - Date.now()),
  );
  assert.deepEqual(expired.map((e) => e.target.id).sort(), [...expiring].sort(), 'each record expired once');

  // Each event of an endpoint's types reached it, once.
  const expected = Object.fromEntries(
    await Promise.all(Object.entries(endpoints).map(async ([name, types]) => [name, (await auditEvents(types)).map((e) => e.id)])),
  );
  const receivedBy = (name: string) => receiver!.received.filter((r) => r.path === `/hook/${name}`).map((r) => r.id);
  await until('every delivery', () => Object.keys(endpoints).every((name) => expected[name]!.every((id: string) => receivedBy(name).includes(id))), 60_000);
  await sleep(1500);
  for (const name of Object.keys(endpoints)) {
    const got = receivedBy(name);
    const twice = got.filter((id, i) => got.indexOf(id) !== i);
    assert.deepEqual(twice, [], `${name}: no event twice`);
    assert.deepEqual([...got].sort(), [...expected[name]!].sort(), `${name}: the events of its types, each once`);
  }
  phase(`checked: ${expected.lifecycle!.length} + ${expected.approvals!.length} deliveries, ${jobIds.length} imports, ${EXPIRING} expiries`);
});
