/**
 * Webhooks against the built server (`bin/nelm.js serve` in child processes) on a database that
 * outlives them (a SQLite file, or a private PostgreSQL schema): a server killed with SIGKILL in
 * the middle of its deliveries loses none of them once started again; on PostgreSQL, two servers
 * share the deliveries, each made once. Every request is verified with `standardwebhooks`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';
import { fetchToken } from '../helpers/server.js';
import { type Receiver, sleep, startReceiver, until, verify } from '../helpers/webhooks.js';

const ADMIN = { clientId: 'hooks-admin', clientSecret: 'hooks-admin-secret-0123456789' };

interface Server {
  child: ChildProcess;
  base: string;
  token: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe(`e2e: webhooks through crashes and processes (${PG_URL ? 'PostgreSQL' : 'SQLite'})`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-webhooks-e2e-'));
  const dbConfig = testConfig({}, { DATABASE_URL: PG_URL ?? path.join(dir, 'webhooks.sqlite') });
  const env = {
    ...process.env,
    DATABASE_URL: dbConfig.databaseUrl,
    ...(dbConfig.databaseSchema ? { NELM_DATABASE_SCHEMA: dbConfig.databaseSchema } : {}),
    NELM_ADMIN_CLIENT_ID: ADMIN.clientId,
    NELM_ADMIN_CLIENT_SECRET: ADMIN.clientSecret,
    NELM_RATE_LIMIT: 'off',
    NELM_LOG_LEVEL: 'fatal',
    NELM_SECRET_HASH_COST: '10',
    NELM_WEBHOOK_ALLOW_HTTP: 'true',
    NELM_WEBHOOK_ALLOW_PRIVATE: 'true',
    NELM_WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,500ms,1s,1s,1s,1s,1s',
    // A claim lasts 3 timeouts and 10 s: a killed PostgreSQL process's claim runs out 13 s later.
    NELM_WEBHOOK_TIMEOUT: '1',
  };
  const servers: Server[] = [];
  let receiver: Receiver;
  let sources = 0;

  const start = async (): Promise<Server> => {
    const port = await freePort();
    const child = spawn(process.execPath, [...CLI, 'serve'], { env: { ...env, PORT: String(port), HOST: '127.0.0.1' }, cwd: dir, stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}`;
    await until(
      'the server to listen',
      () =>
        fetch(`${base}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      30_000,
    );
    const server = { child, base, token: await fetchToken(base, ADMIN.clientId, ADMIN.clientSecret) };
    servers.push(server);
    return server;
  };
  const kill = (server: Server) =>
    new Promise<void>((resolve) => {
      if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
      server.child.once('exit', () => resolve());
      server.child.kill('SIGKILL');
    });
  const call = async <T>(server: Server, method: string, url: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.base}${url}`, {
      method,
      headers: { authorization: `Bearer ${server.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const newSource = async (server: Server) => {
    const admin = (await call<{ id: string; alias: string }[]>(server, 'GET', '/admin/v1/identities')).find((i) => i.alias === 'admin')!;
    return call<{ id: string }>(server, 'POST', '/v2024/non-employee-sources', { name: `Hooked ${++sources}`, description: 'e2e', owner: { id: admin.id } });
  };
  /** The ids of the source.created events of `sourceIds`, from the audit trail. */
  const eventIds = async (server: Server, sourceIds: string[]) => {
    const filter = `type eq "source.created" and targetId in (${sourceIds.map((id) => `"${id}"`).join(',')})`;
    const events = await call<{ id: string }[]>(server, 'GET', `/admin/v1/audit-events?filters=${encodeURIComponent(filter)}`);
    return events.map((e) => e.id);
  };

  before(async () => {
    receiver = await startReceiver(() => ({ status: 200, delayMs: 40 }));
  });
  after(async () => {
    for (const server of servers) await kill(server);
    await receiver.close();
    await dropSchema(dbConfig);
    rmSync(dir, { recursive: true, force: true });
  });

  test('SIGKILL in the middle of deliveries, then a restart: every event is delivered', { timeout: 120_000 }, async () => {
    const first = await start();
    const hook = await call<{ id: string; secret: string }>(first, 'POST', '/admin/v1/webhooks', { url: receiver.url, events: ['source.created'] });
    const created: string[] = [];
    for (let i = 0; i < 30; i++) created.push((await newSource(first)).id);
    await until('some deliveries', () => receiver.received.length >= 8);
    await kill(first);
    const sentBeforeKill = receiver.received.length;
    assert.ok(sentBeforeKill < 30, `killed in the middle: ${sentBeforeKill} of 30 sent`);

    const second = await start();
    const expected = await eventIds(second, created);
    assert.equal(expected.length, 30);
    await until('every event delivered', () => expected.every((id) => receiver.received.some((r) => r.id === id)), 60_000);
    const ids = receiver.received.map((r) => r.id);
    for (const got of receiver.received) verify(hook.secret, got);
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.ok(twice.length <= 2, `only the requests not recorded at the kill may come twice: ${twice.length}`);
    const log = await until('the delivery log', async () => {
      const list = await call<{ status: string; eventId: string }[]>(second, 'GET', `/admin/v1/webhooks/${hook.id}/deliveries`);
      return list.length === 30 && list.every((d) => d.status === 'SUCCEEDED') && list;
    });
    assert.deepEqual(log.map((d) => d.eventId).sort(), [...expected].sort());
    await call(second, 'DELETE', `/admin/v1/webhooks/${hook.id}`);
  });

  test('two servers on one PostgreSQL database share the deliveries: each is made once', { skip: !PG_URL, timeout: 120_000 }, async () => {
    const a = servers.find((s) => s.child.exitCode === null && s.child.signalCode === null) ?? (await start());
    const b = await start();
    receiver.received.length = 0;
    const hooks = [
      await call<{ id: string; secret: string }>(a, 'POST', '/admin/v1/webhooks', { url: receiver.url, events: ['source.created'] }),
      await call<{ id: string; secret: string }>(b, 'POST', '/admin/v1/webhooks', { url: `${receiver.url}?second`, events: ['source.created'] }),
    ];
    const created: string[] = [];
    for (let i = 0; i < 10; i++) created.push((await newSource(i % 2 === 0 ? a : b)).id);
    const expected = await eventIds(a, created);
    await until('every event at both endpoints', () => receiver.received.length >= 20, 30_000);
    await sleep(500);
    assert.equal(receiver.received.length, 20, 'each delivery once');
    for (const [i, hook] of hooks.entries()) {
      const got = receiver.received.filter((r) => r.path.endsWith('?second') === (i === 1));
      for (const r of got) verify(hook.secret, r);
      assert.deepEqual(got.map((r) => r.id).sort(), [...expected].sort(), `endpoint ${i + 1}: each event once`);
    }
  });
});
