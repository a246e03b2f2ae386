/**
 * Record gets and list pages on a SQLite file, many at once, and while a bulk import holds the
 * write connection in its transaction: reads go to the read-only connection (src/db/sqlite.ts).
 * Every answer must be what one at a time answers, writes must show at once, an import shows all
 * or nothing, and rights apply as on any get. Always on SQLite, whatever DATABASE_URL says.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorOf, harness, type Caller, type Harness } from '../helpers/app.js';

describe('records: many gets at once on a SQLite file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nelm-concurrent-'));
  let h: Harness;
  let manager: Caller;
  const bySource: string[][] = [[], []];
  /** Each record as a get one at a time answers it. */
  const single = new Map<string, string>();

  before(async () => {
    h = await harness({ engine: 'sqlite', databaseUrl: path.join(dir, 'nelm.sqlite'), databaseSchema: undefined });
    manager = await h.caller('read.manager');
    const other = await h.caller('other.manager');
    for (const [i, owner] of [manager, other].entries()) {
      const source = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
        name: `Read ${i}`,
        description: 'd',
        owner: { id: owner.identity.id },
        accountManagers: [{ id: owner.identity.id }],
      });
      assert.equal(source.statusCode, 200, source.body);
      for (let n = 0; n < 20; n++) {
        const res = await h.request('POST', '/v2024/non-employee-records', h.admin.token, {
          accountName: `read.${i}.${n}`,
          firstName: `First ${n}`,
          lastName: `Last "${n}"`,
          email: `read.${i}.${n}@example.com`,
          phone: '555',
          manager: 'read.manager',
          sourceId: source.json().id,
          startDate: '2020-03-24',
          endDate: '2021-03-24',
        });
        assert.equal(res.statusCode, 200, res.body);
        bySource[i]!.push(res.json().id);
      }
    }
    for (const id of bySource.flat()) {
      await new Promise((resolve) => setImmediate(resolve));
      const res = await h.request('GET', `/v2024/non-employee-records/${id}`, h.admin.token);
      assert.equal(res.statusCode, 200, res.body);
      single.set(id, res.body);
    }
  });

  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('answers equal the ones given one at a time, and unknown ids are 404', async () => {
    const unknown = ['0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210'];
    const ids = [...bySource.flat(), ...unknown, ...bySource.flat().reverse()];
    const answers = await Promise.all(ids.map((id) => h.request('GET', `/v2024/non-employee-records/${id}`, h.admin.token)));
    answers.forEach((res, i) => {
      const id = ids[i]!;
      if (unknown.includes(id)) {
        assert.equal(res.statusCode, 404, res.body);
        assert.equal(errorOf(res).messages[0]!.text, `Non-employee record ${id} was not found.`);
      } else {
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.body, single.get(id));
        assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      }
    });
  });

  test('a write shows in the gets that follow it, and a deleted record is 404 in them', async () => {
    const [changed, deleted] = bySource[0]!;
    const put = await h.request('PUT', `/v2024/non-employee-records/${changed}`, h.admin.token, { ...JSON.parse(single.get(changed!)!), firstName: 'Changed' });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal((await h.request('DELETE', `/v2024/non-employee-records/${deleted}`, h.admin.token)).statusCode, 204);
    const answers = await Promise.all(
      [changed, deleted, changed, deleted, changed].map((id) => h.request('GET', `/v2024/non-employee-records/${id}`, h.admin.token)),
    );
    assert.deepEqual(
      answers.map((res) => res.statusCode),
      [200, 404, 200, 404, 200],
    );
    for (const res of [answers[0]!, answers[2]!, answers[4]!]) assert.deepEqual(res.json(), put.json());
    single.set(changed!, put.body);
  });

  test('list pages at once equal the pages listed one at a time', async () => {
    const queries = [
      'limit=7',
      'limit=7&offset=7&sorters=-accountName',
      'sorters=lastName&limit=250',
      `filters=${encodeURIComponent('firstName sw "First 1"')}&sorters=firstName,id`,
      'limit=5&offset=1000',
      'count=true&limit=3&offset=2',
    ];
    const url = (q: string) => `/v2024/non-employee-records?${q}`;
    const alone: { body: string; total: unknown }[] = [];
    for (const q of queries) {
      await new Promise((resolve) => setImmediate(resolve));
      const res = await h.request('GET', url(q), h.admin.token);
      assert.equal(res.statusCode, 200, res.body);
      alone.push({ body: res.body, total: res.headers['x-total-count'] });
    }
    assert.equal(JSON.parse(alone[2]!.body).length, 39, 'every record but the deleted one');
    assert.equal(alone[4]!.body, '[]');
    assert.equal(alone[5]!.total, '39');
    const together = await Promise.all([...queries, ...queries].map((q) => h.request('GET', url(q), h.admin.token)));
    together.forEach((res, i) => {
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(res.body, alone[i % queries.length]!.body, queries[i % queries.length]);
      assert.equal(res.headers['x-total-count'], alone[i % queries.length]!.total);
    });
  });

  test('gets are answered while a bulk import writes, from the last committed state', async () => {
    const source = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
      name: 'Imported',
      description: 'd',
      owner: { id: manager.identity.id },
    });
    assert.equal(source.statusCode, 200, source.body);
    const sourceId = source.json().id as string;
    const rows = Array.from({ length: 4000 }, (_, n) => `bulk.${n},First,Last ${n},555,bulk.${n}@example.com,read.manager,2020-03-24,2021-03-24`);
    const csv = `accountName,firstName,lastName,phone,email,manager,startDate,endDate\n${rows.join('\n')}\n`;
    const boundary = 'concurrent-boundary';
    const payload = `--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="bulk.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`;
    const posted = await h.app.inject({
      method: 'POST',
      url: `/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload`,
      headers: { authorization: `Bearer ${h.admin.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload,
    });
    assert.equal(posted.statusCode, 202, posted.body);
    const jobUrl = `/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload/jobs/${posted.json().id}`;

    // The job runs in one transaction on the write connection; gets, job reads and counts of the
    // imported source are answered meanwhile from the committed state: none or all of its records.
    const [id] = bySource[1]!;
    const countUrl = `/v2024/non-employee-records?count=true&limit=1&filters=${encodeURIComponent(`sourceId eq "${sourceId}"`)}`;
    let gets = 0;
    let answeredWhileRunning = 0;
    for (let status = ''; status !== 'COMPLETED'; ) {
      await new Promise((resolve) => setImmediate(resolve));
      const res = await h.request('GET', `/v2024/non-employee-records/${id}`, h.admin.token);
      assert.equal(res.body, single.get(id!));
      if (++gets % 10 === 0) {
        const total = (await h.request('GET', countUrl, h.admin.token)).headers['x-total-count'];
        status = (await h.request('GET', jobUrl, h.admin.token)).json().status;
        assert.ok(total === '0' || total === '4000', `never part of an import: ${total}`);
        if (status === 'IN_PROGRESS' && total === '0') answeredWhileRunning++;
      }
      assert.ok(gets < 100_000, 'the import ends');
    }
    assert.ok(answeredWhileRunning >= 1, `of ${gets} gets, none was answered while the import ran`);
    const counted = await h.request(
      'GET',
      `/v2024/non-employee-records?count=true&limit=1&filters=${encodeURIComponent(`sourceId eq "${sourceId}"`)}`,
      h.admin.token,
    );
    assert.equal(counted.headers['x-total-count'], '4000');
  });

  test("an account manager's gets at once: their source's records, and 403 for the others", async () => {
    const ids = [...bySource[0]!.slice(2, 8), ...bySource[1]!.slice(0, 6)];
    const answers = await Promise.all(ids.map((id) => h.request('GET', `/v2024/non-employee-records/${id}`, manager.token)));
    answers.forEach((res, i) => {
      if (i < 6) {
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.body, single.get(ids[i]!));
      } else {
        assert.equal(res.statusCode, 403, res.body);
        assert.equal(errorOf(res).detailCode, '403 Forbidden');
      }
    });
  });
});
