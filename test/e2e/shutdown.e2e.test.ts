/**
 * Stopping the real `nelm serve` process (docs/operations.md, "Stopping"): SIGTERM turns
 * readiness to 503 first, answers the request in flight, gives back a bulk job it had claimed so
 * that the next process takes it at once, and exits within NELM_SHUTDOWN_TIMEOUT (past it: 1).
 * Both engines: SQLite by default, PostgreSQL when DATABASE_URL says so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';
import { openDatabase } from '../../src/db/open.js';
import type { Config } from '../../src/config/config.js';

const ADMIN_ID = 'stop-admin';
const ADMIN_SECRET = 'stop-admin-secret-0123456789';
const SYSTEM = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

interface Running {
  child: ChildProcess;
  base: string;
  /** Everything the process wrote to stdout (its JSON log lines). */
  output: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

describe('stopping nelm serve', () => {
  let dir: string;
  let dbConfig: Config;
  const running: ChildProcess[] = [];

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-stop-'));
  });
  after(async () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dbConfig) await dropSchema(dbConfig);
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (name: string, env: Record<string, string> = {}): Promise<Running> => {
    dbConfig ??= testConfig({}, { DATABASE_URL: PG_URL ?? path.join(dir, 'stop.sqlite') });
    const port = await freePort();
    const child = spawn(process.execPath, [...CLI, 'serve'], {
      env: {
        ...process.env,
        DATABASE_URL: dbConfig.databaseUrl,
        ...(dbConfig.databaseSchema ? { NELM_DATABASE_SCHEMA: dbConfig.databaseSchema } : {}),
        PORT: String(port),
        HOST: '127.0.0.1',
        NELM_ADMIN_CLIENT_ID: ADMIN_ID,
        NELM_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
        NELM_SECRET_HASH_COST: '10',
        NELM_RATE_LIMIT: 'off',
        NELM_LOG_LEVEL: 'info',
        ...env,
      },
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    running.push(child);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 400; i++) {
      const ready = await fetch(`${base}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return { child, base, output: () => out, exited };
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${name} did not become ready:\n${out}`);
  };

  const token = async (base: string) => {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN_ID, client_secret: ADMIN_SECRET });
    const response = await fetch(`${base}/oauth/token`, { method: 'POST', body });
    assert.equal(response.status, 200);
    return ((await response.json()) as { access_token: string }).access_token;
  };

  test('SIGTERM: readiness 503 while draining, the request in flight answered, exit 0 within the bound', async () => {
    const server = await start('drained', { NELM_SHUTDOWN_DRAIN: '3', NELM_SHUTDOWN_TIMEOUT: '15' });
    const { port } = new URL(server.base);
    // A token request whose body arrives in two parts, the second after the signal.
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN_ID, client_secret: ADMIN_SECRET }).toString();
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.write(
      `POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    const signalled = Date.now();
    server.child.kill('SIGTERM');

    // Draining: still listening, not ready; alive.
    let ready = await fetch(`${server.base}/health/ready`);
    for (let t = 0; ready.status === 200 && t < 100; t++) {
      await new Promise((r) => setTimeout(r, 20));
      ready = await fetch(`${server.base}/health/ready`);
    }
    assert.equal(ready.status, 503);
    const why = (await ready.json()) as { status: string; failed: string[] };
    assert.deepEqual(why.failed, ['shutdown']);
    assert.equal((await fetch(`${server.base}/health/live`)).status, 200);
    // Every answer now ends its connection: a load balancer's next request opens a new one.
    const kept = connect(Number(port), '127.0.0.1');
    let liveAnswer = '';
    kept.on('data', (chunk) => {
      liveAnswer += chunk.toString();
    });
    const keptClosed = new Promise((resolve) => kept.once('close', resolve));
    kept.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    await keptClosed;
    assert.match(liveAnswer, /^HTTP\/1\.1 200 /);
    assert.match(liveAnswer, /\r\nconnection: close\r\n/i);

    // After the drain delay the listener closes; the request in flight is still answered.
    let listening = true;
    for (let t = 0; listening && t < 200; t++) {
      await new Promise((r) => setTimeout(r, 50));
      listening = await fetch(`${server.base}/health/live`).then(
        () => true,
        () => false,
      );
    }
    assert.equal(listening, false, 'no new connection after the drain');
    assert.ok(Date.now() - signalled >= 2900, 'not before the drain delay');
    socket.write(body.slice(10));
    await ended;
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /"access_token":"/);

    const { code, at } = await server.exited;
    assert.equal(code, 0);
    assert.ok(at - signalled < 15_000, `exited ${at - signalled} ms after the signal`);
    assert.match(server.output(), /stopping: readiness answers 503/);
    assert.match(server.output(), /"msg":"stopped"/);
  });

  test('past NELM_SHUTDOWN_TIMEOUT the process exits 1 saying so', async () => {
    const server = await start('overdue', { NELM_SHUTDOWN_TIMEOUT: '1' });
    const { port } = new URL(server.base);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => undefined);
    // A body that never comes: the request stays in flight.
    socket.write('POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant');
    await new Promise((r) => setTimeout(r, 200));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const { code, at } = await server.exited;
    socket.destroy();
    assert.equal(code, 1);
    assert.ok(at - signalled >= 900 && at - signalled < 8000, `exited ${at - signalled} ms after the signal`);
    assert.match(server.output(), /stopping took longer than NELM_SHUTDOWN_TIMEOUT \(1 s\): exiting now/);
  });

  test('a bulk job claimed at SIGTERM is given back and the next process completes it at once', async () => {
    const first = await start('first', { NELM_SHUTDOWN_TIMEOUT: '20' });
    const bearer = await token(first.base);
    const headers = { authorization: `Bearer ${bearer}` };
    const identities = (await (await fetch(`${first.base}/admin/v1/identities`, { headers })).json()) as { id: string; alias: string }[];
    const owner = identities.find((i) => i.alias === 'admin')!;
    const created = await fetch(`${first.base}/v2024/non-employee-sources`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'stopped', description: '', owner: { id: owner.id } }),
    });
    assert.equal(created.status, 200);
    const source = (await created.json()) as { id: string };
    const rows = Array.from({ length: 20_000 }, (_, i) => `s${i},A,B,1,s${i}@example.com,admin,2024-01-01,2030-02-01`);
    const form = new FormData();
    form.append('data', new Blob([[SYSTEM, ...rows].join('\n')], { type: 'text/csv' }), 'records.csv');
    const uploaded = await fetch(`${first.base}/v2024/non-employee-sources/${source.id}/non-employee-bulk-upload`, { method: 'POST', headers, body: form });
    assert.equal(uploaded.status, 202);
    const job = (await uploaded.json()) as { id: string };
    const status = async (base: string, auth: Record<string, string>) =>
      ((await (await fetch(`${base}/v2024/non-employee-sources/${source.id}/non-employee-bulk-upload/status`, { headers: auth })).json()) as { status: string })
        .status;
    while ((await status(first.base, headers)) === 'PENDING') await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGTERM');
    const { code } = await first.exited;
    assert.equal(code, 0);

    const db = await openDatabase(dbConfig);
    try {
      const left = await db.kysely
        .selectFrom('bulk_jobs')
        .select(['status', 'claimed_by', 'lease_until', 'attempts'])
        .where('id', '=', job.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        { ...left, attempts: Number(left.attempts) },
        { status: 'IN_PROGRESS', claimed_by: null, lease_until: null, attempts: 0 },
        'given back, the attempt not counted',
      );
    } finally {
      await db.close();
    }

    // The next process claims it at once (a claim left to run out would wait 30 s), and completes it.
    const second = await start('second');
    const began = Date.now();
    const claimedBy = async () => {
      const check = await openDatabase(dbConfig);
      try {
        return await check.kysely.selectFrom('bulk_jobs').select(['claimed_by', 'status']).where('id', '=', job.id).executeTakeFirstOrThrow();
      } finally {
        await check.close();
      }
    };
    let row = await claimedBy();
    while (row.claimed_by === null && row.status === 'IN_PROGRESS' && Date.now() - began < 10_000) {
      await new Promise((r) => setTimeout(r, 100));
      row = await claimedBy();
    }
    assert.ok(row.claimed_by !== null || row.status === 'COMPLETED', `claimed by the next process within ${Date.now() - began} ms`);
    assert.ok(Date.now() - began < 10_000);
    const again = { authorization: `Bearer ${await token(second.base)}` };
    let seen = await status(second.base, again);
    // A PostgreSQL import of 20,000 records may take long on a busy machine (test/reliability/crash.test.ts).
    while (seen !== 'COMPLETED' && Date.now() - began < 180_000) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await status(second.base, again);
    }
    assert.equal(seen, 'COMPLETED');
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });
});
