/**
 * Processes starting at once on a new PostgreSQL database (docs/operations.md, "Upgrades"): the
 * migrations run once, by one process, while the others wait; so do the creation of the admin
 * client and of the first signing key, so that every process starts and trusts the others'
 * tokens. A SQLite file has one server process: nothing to race.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';

const ADMIN_ID = 'race-admin';
const ADMIN_SECRET = 'race-admin-secret-0123456789';
const children: ChildProcess[] = [];
const config = PG_URL ? testConfig() : undefined;

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((r) => child.once('exit', r)) : undefined)));
  if (config) await dropSchema(config);
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

test('three processes started at once on a new database all start, with one admin, one key and each migration once', {
  skip: !PG_URL && 'PostgreSQL only',
}, async () => {
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const key = randomBytes(32).toString('base64');
  const outputs = ports.map(() => '');
  ports.forEach((port, i) => {
    const child = spawn(process.execPath, [...CLI, 'serve'], {
      env: {
        ...process.env,
        DATABASE_URL: config!.databaseUrl,
        NELM_DATABASE_SCHEMA: config!.databaseSchema,
        PORT: String(port),
        HOST: '127.0.0.1',
        NELM_ADMIN_CLIENT_ID: ADMIN_ID,
        NELM_ADMIN_CLIENT_SECRET: ADMIN_SECRET,
        NELM_KEY_ENCRYPTION_KEY: key,
        NELM_SECRET_HASH_COST: '10',
        NELM_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      outputs[i] += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      outputs[i] += chunk.toString();
    });
    children.push(child);
  });
  const bases = ports.map((port) => `http://127.0.0.1:${port}`);
  for (const [i, base] of bases.entries()) {
    let ready = false;
    for (let t = 0; t < 600 && !ready; t++) {
      ready = await fetch(`${base}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ready) {
        assert.equal(children[i]!.exitCode, null, `process ${i} exited:\n${outputs[i]}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.ok(ready, `process ${i} ready:\n${outputs[i]}`);
  }
  const client = new pg.Client({ connectionString: config!.databaseUrl });
  await client.connect();
  try {
    const schema = config!.databaseSchema!;
    const migrations = await client.query(`select count(*)::int as n, count(distinct name)::int as d from "${schema}".kysely_migration`);
    assert.equal(migrations.rows[0].n, migrations.rows[0].d, 'each migration once');
    const keys = await client.query(`select count(*)::int as n from "${schema}".signing_keys`);
    assert.equal(keys.rows[0].n, 1, 'one signing key');
    const admins = await client.query(`select count(*)::int as n from "${schema}".api_clients where client_id = $1`, [ADMIN_ID]);
    assert.equal(admins.rows[0].n, 1, 'one admin client');
  } finally {
    await client.end();
  }
  // A token of one process is good at every other.
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN_ID, client_secret: ADMIN_SECRET });
  const token = ((await (await fetch(`${bases[0]}/oauth/token`, { method: 'POST', body })).json()) as { access_token: string }).access_token;
  for (const base of bases) {
    const response = await fetch(`${base}/v2024/non-employee-sources`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, base);
  }
});
