/**
 * Races not covered by test/http/*.test.ts (see the table in docs/reliability.md for the others):
 * - a bulk upload against single creates on the same source (shared accountNames, and at the
 *   20,000-record limit): no duplicate accountName, the limit holds exactly, record_count is true;
 * - PATCH against PATCH on one record: every PATCH is applied whole, none mixes with another.
 * In-process (app.inject), on the engine DATABASE_URL names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { errorOf, harness, type Harness } from '../helpers/app.js';
import { csvLine } from '../../src/modules/bulk/csv.js';

const HEADER = ['accountName', 'firstName', 'lastName', 'phone', 'email', 'manager', 'startDate', 'endDate', 'note'];
const row = (accountName: string) => [
  accountName,
  'Bulk',
  'Row',
  '555',
  `${accountName}@example.com`,
  'admin',
  '2024-01-01T00:00:00.000Z',
  '2026-01-01T00:00:00.000Z',
  'bulk',
];
const csv = (names: string[]) => [csvLine(HEADER), ...names.map((n) => csvLine(row(n)))].join('');

function multipart(text: string): { payload: Buffer; contentType: string } {
  const boundary = `----nelm${randomBytes(8).toString('hex')}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="race.csv"\r\nContent-Type: text/csv\r\n\r\n`),
    Buffer.from(text),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('races: bulk upload against single creates, PATCH against PATCH', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => h.close());

  const newSource = async (name: string) => {
    const res = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, { name, description: name, owner: { id: h.admin.identity.id } });
    assert.equal(res.statusCode, 200, res.body);
    const id = res.json().id as string;
    const attr = await h.request('POST', `/v2024/non-employee-sources/${id}/schema-attributes`, h.admin.token, {
      type: 'TEXT',
      label: 'note',
      technicalName: 'note',
    });
    assert.equal(attr.statusCode, 200, attr.body);
    return id;
  };
  const upload = (sourceId: string, text: string) => {
    const { payload, contentType } = multipart(text);
    return h.app.inject({
      method: 'POST',
      url: `/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload`,
      headers: { authorization: `Bearer ${h.admin.token}`, 'content-type': contentType },
      payload,
    });
  };
  const finished = async (sourceId: string, jobId: string) => {
    for (let i = 0; i < 3000; i++) {
      const j = (await h.request('GET', `/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload/jobs/${jobId}`, h.admin.token)).json();
      if (j.status === 'COMPLETED' || j.status === 'ERROR') return j as { status: string; counts: { created: number; updated: number; unchanged: number } };
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`job ${jobId} did not end`);
  };
  const single = (sourceId: string, accountName: string) =>
    h.request('POST', '/v2024/non-employee-records', h.admin.token, {
      accountName,
      firstName: 'Single',
      lastName: 'Create',
      email: `${accountName}@example.com`,
      phone: '555',
      manager: 'admin',
      sourceId,
      startDate: '2024-01-01T00:00:00Z',
      endDate: '2026-01-01T00:00:00Z',
      data: { note: 'single' },
    });
  const counts = async (sourceId: string) => {
    const rows = await h.app.db.kysely.selectFrom('records').select('account_name').where('source_id', '=', sourceId).execute();
    const slots = await h.app.db.kysely.selectFrom('sources').select('record_count').where('id', '=', sourceId).executeTakeFirstOrThrow();
    return { names: rows.map((r) => r.account_name), recordCount: Number(slots.record_count) };
  };

  test('bulk upload against 40 single creates with shared accountNames: every name once, record_count true', async () => {
    for (let round = 0; round < 3; round++) {
      const source = await newSource(`bulk vs single ${round}`);
      const bulkNames = Array.from({ length: 500 }, (_, i) => `bulk.${i}`);
      const shared = Array.from({ length: 20 }, (_, i) => `bulk.${i * 25}`);
      const own = Array.from({ length: 20 }, (_, i) => `single.${i}`);
      const [posted, ...singles] = await Promise.all([upload(source, csv(bulkNames)), ...[...shared, ...own].map((n) => single(source, n))]);
      assert.equal(posted!.statusCode, 202, posted!.body);
      const job = await finished(source, posted!.json().id);
      assert.equal(job.status, 'COMPLETED');
      for (const [i, res] of singles.entries()) {
        if (i >= shared.length) assert.equal(res.statusCode, 200, res.body);
        else if (res.statusCode !== 200) assert.equal(errorOf(res).detailCode, '400.1.409 Reference conflict', res.body);
      }
      const sharedWins = singles.slice(0, shared.length).filter((r) => r.statusCode === 200).length;
      assert.equal(job.counts.created + sharedWins, 500, 'a shared name is created by the single create or by the job, never both');
      const { names, recordCount } = await counts(source);
      assert.equal(new Set(names).size, names.length, 'no duplicate accountName');
      assert.equal(names.length, 520);
      assert.equal(recordCount, names.length, 'record_count matches the records');
    }
  });

  test('bulk upload against single creates at the 20,000 limit: never more than 20,000', { timeout: 120_000 }, async () => {
    const source = await newSource('bulk vs single at the limit');
    const base = Array.from({ length: 19_950 }, (_, i) => `base.${i}`);
    const first = await upload(source, csv(base));
    assert.equal(first.statusCode, 202, first.body);
    assert.equal((await finished(source, first.json().id)).status, 'COMPLETED');
    // 40 rows by upload and 40 single creates race for the last 50 slots.
    const bulkNames = Array.from({ length: 40 }, (_, i) => `late.bulk.${i}`);
    const own = Array.from({ length: 40 }, (_, i) => `late.single.${i}`);
    const [posted, ...singles] = await Promise.all([upload(source, csv(bulkNames)), ...own.map((n) => single(source, n))]);
    let jobCreated = 0;
    if (posted!.statusCode === 202) {
      const job = await finished(source, posted!.json().id);
      if (job.status === 'COMPLETED') jobCreated = job.counts.created;
      else assert.equal(job.status, 'ERROR');
    } else {
      assert.equal(errorOf(posted!).detailCode, '400.1.4 Limit violation', posted!.body);
    }
    const ok = singles.filter((r) => r.statusCode === 200).length;
    for (const r of singles) if (r.statusCode !== 200) assert.equal(errorOf(r).detailCode, '400.1.4 Limit violation', r.body);
    const { names, recordCount } = await counts(source);
    assert.equal(names.length, 19_950 + ok + jobCreated);
    assert.ok(names.length <= 20_000, `${names.length} records: the limit was passed`);
    assert.equal(new Set(names).size, names.length, 'no duplicate accountName');
    assert.equal(recordCount, names.length, 'record_count matches the records');
    assert.ok(jobCreated === 0 || jobCreated === 40, 'the job applied all its rows or none');
  });

  test('20 PATCHes of one record in parallel: each applied whole, the result is exactly one of them', async () => {
    const source = await newSource('patch vs patch');
    const created = await single(source, 'patched');
    assert.equal(created.statusCode, 200, created.body);
    const id = created.json().id as string;
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          h.request(
            'PATCH',
            `/v2024/non-employee-records/${id}`,
            h.admin.token,
            [
              { op: 'replace', path: '/lastName', value: `L${round}.${i}` },
              { op: 'replace', path: '/phone', value: `555-${round}-${i}` },
              { op: 'add', path: '/data/note', value: `N${round}.${i}` },
            ],
            { 'content-type': 'application/json-patch+json' },
          ),
        ),
      );
      for (const r of results) assert.equal(r.statusCode, 200, r.body);
      const now = (await h.request('GET', `/v2024/non-employee-records/${id}`, h.admin.token)).json();
      const winner = /^L(\d+\.\d+)$/.exec(now.lastName)?.[1];
      assert.ok(winner, now.lastName);
      assert.equal(now.data.note, `N${winner}`, 'lastName and note come from the same PATCH');
      assert.equal(now.phone, `555-${winner.replace('.', '-')}`, 'lastName and phone come from the same PATCH');
      // Each answer is the record as that PATCH left it: whole, never a mix.
      for (const r of results) {
        const b = r.json();
        const k = /^L(\d+\.\d+)$/.exec(b.lastName)![1]!;
        assert.equal(b.data.note, `N${k}`);
      }
    }
    const { names, recordCount } = await counts(source);
    assert.deepEqual(names, ['patched']);
    assert.equal(recordCount, 1);
  });
});
