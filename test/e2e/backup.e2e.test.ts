/**
 * `nelm backup` and `nelm restore` as users run them: a populated SQLite database (sources, custom
 * attributes, records, requests through a 2-level chain, bulk jobs one of which failed with errors,
 * a webhook and its deliveries, a lifecycle policy, an audit log pruned to a checkpoint) is backed
 * up while its server runs, restored into PostgreSQL (with DATABASE_URL=postgres://…; another
 * SQLite file without), backed up again and restored into a third database, SQLite. Every API
 * answer is the same on the three, and `nelm audit verify` passes on each.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { BACKUP_TABLES, databaseTables, TABLES_LEFT_OUT } from '../../src/db/backup.js';
import type { Db } from '../../src/db/dialect.js';
import { openDatabase } from '../../src/db/open.js';
import { EventRepository } from '../../src/modules/events/repository.js';
import { EventLog } from '../../src/modules/events/service.js';
import { ADMIN, dropSchema, PG_URL } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';
import { startReceiver, until } from '../helpers/webhooks.js';

const run = promisify(execFile);

const KEK = randomBytes(32).toString('hex');

function envFor(url: string, schema?: string): Record<string, string> {
  return {
    DATABASE_URL: url,
    ...(schema ? { NELM_DATABASE_SCHEMA: schema } : {}),
    NELM_ADMIN_CLIENT_ID: ADMIN.clientId,
    NELM_ADMIN_CLIENT_SECRET: ADMIN.clientSecret,
    NELM_RATE_LIMIT: 'off',
    NELM_AUTH_THROTTLE: 'off',
    NELM_LOG_LEVEL: 'silent',
    NELM_SECRET_HASH_COST: '10',
    NELM_KEY_ENCRYPTION_KEY: KEK,
    NELM_WEBHOOK_ALLOW_HTTP: 'true',
    NELM_WEBHOOK_ALLOW_PRIVATE: 'true',
  };
}

interface Place {
  env: Record<string, string>;
  config: Config;
}

function place(url: string, schema?: string): Place {
  const env = envFor(url, schema);
  return { env, config: loadConfig(env) };
}

/** The `nelm` command on a database: its exit code and output, whether it succeeded or not. */
async function nelm(where: Place, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, ...where.env };
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Running {
  base: string;
  db: Db;
  token: string;
  close(): Promise<void>;
}

async function serve(where: Place): Promise<Running> {
  const db = await openDatabase(where.config);
  const app = await buildApp(where.config, { logger: false, db });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  const base = `http://127.0.0.1:${address.port}`;
  const form = new FormData();
  form.append('grant_type', 'client_credentials');
  form.append('client_id', ADMIN.clientId);
  form.append('client_secret', ADMIN.clientSecret);
  const token = ((await (await fetch(`${base}/oauth/token`, { method: 'POST', body: form })).json()) as { access_token: string }).access_token;
  return {
    base,
    db,
    token,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the answers are JSON of many shapes, read field by field
async function call<T = any>(server: Running, method: string, url: string, body?: unknown, token = server.token): Promise<T> {
  const response = await fetch(`${server.base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  assert.ok(response.status < 300, `${method} ${url} → ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function tokenOf(server: Running, clientId: string, clientSecret: string): Promise<string> {
  const form = new FormData();
  form.append('grant_type', 'client_credentials');
  form.append('client_id', clientId);
  form.append('client_secret', clientSecret);
  return ((await (await fetch(`${server.base}/oauth/token`, { method: 'POST', body: form })).json()) as { access_token: string }).access_token;
}

const SYSTEM = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate,department';
const line = (name: string) => `${name},Ann,Lee,555-0100,${name}@example.com,admin,2026-01-01,2031-12-31,Sales`;

async function upload(server: Running, sourceId: string, csv: string, timeoutMs = 10_000): Promise<string> {
  const form = new FormData();
  form.append('data', new Blob([csv], { type: 'text/csv' }), 'people.csv');
  const response = await fetch(`${server.base}/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}` },
    body: form,
  });
  const body = (await response.json()) as { id: string };
  assert.equal(response.status, 202, JSON.stringify(body));
  await until(
    'the bulk job ends',
    async () => {
      const { status } = await call<{ status: string }>(server, 'GET', `/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload/status`);
      return status === 'COMPLETED' || status === 'ERROR';
    },
    timeoutMs,
  );
  return body.id;
}

/** Every answer of the API worth comparing, by URL: status, total and body. */
async function answers(server: Running, auditEvents: number): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  // biome-ignore lint/suspicious/noExplicitAny: the answers are JSON of many shapes, read field by field
  const get = async (url: string, ok = true): Promise<any> => {
    const response = await fetch(`${server.base}${url}`, { headers: { authorization: `Bearer ${server.token}` } });
    const text = await response.text();
    const body = response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
    out[url] = { status: response.status, total: response.headers.get('x-total-count'), body };
    if (ok) assert.equal(response.status, 200, `GET ${url}: ${text}`);
    return body;
  };
  const sources: { id: string }[] = await get('/v2024/non-employee-sources?count=true&sorters=name');
  await get('/v2024/non-employee-sources?non-employee-count=true&sorters=name');
  for (const { id } of sources) {
    await get(`/v2024/non-employee-sources/${id}`);
    await get(`/v2024/non-employee-sources/${id}/schema-attributes`);
    await get(`/v2024/non-employee-sources/${id}/non-employees/download`);
    await get(`/v2024/non-employee-sources/${id}/schema-attributes-template/download`);
    await get(`/v2024/non-employee-sources/${id}/non-employee-bulk-upload/status`);
    await get(`/admin/v1/lifecycle-policy/sources/${id}`);
    const jobs: { id: string }[] = await get(`/v2024/non-employee-sources/${id}/non-employee-bulk-upload/jobs?count=true`);
    for (const job of jobs) {
      await get(`/v2024/non-employee-sources/${id}/non-employee-bulk-upload/jobs/${job.id}`);
      await get(`/v2024/non-employee-sources/${id}/non-employee-bulk-upload/jobs/${job.id}/errors`);
    }
  }
  const records: { id: string }[] = await get('/v2024/non-employee-records?count=true&sorters=accountName');
  for (const { id } of records) await get(`/v2024/non-employee-records/${id}`);
  const requests: { id: string; approvalItems: { id: string }[]; requester: { id: string } }[] = await get(
    '/v2024/non-employee-requests?requested-for=me&count=true&sorters=created',
  );
  for (const request of requests) {
    await get(`/v2024/non-employee-requests/${request.id}`);
    for (const item of request.approvalItems ?? []) await get(`/v2024/non-employee-approvals/${item.id}`);
  }
  const identities: { id: string }[] = await get('/admin/v1/identities');
  for (const { id } of identities) {
    await get(`/admin/v1/identities/${id}`);
    await get(`/admin/v1/identities/${id}/clients`);
    await get(`/v2024/non-employee-requests/summary/${id}`, false);
    await get(`/v2024/non-employee-approvals/summary/${id}`, false);
    await get(`/v2024/non-employee-approvals?requested-for=${id}&count=true`, false);
  }
  await get('/admin/v1/workgroups');
  await get('/admin/v1/lifecycle-policy');
  const hooks: { id: string }[] = await get('/admin/v1/webhooks');
  for (const { id } of hooks) {
    await get(`/admin/v1/webhooks/${id}`);
    await get(`/admin/v1/webhooks/${id}/deliveries`);
  }
  // The audit trail as it was at the backup: a server started on a restored database appends its
  // own events (its admin's token) after them.
  const audit = await get('/admin/v1/audit-events?limit=250');
  out['/admin/v1/audit-events?limit=250'] = { ...(out['/admin/v1/audit-events?limit=250'] as object), body: audit.slice(0, auditEvents), total: null };
  return out;
}

describe('nelm backup and restore: SQLite to PostgreSQL and back', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-backup-'));
  const first = place(path.join(dir, 'first.sqlite'));
  const middleSchema = PG_URL ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const middle = PG_URL ? place(PG_URL, middleSchema) : place(path.join(dir, 'middle.sqlite'));
  const last = place(path.join(dir, 'last.sqlite'));
  let original: Record<string, unknown>;
  let auditEvents = 0;

  before(async () => {
    const server = await serve(first);
    try {
      const receiver = await startReceiver();
      const admin = (await call(server, 'GET', '/admin/v1/identities')).find((i: { alias: string }) => i.alias === 'admin');
      const person = async (alias: string) => {
        const identity = await call(server, 'POST', '/admin/v1/identities', { alias, name: alias, email: `${alias}@example.com`, admin: false, rights: [] });
        const client = await call(server, 'POST', `/admin/v1/identities/${identity.id}/clients`);
        return { identity, token: await tokenOf(server, client.clientId, client.clientSecret) };
      };
      const ap1 = await person('approver.one');
      const ap2 = await person('approver.two');
      const hook = await call(server, 'POST', '/admin/v1/webhooks', { url: receiver.url, events: ['record.*', 'request.*'] });
      assert.ok(hook.id);
      await call(server, 'PUT', '/admin/v1/lifecycle-policy', { approvalReminderDays: 3, escalationDays: 5 });
      const source = await call(server, 'POST', '/v2024/non-employee-sources', {
        name: 'Contractors',
        description: 'Temporary staff',
        owner: { id: admin.id },
        approvers: [{ id: ap1.identity.id }, { id: ap2.identity.id }],
        accountManagers: [{ id: admin.id }],
      });
      const other = await call(server, 'POST', '/v2024/non-employee-sources', { name: 'Interns', description: 'Summer', owner: { id: admin.id } });
      await call(server, 'POST', `/v2024/non-employee-sources/${source.id}/schema-attributes`, {
        type: 'TEXT',
        label: 'Department',
        technicalName: 'department',
      });
      for (const name of ['alice', 'bob']) {
        await call(server, 'POST', '/v2024/non-employee-records', {
          sourceId: source.id,
          accountName: name,
          firstName: name,
          lastName: 'Smith',
          email: `${name}@example.com`,
          phone: '555-0100',
          manager: 'admin',
          startDate: '2026-01-01T00:00:00+02:00',
          endDate: '2031-12-31T00:00:00Z',
          data: { department: 'Sales' },
        });
      }
      const requestBody = (accountName: string) => ({
        sourceId: source.id,
        accountName,
        firstName: 'Req',
        lastName: 'Uest',
        email: `${accountName}@example.com`,
        phone: '555-0199',
        manager: 'admin',
        startDate: '2026-02-01T00:00:00Z',
        endDate: '2032-01-31T00:00:00Z',
        data: { department: 'Ops' },
      });
      const approved = await call(server, 'POST', '/v2024/non-employee-requests', requestBody('carol'));
      await call(server, 'POST', `/v2024/non-employee-approvals/${approved.approvalItems[0].id}/approve`, { comment: 'first level' }, ap1.token);
      await call(server, 'POST', `/v2024/non-employee-approvals/${approved.approvalItems[1].id}/approve`, {}, ap2.token);
      const rejected = await call(server, 'POST', '/v2024/non-employee-requests', requestBody('dave'));
      await call(server, 'POST', `/v2024/non-employee-approvals/${rejected.approvalItems[0].id}/reject`, { comment: 'no' }, ap1.token);
      await call(server, 'POST', '/v2024/non-employee-requests', requestBody('erin'));
      await upload(server, other.id, `${SYSTEM.replace(',department', '')}\n${['i1', 'i2', 'i3'].map((n) => line(n).replace(',Sales', '')).join('\n')}\n`);
      await upload(server, source.id, `${SYSTEM}\n${line('frank')}\nbroken,,,,not-an-email,,2026-13-45,,\n`);
      await until('the webhook deliveries are made', async () => {
        const deliveries = await call(server, 'GET', `/admin/v1/webhooks/${hook.id}/deliveries`);
        return deliveries.length > 0 && deliveries.every((d: { status: string }) => d.status === 'SUCCEEDED');
      });
      // Nothing more is sent (the receiver goes away): the deliveries stay as they are in every copy.
      await call(server, 'PATCH', `/admin/v1/webhooks/${hook.id}`, { enabled: false });
      let seen = '';
      await until('the deliveries settle', async () => {
        const now = JSON.stringify(await call(server, 'GET', `/admin/v1/webhooks/${hook.id}/deliveries`));
        const settled = now === seen;
        seen = now;
        if (!settled) await new Promise((resolve) => setTimeout(resolve, 300));
        return settled;
      });
      // The audit log pruned up to the first request's events: a checkpoint in the chain.
      const events = await call(server, 'GET', '/admin/v1/audit-events?limit=250');
      const cut = events.find((e: { type: string }) => e.type.startsWith('request.'))?.time;
      assert.ok(cut);
      const pruned = await new EventLog(server.db.kysely, new EventRepository(server.db.dialect)).prune(first.config.tenant, cut);
      assert.ok(pruned > 0);
      // The backup is taken while the server runs.
      const backup = await nelm(first, 'backup', path.join(dir, 'first.nelm.gz'));
      assert.equal(backup.code, 0, backup.stderr);
      assert.match(backup.stdout, /^backed up: \d+ rows of \d+ tables/);
      auditEvents = (await call(server, 'GET', '/admin/v1/audit-events?limit=250')).length;
      original = await answers(server, auditEvents);
      await receiver.close();
    } finally {
      await server.close();
    }
  });

  after(async () => {
    if (middleSchema) await dropSchema(middle.config);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the backup lists every table the migrations create, sessions aside', async () => {
    const db = await openDatabase(first.config);
    try {
      const tables = (await databaseTables(db)).sort();
      assert.deepEqual(tables, [...BACKUP_TABLES.map((t) => t.name), ...TABLES_LEFT_OUT].sort());
    } finally {
      await db.close();
    }
  });

  test(`restored into ${PG_URL ? 'PostgreSQL' : 'another SQLite file'}, then back into SQLite: every answer the same, the audit chain verifies`, async () => {
    assert.equal((await nelm(first, 'audit', 'verify')).code, 0);
    const restored = await nelm(middle, 'restore', path.join(dir, 'first.nelm.gz'));
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /^restored: \d+ rows/);
    const verified = await nelm(middle, 'audit', 'verify');
    assert.equal(verified.code, 0, verified.stdout);
    const server = await serve(middle);
    let changed: Record<string, unknown>;
    let changedEvents: number;
    try {
      assert.deepEqual(await answers(server, auditEvents), original);
      // Work goes on where it stopped: new rows take keys after the restored ones (PostgreSQL's
      // sequences), the chain goes on from its head.
      const sources = await call(server, 'GET', '/v2024/non-employee-sources?sorters=name');
      await upload(server, sources[0].id, `${SYSTEM}\n${line('grace')}\n`);
      changedEvents = (await call(server, 'GET', '/admin/v1/audit-events?limit=250')).length;
      changed = await answers(server, changedEvents);
      assert.notDeepEqual(changed, original);
    } finally {
      await server.close();
    }
    assert.equal((await nelm(middle, 'audit', 'verify')).code, 0);
    const again = await nelm(middle, 'backup', path.join(dir, 'middle.nelm.gz'));
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await nelm(last, 'restore', path.join(dir, 'middle.nelm.gz'))).code, 0);
    assert.equal((await nelm(last, 'audit', 'verify')).code, 0);
    const back = await serve(last);
    try {
      assert.deepEqual(await answers(back, changedEvents), changed);
    } finally {
      await back.close();
    }
  });

  test('restore refuses a database that holds data, a file that is no backup, a truncated backup', async () => {
    const full = await nelm(first, 'restore', path.join(dir, 'first.nelm.gz'));
    assert.equal(full.code, 1);
    assert.match(full.stderr, /the database is not empty \(tenants holds 1 rows\)/);
    const fresh = place(path.join(dir, 'fresh.sqlite'));
    const junk = path.join(dir, 'junk.gz');
    writeFileSync(junk, 'not gzip at all');
    const notGzip = await nelm(fresh, 'restore', junk);
    assert.equal(notGzip.code, 1);
    assert.match(notGzip.stderr, /cannot be read as a gzip'd backup/);
    const { gzipSync, gunzipSync } = await import('node:zlib');
    const { readFileSync } = await import('node:fs');
    const text = gunzipSync(readFileSync(path.join(dir, 'first.nelm.gz'))).toString('utf8');
    const other = path.join(dir, 'other.gz');
    writeFileSync(other, gzipSync('{"format":"something-else"}\n'));
    assert.match((await nelm(fresh, 'restore', other)).stderr, /not a nelm backup/);
    writeFileSync(other, gzipSync(text.replace(/"migration":"[^"]+"/, '"migration":"29991231_9999_future"')));
    assert.match((await nelm(fresh, 'restore', other)).stderr, /migration 29991231_9999_future\) is not one this version knows/);
    const lines = text.trimEnd().split('\n');
    writeFileSync(other, gzipSync(`${lines.slice(0, -3).join('\n')}\n`));
    const truncated = await nelm(fresh, 'restore', other);
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /incomplete or damaged/);
    // Nothing of the truncated backup was written: the same file takes the whole backup.
    const whole = await nelm(fresh, 'restore', path.join(dir, 'first.nelm.gz'));
    assert.equal(whole.code, 0, whole.stderr);
    const usage = await nelm(fresh, 'backup');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /backup takes one argument/);
    for (const command of ['backup', 'restore']) {
      const help = await nelm(fresh, command, '--help');
      assert.match(help.stdout, new RegExp(`^Usage: nelm ${command} FILE`));
      assert.equal(help.stderr, '', `${command} --help opens no database`);
    }
  });
});

describe('nelm backup while a bulk import runs', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-backup-bulk-'));
  const schema = PG_URL ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const where = PG_URL ? place(PG_URL, schema) : place(path.join(dir, 'nelm.sqlite'));
  after(async () => {
    if (schema) await dropSchema(where.config);
    rmSync(dir, { recursive: true, force: true });
  });

  test('each backup holds the import whole or not at all', async (t) => {
    const ROWS = 5000;
    const server = await serve(where);
    const files: string[] = [];
    try {
      const admin = (await call(server, 'GET', '/admin/v1/identities')).find((i: { alias: string }) => i.alias === 'admin');
      const source = await call(server, 'POST', '/v2024/non-employee-sources', { name: 'Big', description: 'x', owner: { id: admin.id } });
      await call(server, 'POST', `/v2024/non-employee-sources/${source.id}/schema-attributes`, {
        type: 'TEXT',
        label: 'Department',
        technicalName: 'department',
      });
      const csv = `${SYSTEM}\n${Array.from({ length: ROWS }, (_, i) => line(`person${i}`)).join('\n')}\n`;
      const backups: Promise<unknown>[] = [];
      for (let i = 0; i < 8; i++) {
        const file = path.join(dir, `during-${i}.gz`);
        files.push(file);
        backups.push(new Promise((resolve) => setTimeout(resolve, i * 250)).then(() => nelm(where, 'backup', file)));
      }
      await upload(server, source.id, csv, 120_000);
      for (const result of (await Promise.all(backups)) as { code: number; stderr: string }[]) assert.equal(result.code, 0, result.stderr);
    } finally {
      await server.close();
    }
    const { gunzipSync } = await import('node:zlib');
    const { readFileSync } = await import('node:fs');
    const seen = new Set<string>();
    for (const file of files) {
      const lines = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n');
      const header = JSON.parse(lines[0]!) as { tables: { name: string; columns: string[]; rows: number }[] };
      const records = header.tables.find((t) => t.name === 'records')!.rows;
      const jobs = header.tables.find((t) => t.name === 'bulk_jobs')!;
      const start = lines.indexOf(JSON.stringify({ table: 'bulk_jobs' }));
      const status = jobs.rows === 0 ? 'none' : (JSON.parse(lines[start + 1]!) as unknown[])[jobs.columns.indexOf('status')];
      assert.ok(records === 0 || records === ROWS, `${file}: ${records} records`);
      // The job's row agrees: finished exactly when its records are there.
      assert.equal(records === ROWS, status === 'COMPLETED', `${file}: ${records} records, job ${String(status)}`);
      seen.add(`${records === ROWS ? 'after' : 'before'} (job ${String(status)})`);
    }
    t.diagnostic(`backups taken: ${[...seen].join(', ')}`);
  });
});
