/**
 * What the API sends of a record is one thing wherever it is read: every list holds exactly what
 * GET of each record shows, and GET exactly what the create operation answered, keys in the same
 * order, for any text a record can hold, on the plain and the cross-source (merge) plans.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from '../helpers/app.js';
import { otherSpelling } from '../helpers/ids.js';

const TEXTS = [
  'plain',
  'control \u0001 and \u001f chars',
  'quote " and \\ backslash',
  'slash / and ünïcödé 漢字',
  'emoji 😀 and \u2028 separator',
  'tab\there',
  "O'Neil",
  '{"not":"json"}',
  ' spaced ',
];

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
        const attr = await h.request('POST', `/v2024/non-employee-sources/${sourceId}/schema-attributes`, h.admin.token, {
          type: 'TEXT',
          label: technicalName,
          technicalName,
        });
        assert.equal(attr.statusCode, 200, attr.body);
      }
      sources.push(sourceId);
    }
    // The API refuses control characters in record fields; a row may hold them all the same
    // (written by another tool): those texts are written into firstName and phone with SQL.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced.
    const sendable = (text: string) => text.replace(/[\u0000-\u001f]/g, ' ');
    let n = 0;
    for (const sourceId of sources) {
      for (const text of TEXTS) {
        n++;
        const res = await h.request('POST', '/v2024/non-employee-records', h.admin.token, {
          accountName: `wire.${n}`,
          firstName: sendable(text),
          lastName: sendable(TEXTS[(n * 3) % TEXTS.length]!),
          email: `wire.${n}@example.com`,
          phone: sendable(text),
          manager: 'jane.doe',
          sourceId,
          startDate: '2020-03-24T00:00:00-05:00',
          endDate: '2021-03-25',
          data: n % 3 === 0 ? {} : { note: sendable(text), quote: `"${sendable(text)}"` },
        });
        assert.equal(res.statusCode, 200, res.body);
        if (sendable(text) !== text) {
          await h.app.db.kysely.updateTable('records').set({ first_name: text, phone: text }).where('id', '=', res.json().id).execute();
          created.set(res.json().id, { ...res.json(), firstName: text, phone: text });
        } else created.set(res.json().id, res.json());
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
    const asked = [...ids, ...ids.slice(0, 3), 'f'.repeat(32), otherSpelling(ids[1]!)];
    const answers = await Promise.all(asked.map((id) => h.request('GET', `/v2024/non-employee-records/${id}`, h.admin.token)));
    asked.forEach((id, i) => {
      const res = answers[i]!;
      if (id === 'f'.repeat(32)) {
        assert.equal(res.statusCode, 404, res.body);
        return;
      }
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), created.get(id === asked.at(-1) ? ids[1]! : id), id);
    });
  });

  test('every write is in the JSON sent next: PUT, PATCH, a schema attribute deleted', async () => {
    const sourceId = sources[1]!;
    const listed = async () => {
      const res = await h.request(
        'GET',
        `/v2024/non-employee-records?filters=${encodeURIComponent(`sourceId eq "${sourceId}"`)}&sorters=accountName`,
        h.admin.token,
      );
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Record<string, unknown>[];
    };
    const target = (await listed()).find((r) => (r.data as Record<string, string>).note !== undefined)!;
    const url = `/v2024/non-employee-records/${target.id}`;
    const sent = async () => {
      const one = await h.request('GET', url, h.admin.token);
      assert.equal(one.statusCode, 200, one.body);
      assert.deepEqual(
        (await listed()).find((r) => r.id === target.id),
        one.json(),
      );
      return one.json();
    };

    const put = await h.request('PUT', url, h.admin.token, {
      ...target,
      firstName: 'Put "again"',
      endDate: '2022-01-31T10:11:12.345Z',
      data: { note: 'new', quote: 'q' },
    });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(await sent(), put.json());
    assert.equal((await sent()).endDate, '2022-01-31T10:11:12.345Z');

    const patched = await h.request(
      'PATCH',
      url,
      h.admin.token,
      [
        { op: 'replace', path: '/lastName', value: 'Patched' },
        { op: 'remove', path: '/data/quote' },
      ],
      {
        'content-type': 'application/json-patch+json',
      },
    );
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(await sent(), patched.json());
    assert.deepEqual((await sent()).data, { note: 'new' });

    const attributes = await h.request('GET', `/v2024/non-employee-sources/${sourceId}/schema-attributes`, h.admin.token);
    const note = (attributes.json() as { id: string; technicalName: string }[]).find((a) => a.technicalName === 'note')!;
    const deleted = await h.request('DELETE', `/v2024/non-employee-sources/${sourceId}/schema-attributes/${note.id}`, h.admin.token);
    assert.equal(deleted.statusCode, 204, deleted.body);
    assert.deepEqual((await sent()).data, {});
  });

  test('an empty page is an empty array', async () => {
    const res = await h.request('GET', `/v2024/non-employee-records?offset=1000`, h.admin.token);
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '[]');
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  });
});

/**
 * A page is read through a subquery that picks its keys (list.ts): every plan must keep its ORDER
 * BY in the statement that returns the rows. Enough records, named in an order unrelated to their
 * creation, that a lost ORDER BY shows.
 */
describe('records: pages keep their order when read as one value', () => {
  let h: Harness;
  const sources: string[] = [];
  const records: { id: string; sourceId: string; firstName: string; lastName: string }[] = [];

  before(async () => {
    h = await harness();
    const manager = await h.caller('jane.doe');
    for (const name of ['Order A', 'Order B', 'Order C']) {
      const res = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, { name, description: name, owner: { id: manager.identity.id } });
      assert.equal(res.statusCode, 200, res.body);
      sources.push(res.json().id as string);
    }
    // A fixed pseudo-random sequence: unique last names, first names with many ties.
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const bodies = Array.from({ length: 120 }, (_, n) => ({
      accountName: `order.${n}`,
      firstName: `F${next() % 7}`,
      lastName: `L${String(next() % 100000).padStart(5, '0')}-${n}`,
      email: `order.${n}@example.com`,
      phone: '5550100',
      manager: 'jane.doe',
      sourceId: sources[next() % sources.length]!,
      startDate: '2020-03-24',
      endDate: '2021-03-25',
    }));
    for (let i = 0; i < bodies.length; i += 20) {
      const made = await Promise.all(bodies.slice(i, i + 20).map((body) => h.request('POST', '/v2024/non-employee-records', h.admin.token, body)));
      for (const res of made) {
        assert.equal(res.statusCode, 200, res.body);
        records.push(res.json());
      }
    }
  });

  after(() => h.close());

  const field = (name: string) => name.replace(/^-/, '') as 'firstName' | 'lastName';
  /** Sorted as the API sorts: each sorter in turn, then id in the first sorter's direction. */
  function expected(subset: typeof records, sorters: string[]): string[] {
    const dir = (s: string) => (s.startsWith('-') ? -1 : 1);
    return [...subset]
      .sort((a, b) => {
        for (const s of sorters) if (a[field(s)] !== b[field(s)]) return (a[field(s)] < b[field(s)] ? -1 : 1) * dir(s);
        return (a.id < b.id ? -1 : 1) * dir(sorters[0]!);
      })
      .map((r) => r.id);
  }

  test('plain, seek and merge plans, both directions, first and deeper pages', async () => {
    const plans = [
      { filter: `sourceId eq "${sources[1]}"`, subset: () => records.filter((r) => r.sourceId === sources[1]) },
      { filter: '', subset: () => records },
      { filter: 'manager eq "jane.doe"', subset: () => records },
    ];
    let checked = 0;
    for (const plan of plans) {
      for (const sorters of [['lastName'], ['-lastName'], ['firstName'], ['-firstName'], ['firstName', '-lastName']]) {
        const all = expected(plan.subset(), sorters);
        assert.ok(all.length >= 30);
        for (const [offset, limit] of [
          [0, 250],
          [0, 7],
          [11, 13],
          [all.length - 5, 50],
        ]) {
          const query = `sorters=${sorters.join(',')}&limit=${limit}&offset=${offset}${plan.filter ? `&filters=${encodeURIComponent(plan.filter)}` : ''}`;
          const res = await h.request('GET', `/v2024/non-employee-records?${query}`, h.admin.token);
          assert.equal(res.statusCode, 200, res.body);
          assert.deepEqual(
            (res.json() as { id: string }[]).map((r) => r.id),
            all.slice(offset!, offset! + limit!),
            query,
          );
          checked++;
        }
      }
    }
    assert.equal(checked, 60);
  });
});
