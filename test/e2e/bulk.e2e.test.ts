/**
 * End to end: bulk upload, export, template and status through the unmodified official SDK (V3,
 * V2024 and Beta classes; `importNonEmployeeRecordsInBulk` with a File, a Blob and a string), the
 * round trip export → import, the `nelm import` / `nelm export` commands as child processes, and
 * a server killed while a job runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  Configuration,
  NonEmployeeLifecycleManagementApi,
  NonEmployeeLifecycleManagementBetaApi,
  NonEmployeeLifecycleManagementV2024Api,
} from 'sailpoint-api-client';
import { assertMatchesContract, type Flavour } from '../helpers/contract.js';
import { createApiUser, fetchToken, startTestServer, type ApiUser, type TestServer } from '../helpers/server.js';
import { dropSchema, PG_URL, testConfig } from '../helpers/app.js';
import { CLI } from '../helpers/cli.js';
import { openDatabase } from '../../src/db/open.js';

const SYSTEM = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate';
const UPLOAD = '/non-employee-sources/{id}/non-employee-bulk-upload';
const STATUS = '/non-employee-sources/{id}/non-employee-bulk-upload/status';
const row = (name: string, first = 'Ann') => `${name},${first},Lee,555-0100,${name}@example.com,e2e.admin,2024-01-01,2024-12-31,Sales`;
const csv = (...rows: string[]) => `${[`${SYSTEM},department`, ...rows].join('\n')}\n`;

type Api = NonEmployeeLifecycleManagementApi | NonEmployeeLifecycleManagementV2024Api | NonEmployeeLifecycleManagementBetaApi;
interface Response {
  status: number;
  data: unknown;
}

async function rejection(call: Promise<unknown>): Promise<Response> {
  try {
    await call;
  } catch (error) {
    const response = (error as { response?: Response }).response;
    if (response) return response;
    throw error;
  }
  throw new Error('the call should have failed');
}

const run = promisify(execFile);

describe('e2e: bulk CSV through sailpoint-api-client and the nelm command', () => {
  let server: TestServer;
  let admin: ApiUser;
  let config: Configuration;
  let v2024: NonEmployeeLifecycleManagementV2024Api;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nelm-bulk-e2e-'));

  const newSource = async (name: string, custom = ['department']) => {
    const { data } = await v2024.createNonEmployeeSource({ nonEmployeeSourceRequestBodyV2024: { name, description: 'e2e', owner: { id: admin.identity.id } } });
    for (const technicalName of custom) {
      await v2024.createNonEmployeeSourceSchemaAttributes({
        sourceId: data.id!,
        nonEmployeeSchemaAttributeBodyV2024: { type: 'TEXT', label: technicalName, technicalName },
      });
    }
    return data.id!;
  };
  const waitFor = async (api: Api, flavour: Flavour, id: string, tries = 1000) => {
    for (let i = 0; i < tries; i++) {
      const { data } = await api.getNonEmployeeBulkUploadStatus({ id });
      assertMatchesContract(flavour, 'GET', STATUS, 200, data);
      if (data.status === 'COMPLETED' || data.status === 'ERROR') return data.status;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the job did not finish');
  };
  const recordsOf = async (sourceId: string) =>
    (await v2024.listNonEmployeeRecords({ filters: `sourceId eq "${sourceId}"`, sorters: 'accountName' })).data.map(
      ({ id: _i, sourceId: _s, created: _c, modified: _m, ...fields }) => fields,
    );

  before(async () => {
    server = await startTestServer();
    admin = await createApiUser(server, 'e2e.admin', { admin: true });
    config = new Configuration({
      baseurl: server.baseUrl,
      clientId: admin.clientId,
      clientSecret: admin.clientSecret,
      tokenUrl: `${server.baseUrl}/oauth/token`,
    });
    v2024 = new NonEmployeeLifecycleManagementV2024Api(config);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [flavour, make] of [
    ['v3', (c: Configuration) => new NonEmployeeLifecycleManagementApi(c)],
    ['v2024', (c: Configuration) => new NonEmployeeLifecycleManagementV2024Api(c)],
    ['beta', (c: Configuration) => new NonEmployeeLifecycleManagementBetaApi(c)],
  ] as const) {
    test(`${flavour}: importNonEmployeeRecordsInBulk with a File, a Blob and a string; status, export, template`, async () => {
      const api: Api = make(config);
      const id = await newSource(`bulk ${flavour}`);
      const none = (await api.getNonEmployeeBulkUploadStatus({ id })).data;
      assert.deepEqual(none, { status: null });
      assertMatchesContract(flavour, 'GET', STATUS, 200, none);
      const template = await api.exportNonEmployeeSourceSchemaTemplate({ id });
      assert.equal(template.data, `${SYSTEM},department\n`);
      const bodies = [
        new File([csv(row('as.file'))], 'records.csv', { type: 'text/csv' }),
        new Blob([csv(row('as.blob'))]),
        csv(row('as.string'), row('as.file', 'Changed')),
      ];
      for (const data of bodies) {
        const accepted = await api.importNonEmployeeRecordsInBulk({ id, data: data as File });
        assert.equal(accepted.status, 202);
        assertMatchesContract(flavour, 'POST', UPLOAD, 202, accepted.data);
        assert.equal(await waitFor(api, flavour, id), 'COMPLETED');
      }
      const exported = await api.exportNonEmployeeRecords({ id });
      assert.equal(exported.status, 200);
      const lines = String(exported.data).trimEnd().split('\n');
      assert.deepEqual(
        lines.map((l) => l.split(',').slice(0, 2).join(',')),
        ['accountName,firstName', 'as.blob,Ann', 'as.file,Changed', 'as.string,Ann'],
      );
    });

    test(`${flavour}: the SDK gets the error bodies: 400 with causes, 404, 403`, async () => {
      const api: Api = make(config);
      const id = await newSource(`bulk errors ${flavour}`);
      const bad = await rejection(api.importNonEmployeeRecordsInBulk({ id, data: 'nickname,accountName\nx,y\n' as unknown as File }));
      assert.equal(bad.status, 400);
      assertMatchesContract(flavour, 'POST', UPLOAD, 400, bad.data);
      assert.ok((bad.data as { causes: unknown[] }).causes.length >= 8, JSON.stringify(bad.data));
      const unknown = 'f'.repeat(32);
      for (const call of [
        () => api.importNonEmployeeRecordsInBulk({ id: unknown, data: csv(row('x')) as unknown as File }),
        () => api.exportNonEmployeeRecords({ id: unknown }),
        () => api.exportNonEmployeeSourceSchemaTemplate({ id: unknown }),
      ]) {
        const missing = await rejection(call());
        assert.equal(missing.status, 404);
        assert.equal((missing.data as { detailCode: string }).detailCode, '404 Not found');
      }
      const reader = await createApiUser(server, `e2e.reader.${flavour}`, { rights: ['idn:nesr:read'] });
      const asReader = make(
        new Configuration({ baseurl: server.baseUrl, clientId: reader.clientId, clientSecret: reader.clientSecret, tokenUrl: `${server.baseUrl}/oauth/token` }),
      );
      assert.equal((await rejection(asReader.importNonEmployeeRecordsInBulk({ id, data: csv(row('x')) as unknown as File }))).status, 403);
    });
  }

  test('round trip: export a source, import the file into an empty source with the same schema: equal records', async () => {
    const custom = ['department', 'costCenter', 'note'];
    const from = await newSource('round trip from', custom);
    const to = await newSource('round trip to', custom);
    const tricky: { accountName: string; firstName: string; lastName: string; phone: string; data: Record<string, string> }[] = [
      {
        accountName: 'comma.quote',
        firstName: 'Ann, "the first"',
        lastName: "O'Neil",
        phone: '+1 (555) 0100',
        data: { department: 'R&D, Europe', costCenter: '=1+1', note: 'one; "two", three' },
      },
      { accountName: 'formula.user', firstName: '@Bob', lastName: '-Minus', phone: '=cmd|calc', data: { note: "'already quoted" } },
      { accountName: 'unicodé.ünïcode', firstName: 'Zoë 😀', lastName: '李', phone: '555', data: {} },
      { accountName: 'quotes.user', firstName: 'Carla', lastName: 'Ruiz', phone: '1', data: { note: '""', costCenter: '"quoted"' } },
    ];
    for (const [i, r] of tricky.entries()) {
      await v2024.createNonEmployeeRecord({
        nonEmployeeRequestBodyV2024: {
          ...r,
          email: `user${i}@example.com`,
          manager: 'e2e.admin',
          sourceId: from,
          startDate: `2024-0${i + 1}-15T08:30:00-05:00`,
          endDate: '2025-06-30',
        },
      });
    }
    const exported = String((await v2024.exportNonEmployeeRecords({ id: from })).data);
    await v2024.importNonEmployeeRecordsInBulk({ id: to, data: new File([exported], 'export.csv', { type: 'text/csv' }) });
    assert.equal(await waitFor(v2024, 'v2024', to), 'COMPLETED');
    const [a, b] = [await recordsOf(from), await recordsOf(to)];
    assert.equal(a.length, tricky.length);
    assert.deepEqual(b, a);
    assert.equal(String((await v2024.exportNonEmployeeRecords({ id: to })).data), exported, 'and the second export is the same file');

    // As a string the SDK sends a form field, whose line breaks become CRLF on the way (HTML form
    // encoding): the server reads them as LF, and the records are the same.
    const third = await newSource('round trip as a string', custom);
    await v2024.importNonEmployeeRecordsInBulk({ id: third, data: exported as unknown as File });
    assert.equal(await waitFor(v2024, 'v2024', third), 'COMPLETED');
    const c = await recordsOf(third);
    assert.deepEqual(c, a);
  });

  describe('nelm import / nelm export', () => {
    let id: string;
    const env = () => ({ ...process.env, SAIL_BASE_URL: server.baseUrl, SAIL_CLIENT_ID: admin.clientId, SAIL_CLIENT_SECRET: admin.clientSecret });
    const nelm = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      run(process.execPath, [...CLI, ...args], { env: { ...env(), ...extra }, cwd: dir }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    before(async () => {
      id = await newSource('cli');
    });

    test('import waits for the job and prints it; export writes the file or standard output', async () => {
      writeFileSync(path.join(dir, 'in.csv'), csv(row('cli.one'), row('cli.two')));
      const imported = await nelm(['import', '--source', id, 'in.csv']);
      assert.equal(imported.code, 0, imported.stderr);
      const job = JSON.parse(imported.stdout);
      assert.equal(job.status, 'COMPLETED');
      assert.deepEqual(job.counts, { created: 2, updated: 0, unchanged: 0, failed: 0 });
      assert.match(imported.stderr, /imported 2 rows: 2 created/);
      const api = String((await v2024.exportNonEmployeeRecords({ id })).data);
      const toFile = await nelm(['export', '--source', id, 'out.csv']);
      assert.equal(toFile.code, 0, toFile.stderr);
      assert.equal(readFileSync(path.join(dir, 'out.csv'), 'utf8'), api);
      assert.match(toFile.stderr, /exported 2 records/);
      const toStdout = await nelm(['export', '--source', id, '--base-url', server.baseUrl], { SAIL_BASE_URL: 'http://127.0.0.1:1' });
      assert.equal(toStdout.stdout, api, 'flags win over the environment');
    });

    test('exit codes: 4 when the job fails, 3 when the server refuses, 2 for usage, 1 when unreachable', async () => {
      writeFileSync(path.join(dir, 'bad.csv'), csv(row('ok'), 'bad,,Lee,1,nope,e2e.admin,2024-01-01,2024-12-31,'));
      const failed = await nelm(['import', '--source', id, 'bad.csv', '--errors', 'errors.csv']);
      assert.equal(failed.code, 4, failed.stderr);
      assert.equal(JSON.parse(failed.stdout).status, 'ERROR');
      assert.match(readFileSync(path.join(dir, 'errors.csv'), 'utf8'), /^line,column,value,message\n3,firstName,,firstName is required\n3,email,nope,/);
      const printed = await nelm(['import', '--source', id, 'bad.csv']);
      assert.match(printed.stderr, /3,firstName,,firstName is required/);
      writeFileSync(path.join(dir, 'header.csv'), 'nickname\nx\n');
      const refused = await nelm(['import', '--source', id, 'header.csv']);
      assert.equal(refused.code, 3);
      assert.match(refused.stderr, /400: .*\n.*"nickname" is not an attribute/);
      assert.equal((await nelm(['export', '--source', 'f'.repeat(32)])).code, 3, 'unknown source');
      const badCredentials = await nelm(['export', '--source', id, 'never.csv'], { SAIL_CLIENT_SECRET: 'wrong-secret-0123456789' });
      assert.equal(badCredentials.code, 3, 'bad credentials');
      assert.match(badCredentials.stderr, /token request was refused: 401/);
      assert.equal((await nelm(['import', 'in.csv'])).code, 2);
      assert.equal((await nelm(['import', '--source', id, 'missing.csv'])).code, 2);
      assert.equal((await nelm(['export', '--source', id], { SAIL_BASE_URL: '' })).code, 2);
      assert.equal((await nelm(['export', '--source', id], { SAIL_BASE_URL: 'http://127.0.0.1:1' })).code, 1);
    });
  });

  test('a server killed while a job runs: nothing half-applied; the job runs when it starts again', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = s.address() as { port: number };
        s.close(() => resolve(free));
      });
    });
    const dbConfig = testConfig({}, { DATABASE_URL: PG_URL ?? path.join(dir, 'killed.sqlite') });
    const serverEnv = {
      ...process.env,
      DATABASE_URL: dbConfig.databaseUrl,
      ...(dbConfig.databaseSchema ? { NELM_DATABASE_SCHEMA: dbConfig.databaseSchema } : {}),
      PORT: String(port),
      HOST: '127.0.0.1',
      NELM_ADMIN_CLIENT_ID: 'kill-admin',
      NELM_ADMIN_CLIENT_SECRET: 'kill-admin-secret-0123456789',
      NELM_RATE_LIMIT: 'off',
      NELM_LOG_LEVEL: 'fatal',
    };
    const base = `http://127.0.0.1:${port}`;
    const start = async () => {
      const child = spawn(process.execPath, [...CLI, 'serve'], { env: serverEnv, cwd: dir, stdio: 'ignore' });
      for (let i = 0; i < 300; i++) {
        if (
          await fetch(`${base}/health`).then(
            (r) => r.ok,
            () => false,
          )
        )
          return child;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the server did not start');
    };
    let child = await start();
    try {
      const k = new Configuration({ baseurl: base, clientId: 'kill-admin', clientSecret: 'kill-admin-secret-0123456789', tokenUrl: `${base}/oauth/token` });
      const api = new NonEmployeeLifecycleManagementV2024Api(k);
      const bearer = await fetchToken(base, 'kill-admin', 'kill-admin-secret-0123456789');
      const owner = (
        (await (await fetch(`${base}/admin/v1/identities`, { headers: { authorization: `Bearer ${bearer}` } })).json()) as { id: string; alias: string }[]
      ).find((i) => i.alias === 'admin')!;
      const { data: source } = await api.createNonEmployeeSource({
        nonEmployeeSourceRequestBodyV2024: { name: 'killed', description: '', owner: { id: owner.id } },
      });
      const rows = Array.from({ length: 20_000 }, (_, i) => `k${i},A,B,1,k${i}@example.com,admin,2024-01-01,2024-02-01`);
      const { data: job } = await api.importNonEmployeeRecordsInBulk({ id: source.id!, data: [SYSTEM, ...rows].join('\n') as unknown as File });
      let seen = 'PENDING';
      while (seen === 'PENDING') seen = (await api.getNonEmployeeBulkUploadStatus({ id: source.id! })).data.status ?? 'PENDING';
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const db = await openDatabase(dbConfig);
      const count = async () =>
        Number(
          (
            await db.kysely
              .selectFrom('records')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('source_id', '=', source.id!)
              .executeTakeFirstOrThrow()
          ).n,
        );
      try {
        const left = await count();
        assert.ok(left === 0 || left === 20_000, `never half-applied: ${left} records after the kill (job was ${seen})`);
        child = await start();
        // On PostgreSQL the job waits for the killed process's lease (30 s) to run out: other
        // processes may be working on it. A SQLite file has one process, which takes it back at once.
        assert.equal(await waitFor(api, 'v2024', source.id!, 4000), 'COMPLETED');
        assert.equal(await count(), 20_000);
        const done = await db.kysely.selectFrom('bulk_jobs').select(['status', 'created_count']).where('id', '=', job.id!).executeTakeFirstOrThrow();
        assert.deepEqual([done.status, Number(done.created_count)], ['COMPLETED', 20_000]);
      } finally {
        await db.close();
      }
    } finally {
      // Gone before its schema is: a schema dropped under a running server waits on its work.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const stuck = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(stuck);
      }
      await dropSchema(dbConfig);
    }
  });
});
