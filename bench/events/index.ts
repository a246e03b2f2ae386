/**
 * `npm run bench -- events [--seconds S] [--rounds N] [--connections C]`: what the event log and
 * its webhooks cost the API, and how fast deliveries arrive.
 *
 * One server (`nelm serve`, a child process) on a temporary SQLite file, or on PostgreSQL when
 * DATABASE_URL is a postgres:// URL, with plain-HTTP loopback webhooks allowed; receivers in this
 * process answer 200 to every delivery and check its signature with the `standardwebhooks` package.
 *
 * 1. Throughput: record creates from C connections for S seconds, with no webhook endpoint and with
 *    one endpoint subscribed to `record.*`, alternating for N rounds (the median round of each).
 *    Every create writes its `record.created` event either way: the event log is the audit trail
 *    and is always on; what the second run adds is the webhook consumer and its deliveries.
 *    Target: with ÷ without ≥ 0.85.
 * 2. Latency at 100 events/s: 100 record creates a second for S seconds with one endpoint; the
 *    time from each record's `created` (set before its transaction commits, so an upper bound) to
 *    its delivery's arrival. Target: p50 < 200 ms, p99 < 1 s.
 * 3. 10,000 events to 3 endpoints: a bulk import of 10,000 records (one `record.created` each); the
 *    time from the upload to the last of the 30,000 deliveries. Target: under a minute.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { dropPgSchema, isPostgresUrl, startNelm, type NelmServer } from '../lib/server.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}

const SECONDS = Number(option('seconds') ?? 8);
const ROUNDS = Number(option('rounds') ?? 3);
const CONNECTIONS = Number(option('connections') ?? 10);
const BURST = Number(option('events') ?? 10_000);

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const median = (values: number[]) => percentile(values, 50);

/** A webhook receiver: verifies each delivery and notes when it arrived, by the record it tells of. */
class Receiver {
  readonly arrivals = new Map<string, number>();
  count = 0;
  bad = 0;
  private verifier: Webhook | undefined;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        const payload = this.verifier!.verify(body, req.headers as Record<string, string>) as { data: { target: { id: string } } };
        this.count++;
        if (!this.arrivals.has(payload.data.target.id)) this.arrivals.set(payload.data.target.id, at);
      } catch {
        this.bad++;
      }
      res.writeHead(200).end();
    });
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook`;
  }

  verifyWith(secret: string): void {
    this.verifier = new Webhook(secret);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Creates records from `connections` loops until `until()` says stop; their `created` and ids. */
async function createRecords(server: NelmServer, sourceId: string, prefix: string, connections: number, until: (made: number) => boolean) {
  const made: { id: string; created: number }[] = [];
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const url = new URL(server.baseUrl);
  const one = (accountName: string) =>
    new Promise<{ id: string; created: string }>((resolve, reject) => {
      const body = JSON.stringify({
        accountName,
        firstName: 'Bench',
        lastName: 'Mark',
        email: `${accountName}@example.com`,
        phone: '555',
        manager: 'admin',
        sourceId,
        startDate: '2026-01-01',
        endDate: '2030-01-01',
      });
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/v2024/non-employee-records',
          agent,
          headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) reject(new Error(`create → ${res.statusCode}: ${text}`));
            else resolve(JSON.parse(text));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (!until(made.length)) {
        const record = await one(`${prefix}.${next++}`);
        made.push({ id: record.id, created: Date.parse(record.created) });
      }
    }),
  );
  agent.destroy();
  return made;
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function main(): Promise<void> {
  const pgUrl = isPostgresUrl(process.env.DATABASE_URL) ? process.env.DATABASE_URL : undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-bench-events-'));
  const schema = `bench_events_${process.pid}`;
  const env: Record<string, string> = {
    NELM_WEBHOOK_ALLOW_HTTP: 'true',
    NELM_WEBHOOK_ALLOW_PRIVATE: 'true',
    ...(pgUrl ? { DATABASE_URL: pgUrl, NELM_DATABASE_SCHEMA: schema } : { DATABASE_URL: path.join(dir, 'nelm.sqlite') }),
  };
  const engine = pgUrl ? 'postgres' : 'sqlite';
  const server = await startNelm(env);
  const receivers: Receiver[] = [];
  try {
    const admin = await server.call<{ id: string }[]>('GET', '/admin/v1/identities?limit=1');
    const ownerId = admin[0]!.id;
    // A source per run: one holds at most 20,000 records.
    let sources = 0;
    const newSource = async () =>
      (
        await server.call<{ id: string }>('POST', '/v2024/non-employee-sources', {
          name: `Bench events ${++sources}`,
          description: 'bench',
          owner: { id: ownerId },
        })
      ).id;
    const subscribe = async (events: string[]) => {
      const receiver = new Receiver();
      receivers.push(receiver);
      const url = await receiver.listen();
      const hook = await server.call<{ id: string; secret: string }>('POST', '/admin/v1/webhooks', { url, events });
      receiver.verifyWith(hook.secret);
      return { receiver, hook };
    };
    const enable = (id: string, enabled: boolean) => server.call('PATCH', `/admin/v1/webhooks/${id}`, { enabled });
    let round = 0;

    // 1. Throughput without and with an endpoint.
    const { receiver: one, hook } = await subscribe(['record.*']);
    const rates = { without: [] as number[], with: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of ['without', 'with'] as const) {
        await enable(hook.id, mode === 'with');
        const started = performance.now();
        const end = started + SECONDS * 1000;
        const made = await createRecords(server, await newSource(), `t${round++}`, CONNECTIONS, () => performance.now() >= end);
        rates[mode].push(made.length / ((performance.now() - started) / 1000));
        if (mode === 'with') await waitFor(() => made.every((m) => one.arrivals.has(m.id)), 60_000);
      }
    }
    const ratio = median(rates.with) / median(rates.without);

    // 2. Latency at 100 events/s.
    const paced: { id: string; created: number }[] = [];
    const pacedSource = await newSource();
    const total = 100 * SECONDS;
    const begin = performance.now();
    for (let i = 0; i < total; i++) {
      const due = begin + i * 10;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      void createRecords(server, pacedSource, `l${i}`, 1, (n) => n >= 1).then((m) => paced.push(...m));
    }
    await waitFor(() => paced.length === total && paced.every((m) => one.arrivals.has(m.id)), 60_000);
    const lags = paced.filter((m) => one.arrivals.has(m.id)).map((m) => one.arrivals.get(m.id)! - m.created);

    // 3. A burst of events to three endpoints: a bulk import of BURST records.
    await enable(hook.id, false);
    const three = [await subscribe(['record.*']), await subscribe(['*']), await subscribe(['record.created'])];
    const burstSource = await newSource();
    const header = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate';
    const lines = Array.from({ length: BURST }, (_, i) => `b${i},Bench,Mark,555,b${i}@example.com,admin,2026-01-01,2030-01-01`);
    const form = new FormData();
    form.append('data', new Blob([[header, ...lines].join('\n')], { type: 'text/csv' }), 'burst.csv');
    const burstStart = Date.now();
    const upload = await fetch(`${server.baseUrl}/v2024/non-employee-sources/${burstSource}/non-employee-bulk-upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: form,
    });
    if (upload.status !== 202) throw new Error(`bulk upload → ${upload.status}: ${await upload.text()}`);
    const job = (await upload.json()) as { id: string };
    const known = three.map(({ receiver }) => receiver.arrivals.size);
    let committed = 0;
    const imported = waitFor(() => committed > 0, 300_000);
    void (async () => {
      for (;;) {
        const status = await server.call<{ status: string }>('GET', `/v2024/non-employee-sources/${burstSource}/non-employee-bulk-upload/jobs/${job.id}`);
        if (status.status === 'COMPLETED' || status.status === 'ERROR') {
          committed = Date.now();
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await imported;
    const delivered = await waitFor(() => three.every(({ receiver }, i) => receiver.arrivals.size >= known[i]! + BURST), 300_000);
    const burstEnd = Date.now();

    const bad = receivers.reduce((sum, r) => sum + r.bad, 0);
    const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    console.log(`\nbench events: ${engine}, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds; unverified deliveries: ${bad}\n`);
    console.log('| measure | figure | target | |');
    console.log('|---|---:|---|---|');
    console.log(`| record creates/s, no endpoint (median of ${rates.without.map((r) => r.toFixed(0)).join(', ')}) | ${median(rates.without).toFixed(0)} | | |`);
    console.log(`| record creates/s, one endpoint (median of ${rates.with.map((r) => r.toFixed(0)).join(', ')}) | ${median(rates.with).toFixed(0)} | | |`);
    console.log(`| ratio with ÷ without | ${ratio.toFixed(2)} | ≥ 0.85 | ${pass(ratio >= 0.85)} |`);
    const p50 = percentile(lags, 50);
    const p99 = percentile(lags, 99);
    console.log(`| delivery latency p50 at 100 events/s (${lags.length} of ${total}) | ${p50.toFixed(0)} ms | < 200 ms | ${pass(p50 < 200)} |`);
    console.log(`| delivery latency p99 | ${p99.toFixed(0)} ms | < 1,000 ms | ${pass(p99 < 1000)} |`);
    console.log(`| delivery latency max | ${Math.max(...lags).toFixed(0)} ms | | |`);
    const burstMs = burstEnd - burstStart;
    console.log(
      `| ${BURST} events to 3 endpoints, upload to last delivery${delivered ? '' : ' (not all delivered)'} | ${(burstMs / 1000).toFixed(1)} s | < 60 s | ${pass(delivered && burstMs < 60_000)} |`,
    );
    console.log(`| of which the import, to its commit | ${((committed - burstStart) / 1000).toFixed(1)} s | | |`);
  } finally {
    await server.stop();
    await Promise.all(receivers.map((r) => r.close()));
    rmSync(dir, { recursive: true, force: true });
    if (pgUrl) await dropPgSchema(pgUrl, schema);
  }
}

await main();
