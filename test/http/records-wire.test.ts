/**
 * Record lists and single records are written as JSON text without going through the response
 * schema (src/modules/records/wire.ts): every list must hold exactly what GET of each record
 * shows, and GET exactly what the create operation answered (the response-schema serializer),
 * keys in the same order, for any text a record can hold, on the plain and the cross-source
 * (merge) plans.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from '../helpers/app.js';

const TEXTS = ['plain', 'quote " and \\ backslash', 'slash / and ünïcödé 漢字', 'emoji 😀 and \u2028 separator', 'tab\there', "O'Neil", '{"not":"json"}', ' spaced '];

describe('records: lists serialized as GET serializes each record', () => {
  let h: Harness;
  const sources: string[] = [];
  /** The create operation's answer for each record, by id. */
  const created = new Map<string, Record<string, unknown>>();

  before(async () => {
    h = await harness();
    const manager = await h.caller('jane.doe');
    for (const name of ['Wire A', 'Wire B']) {
      const res = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, { name, description: name, owner: { id: manager.identity.id } });
      assert.equal(res.statusCode, 200, res.body);
      const sourceId = res.json().id as string;
      for (const technicalName of ['note', 'quote']) {
        const attr = await h.request('POST', `/v2024/non-employee-sources/${sourceId}/schema-attributes`, h.admin.token, { type: 'TEXT', label: technicalName, technicalName });
        assert.equal(attr.statusCode, 200, attr.body);
      }
      sources.push(sourceId);
    }
    let n = 0;
    for (const sourceId of sources) {
      for (const text of TEXTS) {
        n++;
        const res = await h.request('POST', '/v2024/non-employee-records', h.admin.token, {
          accountName: `wire.${n}`,
          firstName: text,
          lastName: TEXTS[(n * 3) % TEXTS.length],
          email: `wire.${n}@example.com`,
          phone: text,
          manager: 'jane.doe',
          sourceId,
          startDate: '2020-03-24T00:00:00-05:00',
          endDate: '2021-03-25',
          data: n % 3 === 0 ? {} : { note: text, quote: `"${text}"` },
        });
        assert.equal(res.statusCode, 200, res.body);
        created.set(res.json().id, res.json());
      }
    }
  });

  after(() => h.close());

  async function check(query: string, expected: number) {
    const res = await h.request('GET', `/v2024/non-employee-records?${query}`, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    const list = res.json() as { id: string }[];
    assert.equal(list.length, expected);
    for (const record of list) {
      const one = await h.request('GET', `/v2024/non-employee-records/${record.id}`, h.admin.token);
      assert.equal(one.headers['content-type'], res.headers['content-type']);
      const single = one.json();
      assert.deepEqual(record, single);
      assert.deepEqual(Object.keys(record), Object.keys(single));
      const answered = created.get(record.id)!;
      assert.deepEqual(single, answered);
      assert.deepEqual(Object.keys(single), Object.keys(answered));
    }
    return list;
  }

  test('plain plan: one source, sorted by lastName', async () => {
    await check(`filters=${encodeURIComponent(`sourceId eq "${sources[0]}"`)}&sorters=lastName`, TEXTS.length);
  });

  test('merge plan: every source, sorted by firstName descending, paged', async () => {
    const all = await check('sorters=-firstName&limit=250', 2 * TEXTS.length);
    const page = await check('sorters=-firstName&limit=5&offset=3', 5);
    assert.deepEqual(page, all.slice(3, 8));
  });

  test('gets in parallel (one batched read on PostgreSQL) each answer their own record, misses 404', async () => {
    const ids = [...created.keys()];
    const asked = [...ids, ...ids.slice(0, 3), 'f'.repeat(32), ids[1]!.replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-')];
    const answers = await Promise.all(asked.map((id) => h.request('GET', `/v2024/non-employee-records/${id}`, h.admin.token)));
    asked.forEach((id, i) => {
      const res = answers[i]!;
      if (id === 'f'.repeat(32)) {
        assert.equal(res.statusCode, 404, res.body);
        return;
      }
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), created.get(id.replaceAll('-', '')), id);
    });
  });

  test('an empty page is an empty array', async () => {
    const res = await h.request('GET', `/v2024/non-employee-records?offset=1000`, h.admin.token);
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '[]');
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  });
});
