/**
 * PostgreSQL ending the server's connections (a restart, an administrator, a timeout) is logged,
 * and the server goes on: the next requests are served on new connections. Before, the pool's
 * `error` event had no listener and ended the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pg from 'pg';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import { ADMIN, dropSchema, testConfig } from '../helpers/app.js';
import { logSerializers } from '../../src/http/logging.js';

const postgres = process.env.DATABASE_URL?.startsWith('postgres');

test('the server survives PostgreSQL terminating its connections, logs it, and serves the next requests', {
  skip: !postgres && 'PostgreSQL only',
}, async () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = testConfig();
  const app = await buildApp(config, { logger: { level: 'warn', stream, serializers: logSerializers } });
  const killer = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await killer.connect();
  try {
    await app.ready();
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: ADMIN.clientSecret });
    const token = (
      await app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() })
    ).json().access_token as string;
    const list = () => app.inject({ method: 'GET', url: '/v2024/non-employee-sources', headers: { authorization: `Bearer ${token}` } });
    assert.equal((await list()).statusCode, 200);

    // Every connection the app's pool holds (several at once, so the pool opens more than one).
    const pids = new Set(
      (await Promise.all(Array.from({ length: 4 }, () => sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.05)`.execute(app.db.kysely)))).map(
        (r) => r.rows[0]!.pid,
      ),
    );
    assert.ok(pids.size >= 2, `the pool held ${pids.size} connection(s)`);
    await killer.query('select pg_terminate_backend(pid) from unnest($1::int[]) pid', [[...pids]]);
    const logged = () => lines.filter((l) => l.includes('pooled PostgreSQL connection broke')).length;
    for (let i = 0; i < 100 && logged() < pids.size; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(logged(), pids.size, 'one warning per connection lost');
    assert.match(lines.find((l) => l.includes('pooled PostgreSQL connection broke'))!, /terminat/i);

    for (let i = 0; i < 3; i++) assert.equal((await list()).statusCode, 200);
  } finally {
    await killer.end();
    await app.close();
    await dropSchema(config);
  }
});
