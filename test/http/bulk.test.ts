/**
 * Bulk upload, export, template and status and the job extension
 * endpoints, through app.inject: every error path, the job's rules (all rows or none, the
 * 20,000 limit, order per source, restarts), authorization. Bodies are checked against the
 * upstream OpenAPI slices.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { adminPrincipal, errorOf, harness, type Caller, type Harness } from '../helpers/app.js';
import { assertMatchesContract, type Flavour } from '../helpers/contract.js';

const SYSTEM = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate';
const row = (name: string, first = 'Ann', extra = 'Sales,B1') => `${name},${first},Lee,555-0100,${name}@example.com,admin,2024-01-01,2024-12-31,${extra}`;
const file = (...rows: string[]) => `${[`${SYSTEM},department,badge`, ...rows].join('\n')}\n`;
const many = (n: number, prefix: string) => file(...Array.from({ length: n }, (_, i) => row(`${prefix}${i}`)));

const base = (flavour: Flavour, sourceId: string) =>
  flavour === 'v1' ? `/non-employee-sources/v1/${sourceId}` : `/${flavour}/non-employee-sources/${sourceId}`;

interface Part {
  name?: string;
  value: string | Buffer;
  filename?: string | null;
  type?: string;
}

function multipart(parts: Part[]): { payload: Buffer; contentType: string } {
  const boundary = `----bulk${randomBytes(6).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const filename = p.filename === null ? '' : `; filename="${p.filename ?? 'records.csv'}"`;
    const type = p.filename === null ? '' : `Content-Type: ${p.type ?? 'text/csv'}\r\n`;
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name ?? 'data'}"${filename}\r\n${type}\r\n`),
      Buffer.from(p.value),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('bulk upload, export, template, status', () => {
  let h: Harness;
  let token: string;
  let reader: Caller;
  let creator: Caller;
  let manager: Caller;
  const sources: Record<string, string> = {};

  const upload = (sourceId: string, parts: Part[] | string, options: { token?: string; flavour?: Flavour } = {}) => {
    const { payload, contentType } = multipart(typeof parts === 'string' ? [{ value: parts }] : parts);
    return h.app.inject({
      method: 'POST',
      url: `${base(options.flavour ?? 'v2024', sourceId)}/non-employee-bulk-upload`,
      headers: { authorization: `Bearer ${options.token ?? token}`, 'content-type': contentType },
      payload,
    });
  };
  const get = (url: string, as = token) => h.request('GET', url, as);
  const job = async (sourceId: string, id: string) => (await get(`${base('v2024', sourceId)}/non-employee-bulk-upload/jobs/${id}`)).json();
  const finished = async (sourceId: string, id: string) => {
    for (const end = Date.now() + 120_000; Date.now() < end; ) {
      const j = await job(sourceId, id);
      if (j.status === 'COMPLETED' || j.status === 'ERROR') return j;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`job ${id} did not finish`);
  };
  const imported = async (sourceId: string, csv: string) => {
    const res = await upload(sourceId, csv);
    assert.equal(res.statusCode, 202, res.body);
    return finished(sourceId, res.json().id);
  };
  const records = async (sourceId: string) =>
    (await h.app.db.kysely.selectFrom('records').selectAll().where('source_id', '=', sourceId).orderBy('account_name').execute()).map((r) => ({
      ...r,
      data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
    }));
  const newSource = async (
    name: string,
    custom: [string, boolean][] = [
      ['department', false],
      ['badge', true],
    ],
  ) => {
    const res = await h.request('POST', '/v2024/non-employee-sources', token, {
      name,
      description: 'bulk',
      owner: { id: h.admin.identity.id },
      accountManagers: [{ id: manager.identity.id }],
    });
    assert.equal(res.statusCode, 200, res.body);
    for (const [technicalName, required] of custom) {
      assert.equal(
        (
          await h.request('POST', `/v2024/non-employee-sources/${res.json().id}/schema-attributes`, token, {
            type: 'TEXT',
            label: technicalName,
            technicalName,
            required,
          })
        ).statusCode,
        200,
      );
    }
    return res.json().id as string;
  };

  before(async () => {
    h = await harness();
    token = h.admin.token;
    reader = await h.caller('bulk.reader', { rights: ['idn:nesr:read'] });
    creator = await h.caller('bulk.creator', { rights: ['idn:nesr:create'] });
    manager = await h.caller('bulk.manager');
    for (const name of ['main', 'empty', 'errors', 'order', 'other', 'full', 'restart']) sources[name] = await newSource(name);
  });
  after(async () => h.close());

  test('template: the header of the source, system attributes first, on every flavour', async () => {
    for (const flavour of ['v3', 'beta', 'v2024', 'v2025', 'v2026', 'v1'] as Flavour[]) {
      const res = await get(`${base(flavour, sources.main!)}/schema-attributes-template/download`);
      assert.equal(res.statusCode, 200, `${flavour} ${res.body}`);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      assert.match(String(res.headers['content-disposition']), /^attachment; filename=".+\.csv"$/);
      assert.equal(res.body, `${SYSTEM},department,badge\n`);
    }
    assert.equal(
      (await get(`${base('v2024', sources.main!)}/schema-attributes-template/download`, manager.token)).statusCode,
      200,
      'an account manager may read it',
    );
  });

  test('status: null while the source has no job, valid against every flavour', async () => {
    for (const flavour of ['v2024', 'beta', 'v1'] as Flavour[]) {
      const res = await get(`${base(flavour, sources.empty!)}/non-employee-bulk-upload/status`);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: null });
      assertMatchesContract(flavour, 'GET', '/non-employee-sources/{id}/non-employee-bulk-upload/status', 200, res.json());
    }
  });

  test('import: a BOM, CRLF, any header case, spaces and quotes; the job and status follow the contract', async () => {
    const csv =
      '\uFEFF AccountName , FIRSTNAME,lastname,Phone,email,manager,startdate,ENDDATE,Department,badge\r\n' +
      'jon.smith, Jon, Smith, 555-555-5555, jon@example.com, admin, 2020-04-05T08:00:00-10:00,2020-08-07T19:00:00-10:00, "Sales, EMEA", B1\r\n' +
      '\r\n' +
      `"ann.o'neil","Ann","O'Neil","'+1 555","ann@example.com","admin","2021-01-01","2021-12-31","say ""hi"", there","'=SUM(A1)"\r\n`;
    for (const flavour of ['v2024', 'beta', 'v1'] as Flavour[]) {
      const res = await upload(sources.main!, [{ value: csv }], { flavour });
      assert.equal(res.statusCode, 202, res.body);
      assertMatchesContract(flavour, 'POST', '/non-employee-sources/{id}/non-employee-bulk-upload', 202, res.json());
      assert.equal(res.json().sourceId, sources.main);
      assert.equal(res.json().status, 'PENDING');
      const done = await finished(sources.main!, res.json().id);
      assert.equal(done.status, 'COMPLETED', JSON.stringify(done));
      const status = (await get(`${base(flavour, sources.main!)}/non-employee-bulk-upload/status`)).json();
      assert.deepEqual(status, { status: 'COMPLETED' });
      assertMatchesContract(flavour, 'GET', '/non-employee-sources/{id}/non-employee-bulk-upload/status', 200, status);
    }
    const [ann, jon] = await records(sources.main!);
    assert.equal(jon!.first_name, 'Jon');
    assert.equal(jon!.start_date, '2020-04-05T18:00:00.000Z');
    assert.deepEqual(jon!.data, { department: 'Sales, EMEA', badge: 'B1' });
    assert.equal(ann!.account_name, "ann.o'neil");
    assert.equal(ann!.phone, '+1 555', 'a neutralised cell is read back as the value');
    assert.deepEqual(ann!.data, { department: 'say "hi", there', badge: '=SUM(A1)' });
  });

  test('import updates by accountName; unchanged rows write nothing; a left-out optional column keeps its values', async () => {
    const before = await records(sources.main!);
    const csv = [
      `${SYSTEM},badge`,
      'jon.smith,Jonathan,Smith,555-555-5555,jon@example.com,admin,2020-04-05T18:00:00Z,2020-08-08T05:00:00Z,B1',
      `ann.o'neil,Ann,O'Neil,+1 555,ann@example.com,admin,2021-01-01,2021-12-31,=SUM(A1)`,
      'new.one,New,One,1,new@example.com,admin,2022-01-01,2022-01-02,B9',
    ].join('\n');
    const done = await imported(sources.main!, csv);
    assert.equal(done.status, 'COMPLETED', JSON.stringify(done));
    assert.deepEqual(done.counts, { created: 1, updated: 1, unchanged: 1, failed: 0 });
    assert.equal(done.rows, 3);
    const after = await records(sources.main!);
    const jon = after.find((r) => r.account_name === 'jon.smith')!;
    assert.equal(jon.first_name, 'Jonathan');
    // What the API sends is the row as written.
    const sent = (await get(`/v2024/non-employee-records/${jon.id}`)).json();
    assert.deepEqual([sent.firstName, sent.modified, sent.data], ['Jonathan', jon.modified, jon.data]);
    assert.deepEqual(jon.data, { department: 'Sales, EMEA', badge: 'B1' });
    assert.equal(jon.id, before.find((r) => r.account_name === 'jon.smith')!.id);
    const ann = after.find((r) => r.account_name === "ann.o'neil")!;
    assert.equal(ann.modified, before.find((r) => r.account_name === "ann.o'neil")!.modified, 'an equal row leaves its record alone');
  });

  test('an accountName in another case updates its record; two rows of one name in two cases are one too many', async () => {
    const source = await newSource('caseless', []);
    const first = await imported(source, `${SYSTEM}\nAnn.Case,Ann,Case,1,ann@example.com,admin,2021-01-01,2021-12-31`);
    assert.equal(first.status, 'COMPLETED', JSON.stringify(first));
    // The manager alias in another case names the same identity.
    const again = await imported(source, `${SYSTEM}\nann.case,Anna,Case,1,ann@example.com,ADMIN,2021-01-01,2021-12-31`);
    assert.equal(again.status, 'COMPLETED', JSON.stringify(again));
    assert.deepEqual(again.counts, { created: 0, updated: 1, unchanged: 0, failed: 0 });
    const [row] = await records(source);
    assert.deepEqual([row!.account_name, row!.first_name, row!.manager], ['ann.case', 'Anna', 'ADMIN']);
    const twice = await upload(
      source,
      `${SYSTEM}\nbo.b,Bo,B,1,bo@example.com,admin,2021-01-01,2021-12-31\nBO.B,Bo,B,1,bo@example.com,admin,2021-01-01,2021-12-31`,
    );
    assert.equal(twice.statusCode, 202, twice.body);
    const failed = await finished(source, twice.json().id);
    assert.equal(failed.status, 'ERROR', JSON.stringify(failed));
    const errors = await get(`${base('v2024', source)}/non-employee-bulk-upload/jobs/${twice.json().id}/errors`);
    assert.match(errors.body, /^3,accountName,BO\.B,"accountName ""BO\.B"" is already on line 2"$/m);
  });

  test('export: every record under the header, quoted, neutralised, ISO 8601 dates, with a file name', async () => {
    for (const flavour of ['v3', 'beta', 'v2024', 'v1'] as Flavour[]) {
      const res = await get(`${base(flavour, sources.main!)}/non-employees/download`);
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      assert.match(String(res.headers['content-disposition']), /^attachment; filename="[0-9a-f-]{36}-non-employees\.csv"$/);
      assert.equal(
        res.body,
        `${SYSTEM},department,badge\n` +
          `ann.o'neil,Ann,O'Neil,'+1 555,ann@example.com,admin,2021-01-01T00:00:00Z,2021-12-31T00:00:00Z,"say ""hi"", there",'=SUM(A1)\n` +
          'jon.smith,Jonathan,Smith,555-555-5555,jon@example.com,admin,2020-04-05T18:00:00Z,2020-08-08T05:00:00Z,"Sales, EMEA",B1\n' +
          'new.one,New,One,1,new@example.com,admin,2022-01-01T00:00:00Z,2022-01-02T00:00:00Z,,B9\n',
      );
    }
    assert.equal((await get(`${base('v2024', sources.empty!)}/non-employees/download`)).body, `${SYSTEM},department,badge\n`);
    assert.equal((await get(`${base('v2024', sources.main!)}/non-employees/download`, manager.token)).statusCode, 200, 'an account manager may export');
  });

  test('export pages through large sources (by accountName)', async () => {
    const done = await imported(sources.other!, many(2500, 'p'));
    assert.equal(done.counts.created, 2500);
    const lines = (await get(`${base('v2024', sources.other!)}/non-employees/download`)).body.trimEnd().split('\n');
    assert.equal(lines.length, 2501);
    const names = lines.slice(1).map((l) => l.split(',')[0]!);
    assert.deepEqual(names, [...names].sort());
    assert.equal(new Set(names).size, 2500);
  });

  test('upload refused at once: 400 with one cause per problem', async () => {
    const causes = async (res: Awaited<ReturnType<typeof upload>>, count?: number) => {
      assert.equal(res.statusCode, 400, res.body);
      const body = errorOf(res);
      assertMatchesContract('v2024', 'POST', '/non-employee-sources/{id}/non-employee-bulk-upload', 400, body);
      if (count !== undefined) assert.equal(body.causes.length, count, JSON.stringify(body.causes));
      return body.causes.map((c) => c.text).join('\n');
    };
    const id = sources.errors!;
    assert.match(await causes(await upload(id, [{ name: 'other', value: 'x' }]), 1), /data is required/);
    assert.match(await causes(await h.request('POST', `${base('v2024', id)}/non-employee-bulk-upload`, token, {}), 1), /data is required/);
    assert.match(
      await causes(await h.request('POST', `${base('v2024', id)}/non-employee-bulk-upload`, token, '', { 'content-type': 'application/json' })),
      /data is required/,
    );
    const cut = await h.app.inject({
      method: 'POST',
      url: `${base('v2024', id)}/non-employee-bulk-upload`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=b' },
      payload: '--b\r\nContent-Disposition: form-data; name="data"\r\n\r\naccountName',
    });
    assert.match(await causes(cut, 1), /multipart\/form-data body is malformed/);
    assert.match(await causes(await upload(id, [{ value: '' }]), 1), /empty/);
    assert.match(await causes(await upload(id, [{ value: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]) }]), 1), /not UTF-8/);
    assert.match(await causes(await upload(id, [{ value: 'x', type: 'image/png' }]), 1), /must be a CSV file/);
    assert.match(await causes(await upload(id, file(row('a'), '"b,c')), 1), /line 3: a quoted field is not closed/);
    assert.match(await causes(await upload(id, file(row('a'), 'b,c')), 1), /line 3 has 2 fields/);
    const header = await causes(await upload(id, 'accountname,nickname,EMAIL,email,badge\n1,2,3,4,5\n'));
    for (const expected of [/"nickname" is not an attribute/, /"email" repeats column 3/, /"firstName" is missing/, /"endDate" is missing/])
      assert.match(header, expected);
    assert.equal(header.split('\n').length, 8, 'one cause per problem: nickname, the repeat and 6 missing columns');
    assert.match(await causes(await upload(id, [{ value: Buffer.alloc(16 * 1024 * 1024 + 1, 'a') }]), 1), /larger than 16 MiB/);
    assert.match(
      await causes(await upload(id, [{ value: Buffer.alloc(16 * 1024 * 1024 + 1, 'a'), filename: null }]), 1),
      /larger than 16 MiB/,
      'a text field too',
    );
    assert.match(await causes(await upload(id, [{ value: 'a' }, { value: 'b' }])), /given once|too many files/);
    const tooMany = await upload(id, many(20_001, 'x'));
    assert.equal(errorOf(tooMany).detailCode, '400.1.4 Limit violation');
    assert.match(await causes(tooMany, 1), /20001 rows; a source holds at most 20000/);
    assert.deepEqual((await get(`${base('v2024', id)}/non-employee-bulk-upload/jobs`)).json(), [], 'nothing was queued');
  });

  test('who may: 401 without a token, 403 without idn:nesr:create (or read), 404 for unknown sources', async () => {
    const unknown = 'f'.repeat(32);
    assert.equal((await upload(sources.main!, file(row('z')), { token: 'nope' })).statusCode, 401);
    for (const caller of [reader, manager]) assert.equal((await upload(sources.main!, file(row('z')), { token: caller.token })).statusCode, 403);
    assert.equal((await upload(unknown, file(row('z')), { token: creator.token })).statusCode, 404);
    assert.equal((await upload(sources.empty!, file(row('c.one')), { token: creator.token })).statusCode, 202, 'idn:nesr:create may upload');
    // The export and the template are the source's data: idn:nesr:read (or its owner and account
    // managers); the upload status and jobs follow an upload: idn:nesr:read or idn:nesr:create.
    for (const [path, uploader] of [
      ['non-employees/download', 403],
      ['schema-attributes-template/download', 403],
      ['non-employee-bulk-upload/status', 200],
      ['non-employee-bulk-upload/jobs', 200],
    ] as const) {
      assert.equal((await get(`${base('v2024', sources.main!)}/${path}`, creator.token)).statusCode, uploader, path);
      assert.equal((await get(`${base('v2024', sources.main!)}/${path}`, reader.token)).statusCode, 200, path);
      const missing = await get(`${base('v2024', unknown)}/${path}`);
      assert.equal(missing.statusCode, 404, path);
      errorOf(missing);
    }
  });

  test('an invalid row fails the whole job: ERROR, nothing written, the errors as CSV', async () => {
    const id = sources.errors!;
    const csv = file(row('ok.one'), row('bad.one', '', 'Sales,'), row('ok.two'), 'bad.two,B,C,1,not-mail,nobody,2024-02-30,2024-01-01,,B2', row('ok.one'));
    const done = await imported(id, csv);
    assert.equal(done.status, 'ERROR');
    assert.deepEqual(done.counts, { created: 0, updated: 0, unchanged: 0, failed: 3 });
    assert.match(done.message, /3 of 5 rows are invalid/);
    assert.deepEqual(await records(id), []);
    const errors = await get(`${base('v2024', id)}/non-employee-bulk-upload/jobs/${done.id}/errors`);
    assert.match(String(errors.headers['content-type']), /^text\/csv/);
    const lines = errors.body.trimEnd().split('\n');
    assert.equal(lines[0], 'line,column,value,message');
    assert.equal(lines.length - 1, done.errorCount);
    for (const expected of [
      /^3,firstName,,firstName is required$/,
      /^3,badge,,data\.badge is required$/,
      /^5,email,not-mail,/,
      /^5,manager,nobody,/,
      /^5,startDate,2024-02-30,/,
      /^6,accountName,ok\.one,"?accountName ""?ok\.one""? is already on line 2/,
    ]) {
      assert.ok(
        lines.some((l) => expected.test(l)),
        `${expected} in\n${errors.body}`,
      );
    }
    assert.deepEqual((await get(`${base('v2024', id)}/non-employee-bulk-upload/status`)).json(), { status: 'ERROR' });
  });

  test('job endpoints: newest first with counts, one job, 404s', async () => {
    const res = await get(`${base('v2024', sources.main!)}/non-employee-bulk-upload/jobs?count=true&limit=2`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-total-count'], '4');
    const [newest, older] = res.json();
    assert.deepEqual(newest.counts, { created: 1, updated: 1, unchanged: 1, failed: 0 });
    assert.ok(newest.created >= older.created);
    assert.equal(newest.fileName, 'records.csv');
    assert.equal((await get(`${base('v1', sources.main!)}/non-employee-bulk-upload/jobs/${newest.id}`)).json().id, newest.id);
    assert.equal((await get(`${base('v2024', sources.main!)}/non-employee-bulk-upload/jobs/${newest.id}/errors`)).body, 'line,column,value,message\n');
    assert.equal((await get(`${base('v2024', sources.other!)}/non-employee-bulk-upload/jobs/${newest.id}`)).statusCode, 404, 'a job of another source');
    assert.equal((await get(`${base('v2024', sources.main!)}/non-employee-bulk-upload/jobs/${'e'.repeat(32)}/errors`)).statusCode, 404);
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const p of [
      '/v2024/non-employee-sources/{id}/non-employee-bulk-upload/jobs',
      '/non-employee-sources/v1/{id}/non-employee-bulk-upload/jobs/{jobId}/errors',
    ]) {
      assert.equal(doc.paths[p].get['x-nelm-extension'], true, p);
    }
    assert.deepEqual(Object.keys(doc.paths['/v2024/non-employee-sources/{id}/non-employee-bulk-upload'].post.requestBody.content), ['multipart/form-data']);
  });

  test('an export lets the event loop turn between two pages of records', async () => {
    const id = await newSource('export-turns');
    assert.equal((await imported(id, many(2500, 'turn'))).counts.created, 2500);
    const principal = adminPrincipal(h);
    const download = await h.app.services.bulk.export(principal, id);
    const lines = download.lines[Symbol.asyncIterator]();
    const chunks = [(await lines.next()).value, (await lines.next()).value];
    // Reading a page from SQLite never waits for I/O: without a turn between two pages, an export
    // would hold the event loop until its last page.
    let turned = false;
    setImmediate(() => (turned = true));
    chunks.push((await lines.next()).value);
    assert.equal(turned, true, 'an immediate queued before the second page ran before it came');
    for (let next = await lines.next(); !next.done; next = await lines.next()) chunks.push(next.value);
    assert.equal(chunks.join('').split('\n').length - 2, 2500);
  });

  test('jobs of one source run one after the other, in upload order, even with two workers', async () => {
    const id = sources.order!;
    const runner = h.app.services.bulkJobs;
    await runner.stop();
    try {
      const ids: string[] = [];
      for (const first of ['One', 'Two', 'Three']) ids.push((await upload(id, file(row('same.person', first)))).json().id);
      const { BulkJobRunner } = await import('../../src/modules/bulk/runner.js');
      const { BulkRepository } = await import('../../src/modules/bulk/repository.js');
      const db = h.app.db;
      const { records: recordService, attributes, sources: sourceService, directory } = h.app.services;
      const second = new BulkJobRunner(db.kysely, new BulkRepository(db.dialect), {
        records: recordService,
        attributes,
        sources: sourceService,
        directory,
        events: h.app.services.events,
      });
      await Promise.all([runner.drain(), second.drain(), runner.drain()]);
      const jobs = await Promise.all(ids.map((j) => finished(id, j)));
      assert.deepEqual(
        jobs.map((j) => [j.status, j.counts.created, j.counts.updated]),
        [
          ['COMPLETED', 1, 0],
          ['COMPLETED', 0, 1],
          ['COMPLETED', 0, 1],
        ],
      );
      assert.equal((await records(id))[0]!.first_name, 'Three');
    } finally {
      await runner.start();
    }
  });

  test('the 20,000 limit counts existing plus new records, at upload and when the job runs', async () => {
    const id = sources.full!;
    assert.equal((await imported(id, many(19_998, 'f'))).counts.created, 19_998);
    // f1 and F2 are held already (accountNames match caselessly); N1 is n1.
    const over = await upload(id, file(row('n1'), row('n2'), row('n3'), row('f1'), row('F2'), row('N1')));
    assert.equal(over.statusCode, 400);
    assert.match(errorOf(over).causes[0]!.text, /adds 3 records to the 19998 of the source/);
    const runner = h.app.services.bulkJobs;
    await runner.stop();
    let late: string;
    try {
      late = (await upload(id, file(row('n1'), row('n2')))).json().id;
      const body = {
        accountName: 'direct',
        firstName: 'D',
        lastName: 'R',
        email: 'd@example.com',
        phone: '1',
        manager: 'admin',
        sourceId: id,
        startDate: '2024-01-01',
        endDate: '2024-02-01',
        data: { badge: 'B' },
      };
      assert.equal((await h.request('POST', '/v2024/non-employee-records', token, body)).statusCode, 200);
    } finally {
      await runner.start();
    }
    const failed = await finished(id, late);
    assert.equal(failed.status, 'ERROR');
    assert.match(failed.message, /would pass the limit of 20000/);
    assert.equal((await records(id)).length, 19_999);
    const fits = await imported(id, file(row('n1'), row('f0', 'Changed')));
    assert.deepEqual([fits.status, fits.counts.created, fits.counts.updated], ['COMPLETED', 1, 1]);
    const source = await h.app.db.kysely.selectFrom('sources').select('record_count').where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(Number(source.record_count), 20_000);
  });

  test('a failure inside the apply leaves nothing behind; a job left IN_PROGRESS runs again at start-up', async () => {
    const id = sources.restart!;
    const runner = h.app.services.bulkJobs;
    const service = h.app.services.records;
    await runner.stop();
    const original = service.insertNew;
    try {
      const jobId = (await upload(id, many(300, 'r'))).json().id;
      service.insertNew = async function (this: typeof service, ...args: Parameters<typeof original>) {
        await original.apply(this, args);
        throw new Error('crash after the inserts');
      };
      await runner.drain();
      assert.equal((await job(id, jobId)).status, 'PENDING', 'given back to the queue');
      assert.equal((await records(id)).length, 0, 'the inserts were rolled back');
      service.insertNew = original;
      // A worker that died holding the job: IN_PROGRESS, claimed by nobody alive.
      await h.app.db.kysely.updateTable('bulk_jobs').set({ status: 'IN_PROGRESS', claimed_by: 'dead-worker' }).where('id', '=', jobId).execute();
      await runner.start();
      const done = await finished(id, jobId);
      assert.deepEqual([done.status, done.counts.created], ['COMPLETED', 300]);
      assert.equal((await records(id)).length, 300);
    } finally {
      service.insertNew = original;
      await runner.start();
    }
  });
});
