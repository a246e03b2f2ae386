/**
 * `npm run bench -- hostile [--seconds S] [--only kind,…] [--connections 8,16] [--server-args …]`: what hostile
 * callers do to a legitimate one.
 *
 * One server (`nelm serve`, a child process, defaults as shipped except the per-client rate limit,
 * which is off so that the probes measure the server and not the limiter) on a temporary SQLite
 * file, or on PostgreSQL when DATABASE_URL is a postgres:// URL. Two probes in this process, from
 * 127.0.0.1: a record GET sent 20 ms after the answer to the previous one, on a keep-alive
 * connection, and a token request of another API client every 250 ms. After the probes have
 * warmed the server for S seconds, for each attack and each number of attacking connections: the probes
 * alone for S seconds (the baseline), then the probes during the attack for S seconds
 * (attacker.ts, a process of its own, every connection from its own loopback address; the probes
 * begin once it has started and built its requests). Each quiet phase waits for the bulk jobs an
 * earlier attack left to finish. The server's resident memory is sampled every 50 ms; its peak
 * during each attack is reported. Prints one table; writes it to bench/results/hostile-<engine>.json
 * too.
 *
 * Targets: during any attack a legitimate GET's p99 ≤ 5 × its p99 without one and < 250 ms; a
 * legitimate token request < 1 s (its slowest).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BENCH_ADMIN, dropPgSchema, isPostgresUrl, ROOT, startNelm, type NelmServer } from '../lib/server.js';
import { memoryOf } from '../bulk/server.js';
import { csvFile } from '../bulk/data.js';
import type { AttackKind, AttackPlan } from './attacker.js';

const ATTACKS: { kind: AttackKind; what: string }[] = [
  { kind: 'token-body', what: '1 MiB form bodies to /oauth/token' },
  { kind: 'nested-json', what: '1 MiB of nested arrays to POST records, by an identity without the right' },
  { kind: 'unknown-kid', what: 'tokens naming unknown signing keys' },
  { kind: 'wrong-secret', what: 'wrong secrets for the admin client' },
  { kind: 'csv-commas', what: '16 MiB CSV uploads of one row of 16 M commas' },
  { kind: 'upload-flood', what: 'valid 20,000-row CSV uploads to one source' },
];

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}

const SECONDS = Number(option('seconds') ?? 8);
const ONLY = option('only')?.split(',');
const LEVELS = (option('connections') ?? '8,16').split(',').map(Number);
/** More node flags for the server (`--server-args "--cpu-prof --cpu-prof-dir=/tmp/p"`, to profile it). */
const SERVER_NODE_ARGS = option('server-args')?.split(' ').filter(Boolean) ?? [];
const GET_EVERY_MS = 20;
const TOKEN_EVERY_MS = 250;

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

function timed(
  url: URL,
  agent: http.Agent,
  method: string,
  pathname: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: pathname, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface ProbeResult {
  gets: number[];
  tokens: number[];
  /** Answers that were not 200. */
  failures: number;
}

/** Runs both probes for `seconds`. */
async function probe(server: NelmServer, recordId: string, client: { clientId: string; clientSecret: string }, seconds: number): Promise<ProbeResult> {
  const url = new URL(server.baseUrl);
  const result: ProbeResult = { gets: [], tokens: [], failures: 0 };
  const until = performance.now() + seconds * 1000;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const getAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const tokenAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...{ client_id: client.clientId, client_secret: client.clientSecret } }).toString();
  await Promise.all([
    (async () => {
      while (performance.now() < until) {
        const { ms, status } = await timed(url, getAgent, 'GET', `/v2024/non-employee-records/${recordId}`, { authorization: `Bearer ${server.token}` });
        result.gets.push(ms);
        if (status !== 200) result.failures++;
        await pause(GET_EVERY_MS);
      }
    })(),
    (async () => {
      while (performance.now() < until) {
        const { ms, status } = await timed(url, tokenAgent, 'POST', '/oauth/token', { 'content-type': 'application/x-www-form-urlencoded' }, form);
        result.tokens.push(ms);
        if (status !== 200) result.failures++;
        await pause(TOKEN_EVERY_MS);
      }
    })(),
  ]);
  getAgent.destroy();
  tokenAgent.destroy();
  return result;
}

interface AttackOutcome {
  sent: number;
  statuses: Record<string, number>;
  errors: number;
}

/**
 * Starts the attacker process: `ready` resolves once it has started and built its requests (its
 * first line, "ready"), when the attack begins; `done` with what it counted.
 */
function attack(plan: AttackPlan): { ready: Promise<void>; done: Promise<AttackOutcome> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'hostile', 'attacker.ts')], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  let signalReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    signalReady = resolve;
  });
  child.stdout.on('data', (chunk) => {
    out += chunk;
    if (out.includes('\n')) signalReady();
  });
  const done = new Promise<AttackOutcome>((resolve, reject) => {
    child.on('exit', (code) => {
      signalReady();
      if (code === 0) resolve(JSON.parse(out.slice(out.indexOf('\n') + 1)));
      else reject(new Error(`attacker exited ${code}`));
    });
  });
  child.stdin.end(JSON.stringify(plan));
  return { ready, done };
}

/**
 * Waits until no bulk job of the source is pending or running (at most `timeoutMs`): the jobs an
 * upload attack left queued would otherwise run during the next quiet phase.
 */
async function jobsSettled(server: NelmServer, sourceId: string, timeoutMs = 180_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const jobs = await server.call<{ status: string }[]>('GET', `/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload/jobs?limit=250`);
    if (!jobs.some((j) => j.status === 'PENDING' || j.status === 'IN_PROGRESS')) return;
    if (Date.now() > until) throw new Error(`bulk jobs of the attacked source still unfinished after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function sampleMemory(pid: number): () => number {
  let peak = memoryOf(pid).rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, memoryOf(pid).rss);
  }, 50);
  return () => {
    clearInterval(timer);
    return Math.max(peak, memoryOf(pid).rss);
  };
}

async function main() {
  const pg = isPostgresUrl(process.env.DATABASE_URL) ? process.env.DATABASE_URL : undefined;
  const schema = `bench_hostile_${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-hostile-'));
  const env: Record<string, string> = pg ? { DATABASE_URL: pg, NELM_DATABASE_SCHEMA: schema } : { DATABASE_URL: path.join(dir, 'nelm.sqlite') };
  // The shipped secret hash cost and authentication locks; tokens of an hour.
  const server = await startNelm({ ...env, NELM_SECRET_HASH_COST: '15' }, SERVER_NODE_ARGS);
  try {
    const admin = ((await server.call('GET', '/admin/v1/identities?limit=250')) as { id: string; alias: string }[]).find((i) => i.alias === 'admin')!;
    const source = await server.call<{ id: string }>('POST', '/v2024/non-employee-sources', {
      name: 'Probed',
      description: 'hostile bench',
      owner: { id: admin.id },
    });
    const target = await server.call<{ id: string }>('POST', '/v2024/non-employee-sources', {
      name: 'Attacked',
      description: 'hostile bench',
      owner: { id: admin.id },
    });
    for (let i = 1; i <= 10; i++) {
      const technicalName = `attr${String(i).padStart(2, '0')}`;
      await server.call('POST', `/v2024/non-employee-sources/${target.id}/schema-attributes`, { type: 'TEXT', label: technicalName, technicalName });
    }
    const record = await server.call<{ id: string }>('POST', '/v2024/non-employee-records', {
      accountName: 'probe',
      firstName: 'Probe',
      lastName: 'Reader',
      email: 'probe@example.com',
      phone: '5125550100',
      manager: 'admin',
      sourceId: source.id,
      startDate: '2026-01-01T00:00:00Z',
      // Far ahead: the probe's record must not expire (and be acted on) during a run.
      endDate: '2096-01-01T00:00:00Z',
    });
    const legit = await server.call<{ clientId: string; clientSecret: string }>('POST', `/admin/v1/identities/${admin.id}/clients`);
    const attacker = await server.call<{ id: string }>('POST', '/admin/v1/identities', { alias: 'attacker', name: 'Attacker', rights: ['idn:nesr:create'] });
    const attackerClient = await server.call<{ clientId: string; clientSecret: string }>('POST', `/admin/v1/identities/${attacker.id}/clients`);
    const attackerToken = (
      (await (
        await fetch(`${server.baseUrl}/oauth/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: attackerClient.clientId, client_secret: attackerClient.clientSecret }),
        })
      ).json()) as { access_token: string }
    ).access_token;
    const csv = csvFile(20_000, 'admin').toString();

    // Warm the server for a phase's length, so that the first quiet phase, which follows no
    // attack, measures a server as warm as the quiet phases after one.
    await probe(server, record.id, legit, SECONDS);
    const rows: Record<string, unknown>[] = [];
    let block = 1;
    for (const { kind, what } of ATTACKS.filter((a) => !ONLY || ONLY.includes(a.kind))) {
      for (const connections of LEVELS) {
        await jobsSettled(server, target.id);
        const quiet = await probe(server, record.id, legit, SECONDS);
        const peak = sampleMemory(server.pid);
        const plan: AttackPlan = {
          baseUrl: server.baseUrl,
          kind,
          connections,
          seconds: SECONDS,
          block: block++,
          token: attackerToken,
          adminClientId: BENCH_ADMIN.clientId,
          sourceId: target.id,
          recordId: record.id,
          ...(kind === 'upload-flood' ? { csv } : {}),
        };
        const attacker = attack(plan);
        await attacker.ready;
        const [attacked, outcome] = await Promise.all([probe(server, record.id, legit, SECONDS), attacker.done]);
        const peakMiB = peak() / 1024 / 1024;
        const row = {
          attack: kind,
          what,
          connections,
          getP99QuietMs: percentile(quiet.gets, 99),
          getP99Ms: percentile(attacked.gets, 99),
          getRatio: percentile(attacked.gets, 99) / percentile(quiet.gets, 99),
          gets: attacked.gets.length,
          tokenMaxQuietMs: Math.max(...quiet.tokens),
          tokenMaxMs: Math.max(...attacked.tokens),
          tokens: attacked.tokens.length,
          probeFailures: attacked.failures,
          peakRssMiB: peakMiB,
          attackSent: outcome.sent,
          attackAnswers: outcome.statuses,
          attackConnectionErrors: outcome.errors,
        };
        rows.push(row);
        console.log(JSON.stringify(row));
        // Let queued work (bulk jobs) settle before the next baseline.
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
    const engine = pg ? 'postgres' : 'sqlite';
    const fixed = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '–');
    const lines = [
      `hostile callers, ${engine}, ${SECONDS} s per phase; GET p99 and token max in ms; ratio = GET p99 attacked / quiet`,
      '',
      '| attack | conns | GET p99 quiet | GET p99 attacked | ratio | token max quiet | token max attacked | peak RSS MiB | attack answers | verdict |',
      '|---|---|---|---|---|---|---|---|---|---|',
    ];
    let failed = 0;
    for (const r of rows as {
      attack: string;
      connections: number;
      getP99QuietMs: number;
      getP99Ms: number;
      getRatio: number;
      tokenMaxQuietMs: number;
      tokenMaxMs: number;
      peakRssMiB: number;
      probeFailures: number;
      attackAnswers: Record<string, number>;
    }[]) {
      const ok = r.getRatio <= 5 && r.getP99Ms < 250 && r.tokenMaxMs < 1000 && r.probeFailures === 0;
      if (!ok) failed++;
      const answers = Object.entries(r.attackAnswers)
        .map(([status, n]) => `${status}×${n}`)
        .join(' ');
      lines.push(
        `| ${r.attack} | ${r.connections} | ${fixed(r.getP99QuietMs, 1)} | ${fixed(r.getP99Ms, 1)} | ${fixed(r.getRatio, 2)} | ${fixed(r.tokenMaxQuietMs)} | ${fixed(r.tokenMaxMs)} | ${fixed(r.peakRssMiB)} | ${answers} | ${ok ? 'met' : 'MISSED'} |`,
      );
    }
    console.log(`\n${lines.join('\n')}\n\n${failed === 0 ? 'every target met' : `${failed} rows missed a target`}`);
    mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(path.join(ROOT, 'bench', 'results', `hostile-${engine}.json`), `${JSON.stringify(rows, null, 2)}\n`);
  } finally {
    await server.stop();
    if (pg) await dropPgSchema(pg, schema);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
