/**
 * Non-employee records through app.inject: the seven operations under
 * several flavours, validation, authorization, lists, idempotency, bulk delete and races.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, harness, type Caller, type Harness } from '../helpers/app.js';
import { addAttribute, createSource, recordBody } from '../helpers/factories.js';
import { newId } from '../../src/auth/secrets.js';
import type { NonEmployeeRecord } from '../../src/modules/records/model.js';
import { transaction } from '../../src/db/dialect.js';
import { otherSpelling, UUID7 } from '../helpers/ids.js';

type Flavour = 'v3' | 'beta' | 'v2024' | 'v2025' | 'v2026' | 'v1';
const url = (flavour: Flavour, path = '') => (flavour === 'v1' ? `/non-employee-records/v1${path}` : `/${flavour}/non-employee-records${path}`);
const PATCH = { 'content-type': 'application/json-patch+json' };
const KEYS = ['id', 'accountName', 'firstName', 'lastName', 'email', 'phone', 'manager', 'sourceId', 'data', 'startDate', 'endDate', 'modified', 'created'];

interface World {
  h: Harness;
  owner: Caller;
  manager: Caller;
  /** Source with a custom attribute `costCenter` (required) and `note`; managed by `manager`. */
  sourceId: string;
}

async function setup(): Promise<World> {
  const h = await harness();
  const owner = await h.caller('owner');
  const manager = await h.caller('jane.doe');
  const sourceId = await createSource(h, 'Contractors', owner.identity.id, { accountManagers: [manager.identity.id] });
  await addAttribute(h, sourceId, 'costCenter', true);
  await addAttribute(h, sourceId, 'note');
  return { h, owner, manager, sourceId };
}

async function create(w: World, accountName: string, over: Record<string, unknown> = {}, flavour: Flavour = 'v2024') {
  return w.h.request('POST', url(flavour), w.h.admin.token, recordBody(w.sourceId, accountName, { data: { costCenter: 'CC1' }, ...over }));
}

async function recordCount(h: Harness, sourceId: string): Promise<number> {
  const row = await h.app.db.kysely.selectFrom('sources').select('record_count').where('id', '=', sourceId).executeTakeFirstOrThrow();
  return Number(row.record_count);
}

async function realCount(h: Harness, sourceId: string): Promise<number> {
  const row = await h.app.db.kysely
    .selectFrom('records')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('source_id', '=', sourceId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('records: operations and validation', () => {
  let w: World;
  before(async () => {
    w = await setup();
  });
  after(async () => w.h.close());

  test('create (v3), get (beta), list (v2024), PUT (v1), PATCH (v2025), delete (v2026)', async () => {
    const created = await create(w, 'william.smith', { data: { costCenter: 'CC1', note: 'Auditing' } }, 'v3');
    assert.equal(created.statusCode, 200, created.body);
    const record = created.json();
    assert.deepEqual(Object.keys(record), KEYS);
    assert.match(record.id, UUID7);
    assert.equal(record.sourceId, w.sourceId);
    // Dates come back with the offset they were sent with.
    assert.equal(record.startDate, '2020-03-24T00:00:00-05:00');
    assert.equal(record.endDate, '2021-03-25T00:00:00-05:00');
    assert.deepEqual(record.data, { costCenter: 'CC1', note: 'Auditing' });
    assert.equal(record.created, record.modified);

    const got = await w.h.request('GET', url('beta', `/${record.id}`), w.h.admin.token);
    assert.deepEqual(got.json(), record);
    const list = await w.h.request('GET', url('v2024'), w.h.admin.token);
    assert.deepEqual(list.json(), [record]);

    const put = await w.h.request('PUT', url('v1', `/${record.id}`), w.h.admin.token, { ...record, firstName: 'Will', endDate: '2021-06-30' });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().firstName, 'Will');
    assert.equal(put.json().endDate, '2021-06-30T00:00:00Z');
    assert.equal(put.json().created, record.created);

    const patch = await w.h.request(
      'PATCH',
      url('v2025', `/${record.id}`),
      w.h.admin.token,
      [
        { op: 'replace', path: '/endDate', value: '2021-07-01T00:00-05:00' },
        { op: 'remove', path: '/data/note' },
      ],
      PATCH,
    );
    assert.equal(patch.statusCode, 200, patch.body);
    assert.equal(patch.json().endDate, '2021-07-01T00:00:00-05:00');
    assert.deepEqual(patch.json().data, { costCenter: 'CC1' });
    assert.equal(await recordCount(w.h, w.sourceId), 1);

    assert.equal((await w.h.request('DELETE', url('v2026', `/${record.id}`), w.h.admin.token)).statusCode, 204);
    const again = await w.h.request('DELETE', url('v2026', `/${record.id}`), w.h.admin.token);
    assert.equal(again.statusCode, 404);
    assert.equal(errorOf(again).detailCode, '404 Not found');
    assert.equal((await w.h.request('GET', url('v3', `/${record.id}`), w.h.admin.token)).statusCode, 404);
    assert.equal(await recordCount(w.h, w.sourceId), 0);
  });

  test('the schema lists each missing field; the rules list each faulty field', async () => {
    const missing = await w.h.request('POST', url('v2024'), w.h.admin.token, { accountName: 'x', data: { costCenter: 'CC' } });
    assert.equal(missing.statusCode, 400);
    const texts = errorOf(missing).causes.map((c) => c.text);
    for (const f of ['firstName', 'lastName', 'email', 'phone', 'manager', 'sourceId', 'startDate', 'endDate'])
      assert.ok(texts.includes(`${f} is required`), texts.join(' | '));

    const bad = await w.h.request(
      'POST',
      url('v1'),
      w.h.admin.token,
      recordBody(w.sourceId, ' ', {
        email: 'nope',
        manager: 'no.such.alias',
        startDate: '2020-02-30',
        endDate: '2020-03-24',
        data: { note: 'x', shoeSize: '44' },
      }),
    );
    assert.equal(bad.statusCode, 400);
    const error = errorOf(bad);
    assert.equal(error.detailCode, '400.1 Bad Request Content');
    assert.deepEqual(
      error.causes.map((c) => c.text.split(' ')[0]),
      ['accountName', 'email', 'manager', 'startDate', 'data.shoeSize', 'data.costCenter'],
    );
    assert.match(error.causes[4]!.text, /data.shoeSize is not a custom attribute of the source; its custom attributes are costCenter, note/);

    const order = await create(w, 'order', { startDate: '2021-01-02', endDate: '2021-01-01' });
    assert.match(errorOf(order).causes[0]!.text, /endDate .* is before startDate/);
    const unknownSource = await w.h.request('POST', url('v2024'), w.h.admin.token, recordBody('0123456789abcdef0123456789abcdef', 'x'));
    assert.deepEqual(
      errorOf(unknownSource).causes.map((c) => c.text),
      ['sourceId 0123456789abcdef0123456789abcdef does not name a non-employee source'],
    );
    const nonString = await create(w, 'ns', { data: { costCenter: 5 } });
    assert.equal(nonString.statusCode, 400);
    assert.equal(await recordCount(w.h, w.sourceId), 0);
  });

  test('accountName is unique within its source (400.1.409), not across sources', async () => {
    assert.equal((await create(w, 'dup')).statusCode, 200);
    const dup = await create(w, 'dup', { firstName: 'Other' });
    assert.equal(dup.statusCode, 400);
    const error = errorOf(dup);
    assert.equal(error.detailCode, '400.1.409 Reference conflict');
    assert.equal(error.messages[0]!.text, 'Unable to create Non-Employee because the accountName "dup" is already being used.');
    const other = await createSource(w.h, 'Other source', w.owner.identity.id);
    assert.equal((await w.h.request('POST', url('v2024'), w.h.admin.token, recordBody(other, 'dup'))).statusCode, 200);
    assert.equal(await recordCount(w.h, w.sourceId), 1);
  });

  test('PUT: idempotent, accepts a GET body, 404 when missing, cannot move source, conflicts', async () => {
    const record = (await create(w, 'put.me')).json();
    const first = await w.h.request('PUT', url('v2024', `/${record.id}`), w.h.admin.token, { ...record, lastName: 'Jones' });
    const second = await w.h.request('PUT', url('v2024', `/${record.id}`), w.h.admin.token, { ...record, lastName: 'Jones' });
    assert.equal(first.statusCode, 200);
    assert.deepEqual(second.json(), first.json());
    const same = await w.h.request('PUT', url('v3', `/${record.id}`), w.h.admin.token, first.json());
    assert.deepEqual(same.json(), first.json(), 'an unchanged PUT writes nothing');

    const missing = await w.h.request('PUT', url('v2024', `/${newId()}`), w.h.admin.token, recordBody(w.sourceId, 'ghost', { data: { costCenter: 'x' } }));
    assert.equal(missing.statusCode, 404);
    const other = await createSource(w.h, 'Elsewhere', w.owner.identity.id);
    const move = await w.h.request('PUT', url('v2024', `/${record.id}`), w.h.admin.token, { ...record, sourceId: other });
    assert.equal(move.statusCode, 400);
    assert.equal(errorOf(move).detailCode, '400.1.3 Illegal update attempt');
    assert.equal((await create(w, 'taken')).statusCode, 200);
    const conflict = await w.h.request('PUT', url('v2024', `/${record.id}`), w.h.admin.token, { ...record, accountName: 'taken' });
    assert.equal(errorOf(conflict).detailCode, '400.1.409 Reference conflict');
    const invalid = await w.h.request('PUT', url('v2024', `/${record.id}`), w.h.admin.token, { ...record, email: 'bad' });
    assert.equal(invalid.statusCode, 400);
  });

  test('PATCH: read-only paths, other source, unknown paths, invalid results, 404', async () => {
    const record = (await create(w, 'patch.me')).json();
    const patch = (ops: unknown[], id = record.id) => w.h.request('PATCH', url('v2024', `/${id}`), w.h.admin.token, ops, PATCH);
    for (const path of ['/id', '/created', '/modified', '/sourceId']) {
      const res = await patch([{ op: 'replace', path, value: 'x' }]);
      assert.equal(res.statusCode, 400, path);
      assert.equal(errorOf(res).detailCode, '400.1.3 Illegal update attempt');
    }
    assert.equal((await patch([{ op: 'replace', path: '/nickname', value: 'x' }])).statusCode, 400);
    // The schema's causes name the entries as the patch rules do.
    const malformed = await patch([
      { op: 'replace', path: '/email', value: 'a@example.com' },
      { op: 'bogus', path: '/email' },
    ]);
    assert.deepEqual(
      errorOf(malformed).causes.map((c) => c.text.split(' ')[0]),
      ['operations[1].op'],
    );
    const removed = await patch([{ op: 'remove', path: '/firstName' }]);
    assert.deepEqual(
      errorOf(removed).causes.map((c) => c.text),
      ['firstName is required'],
    );
    const unknownKey = await patch([{ op: 'add', path: '/data/shoeSize', value: '44' }]);
    assert.match(errorOf(unknownKey).causes[0]!.text, /data.shoeSize is not a custom attribute/);
    assert.equal((await patch([{ op: 'replace', path: '/startDate', value: '2020-02-30' }])).statusCode, 400);
    assert.equal((await patch([{ op: 'replace', path: '/endDate', value: '2000-01-01' }])).statusCode, 400);
    assert.equal((await patch([{ op: 'replace', path: '/endDate', value: '2030-01-01' }], newId())).statusCode, 404);
    const ok = await patch([
      { op: 'add', path: '/data/note', value: 'hi' },
      { op: 'replace', path: '/email', value: 'new@example.com' },
    ]);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual([ok.json().email, ok.json().data], ['new@example.com', { costCenter: 'CC1', note: 'hi' }]);
  });

  test('deleting a custom attribute removes its values from the records', async () => {
    const noteId = (await w.h.request('GET', `/v2024/non-employee-sources/${w.sourceId}/schema-attributes`, w.h.admin.token))
      .json()
      .find((a: { technicalName: string }) => a.technicalName === 'note').id;
    const record = (await create(w, 'stale.key', { data: { costCenter: 'CC9', note: 'bye' } })).json();
    assert.equal((await w.h.request('DELETE', `/v2024/non-employee-sources/${w.sourceId}/schema-attributes/${noteId}`, w.h.admin.token)).statusCode, 204);
    const got = (await w.h.request('GET', url('v2024', `/${record.id}`), w.h.admin.token)).json();
    assert.deepEqual(got.data, { costCenter: 'CC9' });
    assert.equal((await w.h.request('PUT', url('v2024', `/${record.id}`), w.h.admin.token, got)).statusCode, 200, 'a GET body is still a valid PUT');
  });
});

describe('records: authorization', () => {
  let w: World;
  let mine: NonEmployeeRecord & Record<string, unknown>;
  let theirs: string;
  const people: Record<string, Caller> = {};
  before(async () => {
    w = await setup();
    const h = w.h;
    for (const [alias, rights] of [
      ['reader', ['idn:nesr:read']],
      ['creator', ['idn:nesr:create']],
      ['updater', ['idn:nesr:update']],
      ['deleter', ['idn:nesr:delete']],
      ['nobody', []],
      ['grouped', []],
    ] as const) {
      people[alias] = await h.caller(alias, { rights: [...rights] });
    }
    const group = await h.request('POST', '/admin/v1/workgroups', h.admin.token, { name: 'Managers', members: [people.grouped!.identity.id] });
    const grouped = await createSource(h, 'Grouped', w.owner.identity.id, { accountManagers: [group.json().id] });
    mine = (await create(w, 'mine')).json();
    theirs = (await h.request('POST', url('v2024'), h.admin.token, recordBody(grouped, 'theirs'))).json().id;
  });
  after(async () => w.h.close());

  test('create needs idn:nesr:create', async () => {
    const denied = await w.h.request('POST', url('v2024'), people.nobody!.token, recordBody(w.sourceId, 'c1', { data: { costCenter: 'x' } }));
    assert.equal(denied.statusCode, 403);
    assert.equal(errorOf(denied).detailCode, '403 Forbidden');
    assert.equal((await w.h.request('POST', url('beta'), w.owner.token, recordBody(w.sourceId, 'c1', { data: { costCenter: 'x' } }))).statusCode, 403);
    assert.equal((await w.h.request('POST', url('beta'), people.creator!.token, recordBody(w.sourceId, 'c1', { data: { costCenter: 'x' } }))).statusCode, 200);
  });

  test('get: idn:nesr:read, the owner, or an account manager directly or through a governance group; 404 before 403', async () => {
    const get = (c: Caller, id: string) => w.h.request('GET', url('v3', `/${id}`), c.token);
    assert.equal((await get(people.reader!, mine.id)).statusCode, 200);
    assert.equal((await get(people.reader!, theirs)).statusCode, 200);
    assert.equal((await get(w.manager, mine.id)).statusCode, 200);
    assert.equal((await get(w.manager, theirs)).statusCode, 403);
    assert.equal((await get(people.grouped!, theirs)).statusCode, 200);
    assert.equal((await get(people.grouped!, mine.id)).statusCode, 403);
    assert.equal((await get(people.nobody!, mine.id)).statusCode, 403);
    assert.equal((await get(w.owner, mine.id)).statusCode, 200, 'the owner reads the records of the source it owns');
    assert.equal((await get(w.owner, theirs)).statusCode, 200, 'it owns the grouped source too');
    assert.equal((await get(w.manager, theirs)).statusCode, 403, 'an account manager of another source does not');
    assert.equal((await get(people.nobody!, newId())).statusCode, 404);
  });

  test('list: idn:nesr:read sees all, owners and account managers their sources only, anyone else nothing', async () => {
    const names = async (c: Caller, query = '') =>
      (await w.h.request('GET', url('v1', query), c.token))
        .json()
        .map((r: { accountName: string }) => r.accountName)
        .sort();
    assert.deepEqual(await names(people.reader!), ['c1', 'mine', 'theirs']);
    assert.deepEqual(await names(w.manager), ['c1', 'mine']);
    assert.deepEqual(await names(people.grouped!), ['theirs']);
    assert.deepEqual(await names(people.nobody!), []);
    assert.deepEqual(await names(w.owner), ['c1', 'mine', 'theirs'], 'the owner sees the records of the sources it owns');
    assert.deepEqual(await names(w.manager, `?filters=${encodeURIComponent(`sourceId eq "${mine.sourceId}" or accountName eq "theirs"`)}`), ['c1', 'mine']);
    const counted = await w.h.request('GET', url('v1', '?count=true'), people.grouped!.token);
    assert.equal(counted.headers['x-total-count'], '1');
    // Pages past offset 0 (a seek) stay within the manager's sources too.
    for (const sorters of ['accountName', '-accountName', 'created']) {
      const whole = (await w.h.request('GET', url('v1', `?sorters=${sorters}`), w.manager.token)).json().map((r: { accountName: string }) => r.accountName);
      const second = (await w.h.request('GET', url('v1', `?sorters=${sorters}&limit=1&offset=1`), w.manager.token))
        .json()
        .map((r: { accountName: string }) => r.accountName);
      assert.deepEqual(second, whole.slice(1, 2), sorters);
      assert.deepEqual((await w.h.request('GET', url('v1', `?sorters=${sorters}&offset=2`), w.manager.token)).json(), [], sorters);
    }
  });

  test('PUT and PATCH: idn:nesr:update changes anything; the source owner only endDate', async () => {
    const put = (c: Caller, over: Record<string, unknown>) => w.h.request('PUT', url('v2024', `/${mine.id}`), c.token, { ...mine, ...over });
    const patch = (c: Caller, ops: unknown[]) => w.h.request('PATCH', url('v2024', `/${mine.id}`), c.token, ops, PATCH);

    const ownerPut = await put(w.owner, { endDate: '2022-01-01' });
    assert.equal(ownerPut.statusCode, 200, ownerPut.body);
    assert.equal(ownerPut.json().endDate, '2022-01-01T00:00:00Z');
    mine = ownerPut.json();
    const ownerPutMore = await put(w.owner, { endDate: '2022-02-01', firstName: 'Sneaky' });
    assert.equal(ownerPutMore.statusCode, 403);
    // The answer does not tell which fields differ (the owner may not read the record).
    assert.match(errorOf(ownerPutMore).messages[0]!.text, /may change only endDate; this request would change other fields/);
    assert.doesNotMatch(ownerPutMore.body, /firstName/);
    const ownerPatch = await patch(w.owner, [{ op: 'replace', path: '/endDate', value: '2022-03-01' }]);
    assert.equal(ownerPatch.statusCode, 200, ownerPatch.body);
    mine = ownerPatch.json();
    assert.equal(
      (
        await patch(w.owner, [
          { op: 'replace', path: '/endDate', value: '2022-04-01' },
          { op: 'replace', path: '/phone', value: '1' },
        ])
      ).statusCode,
      403,
    );
    assert.equal((await patch(w.owner, [{ op: 'add', path: '/data/note', value: 'x' }])).statusCode, 403);
    assert.equal((await patch(w.owner, [{ op: 'replace', path: '/id', value: 'x' }])).statusCode, 400, 'read-only paths are a 400 for everyone');

    for (const c of [people.nobody!, people.reader!, w.manager, people.creator!, people.deleter!]) {
      assert.equal((await put(c, { endDate: '2022-05-01' })).statusCode, 403, c.identity.alias);
      assert.equal((await patch(c, [{ op: 'replace', path: '/endDate', value: '2022-05-01' }])).statusCode, 403, c.identity.alias);
    }
    const updated = await put(people.updater!, { firstName: 'Changed', endDate: '2023-01-01' });
    assert.equal(updated.statusCode, 200);
    const patched = await patch(people.updater!, [{ op: 'replace', path: '/lastName', value: 'Patched' }]);
    assert.deepEqual([patched.json().firstName, patched.json().lastName], ['Changed', 'Patched']);
    assert.equal((await w.h.request('PUT', url('v2024', `/${newId()}`), w.owner.token, { ...mine })).statusCode, 404);
  });

  test("an attribute made required later does not block updates that leave it empty, the owner's endDate included", async () => {
    const h = w.h;
    const sourceId = await createSource(h, 'Later rules', w.owner.identity.id);
    const created = await h.request('POST', url('v2024'), h.admin.token, recordBody(sourceId, 'before.rule'));
    assert.equal(created.statusCode, 200, created.body);
    const record = created.json();
    await addAttribute(h, sourceId, 'badge', true);
    const path = url('v2024', `/${record.id}`);
    assert.equal((await h.request('POST', url('v2024'), h.admin.token, recordBody(sourceId, 'after.rule'))).statusCode, 400, 'a create must give it');

    const ownerPatch = await h.request('PATCH', path, w.owner.token, [{ op: 'replace', path: '/endDate', value: '2024-06-30' }], PATCH);
    assert.equal(ownerPatch.statusCode, 200, ownerPatch.body);
    const ownerPut = await h.request('PUT', path, w.owner.token, { ...(ownerPatch.json() as Record<string, unknown>), endDate: '2024-07-31' });
    assert.equal(ownerPut.statusCode, 200, ownerPut.body);
    assert.deepEqual(ownerPut.json().data, {});
    const updaterPut = await h.request('PUT', path, people.updater!.token, {
      ...(ownerPut.json() as Record<string, unknown>),
      firstName: 'Still',
      data: { badge: ' ' },
    });
    assert.equal(updaterPut.statusCode, 200, updaterPut.body);

    const set = await h.request('PATCH', path, people.updater!.token, [{ op: 'add', path: '/data/badge', value: 'B1' }], PATCH);
    assert.deepEqual(set.json().data, { badge: 'B1' });
    const emptied = await h.request('PATCH', path, people.updater!.token, [{ op: 'remove', path: '/data/badge' }], PATCH);
    assert.equal(emptied.statusCode, 400, 'once given, it cannot be emptied');
    assert.deepEqual(
      errorOf(emptied).causes.map((c) => c.text),
      ['data.badge is required'],
    );
  });

  test('delete and bulk delete need idn:nesr:delete', async () => {
    for (const c of [people.nobody!, people.reader!, people.updater!, w.owner, w.manager]) {
      assert.equal((await w.h.request('DELETE', url('v2024', `/${mine.id}`), c.token)).statusCode, 403);
      assert.equal((await w.h.request('POST', url('v2024', '/bulk-delete'), c.token, { ids: [mine.id] })).statusCode, 403);
    }
    assert.equal((await w.h.request('DELETE', url('v2024', `/${newId()}`), people.deleter!.token)).statusCode, 404);
    assert.equal((await w.h.request('DELETE', url('v2024', `/${mine.id}`), people.deleter!.token)).statusCode, 204);
    assert.equal((await w.h.request('POST', url('v2024', '/bulk-delete'), people.deleter!.token, { ids: [theirs] })).statusCode, 204);
  });
});

describe('records: filters, sorters, paging', () => {
  let h: Harness;
  let s1: string;
  let s2: string;
  let all: Record<string, string>[];
  const ids = (list: { accountName: string }[]) => list.map((r) => r.accountName.split('.')[0]).join(',');
  const get = async (query: string, flavour: Flavour = 'v2024') => h.request('GET', url(flavour, `?${query}`), h.admin.token);
  const filtered = async (filters: string) => {
    const res = await get(`filters=${encodeURIComponent(filters)}&sorters=accountName`);
    assert.equal(res.statusCode, 200, `${filters}: ${res.body}`);
    return ids(res.json());
  };
  before(async () => {
    h = await harness();
    const owner = await h.caller('owner');
    await h.caller('jane.doe');
    await h.caller('mgr.two');
    s1 = await createSource(h, 'One', owner.identity.id);
    s2 = await createSource(h, 'Two', owner.identity.id);
    const rows: [string, string, string, string, string, string, string, string, string][] = [
      [s1, 'alice.a', 'Alice', 'Anders', 'alice@corp.example', 'jane.doe', '5550003', '2020-01-01', '2020-12-31'],
      [s1, 'bob.b', 'Bob', 'Brown', 'bob@corp.example', 'mgr.two', '5550001', '2020-06-01', '2021-06-01'],
      [s1, 'carol.c', 'Carol', 'Clark', 'carol@other.example', 'jane.doe', '5550005', '2021-01-01', '2021-12-31'],
      [s2, 'dave.d', 'Dave', 'Davis', 'dave@corp.example', 'mgr.two', '5550002', '2019-03-24T00:00:00-05:00', '2022-03-24'],
      [s2, 'eve.e', 'Eve', 'Evans', 'eve@other.example', 'jane.doe', '5550004', '2022-01-01', '2023-01-01'],
    ];
    for (const [sourceId, accountName, firstName, lastName, email, manager, phone, startDate, endDate] of rows) {
      const res = await h.request('POST', url('v2024'), h.admin.token, {
        sourceId,
        accountName,
        firstName,
        lastName,
        email,
        manager,
        phone,
        startDate,
        endDate,
      });
      assert.equal(res.statusCode, 200, res.body);
    }
    all = (await get('')).json();
  });
  after(async () => h.close());

  test('sourceId eq (documented), in, and either spelling of an id', async () => {
    assert.equal(await filtered(`sourceId eq "${s1}"`), 'alice,bob,carol');
    assert.equal(await filtered(`sourceId eq "${otherSpelling(s2)}"`), 'dave,eve');
    assert.equal(await filtered(`sourceId in ("${s1}", "${s2}")`), 'alice,bob,carol,dave,eve');
    assert.equal(await filtered(`sourceId eq "0123456789abcdef0123456789abcdef"`), '');
  });

  test('text extensions: eq and in exact, sw and co case-insensitive', async () => {
    const cases: [string, string][] = [
      ['accountName eq "bob.b"', 'bob'],
      ['accountName eq "BOB.B"', ''],
      ['accountName sw "CA"', 'carol'],
      ['accountName co "E.E"', 'eve'],
      ['accountName in ("alice.a", "dave.d", "zed")', 'alice,dave'],
      ['email co "@other"', 'carol,eve'],
      ['email sw "DAVE@"', 'dave'],
      ['email eq "bob@corp.example"', 'bob'],
      ['email in ("eve@other.example")', 'eve'],
      ['manager eq "jane.doe"', 'alice,carol,eve'],
      ['manager in ("mgr.two")', 'bob,dave'],
      ['manager sw "mgr"', 'bob,dave'],
      ['manager co "DOE"', 'alice,carol,eve'],
      ['firstName eq "Alice"', 'alice'],
      ['firstName sw "c"', 'carol'],
      ['firstName co "v"', 'dave,eve'],
      ['firstName in ("Bob", "Eve")', 'bob,eve'],
      ['lastName sw "d"', 'dave'],
      ['lastName co "an"', 'alice,eve'],
      ['lastName eq "Clark"', 'carol'],
      ['lastName in ("Brown", "Davis")', 'bob,dave'],
    ];
    for (const [filter, expected] of cases) assert.equal(await filtered(filter), expected, filter);
  });

  test('date extensions: gt, ge, lt, le in any record date form', async () => {
    const cases: [string, string][] = [
      ['startDate gt "2020-06-01"', 'carol,eve'],
      ['startDate ge "2020-06-01"', 'bob,carol,eve'],
      ['startDate ge "2020-05-31T20:00:00-04:00"', 'bob,carol,eve'],
      ['startDate lt "2020-01-01"', 'dave'],
      ['startDate le "2020-01-01T00:00Z"', 'alice,dave'],
      ['endDate le "2021-06-01"', 'alice,bob'],
      ['endDate gt "2022-03-23T23:59:59.999Z"', 'dave,eve'],
      ['startDate lt "2019-03-24T00:00:01-05:00"', 'dave'],
      ['startDate lt "2019-03-24T05:00:00Z"', ''],
      ['created gt "2000-01-01"', 'alice,bob,carol,dave,eve'],
      ['modified lt "2000-01-01"', ''],
      ['created le "9999-12-31"', 'alice,bob,carol,dave,eve'],
    ];
    for (const [filter, expected] of cases) assert.equal(await filtered(filter), expected, filter);
  });

  test('combinations with and, or, not and parentheses', async () => {
    assert.equal(await filtered(`sourceId eq "${s1}" and manager eq "jane.doe"`), 'alice,carol');
    assert.equal(await filtered('firstName eq "Alice" or lastName eq "Evans"'), 'alice,eve');
    assert.equal(await filtered(`(sourceId eq "${s2}" or accountName eq "alice.a") and startDate lt "2020-06-01"`), 'alice,dave');
    assert.equal(await filtered(`not sourceId eq "${s1}"`), 'dave,eve');
    assert.equal(await filtered(`sourceId eq "${s1}" and (email co "other" or startDate ge "2020-06-01") and not firstName sw "b"`), 'carol');
  });

  test('unsupported fields, operators, values and syntax → 400 naming the problem', async () => {
    const cases: [string, RegExp][] = [
      ['phone eq "5550001"', /field 'phone' is not filterable/],
      ['data eq "x"', /not filterable/],
      ['sourceId co "abc"', /operator 'co' is not supported for field 'sourceId'/],
      ['startDate eq "2020-01-01"', /operator 'eq' is not supported/],
      ['accountName gt "a"', /operator 'gt' is not supported/],
      ['startDate gt "2020-02-30"', /2020-02-30/],
      ['startDate gt "soon"', /soon/],
      ['accountName eq 5', /expects a string/],
      ['accountName eq', /unexpected end/],
      ['accountName EQ "x"', /unknown operator 'EQ'/],
    ];
    // Also where the page needs no query: limit=0, or a caller who manages no source.
    const nobody = await h.caller('filters.nobody');
    for (const [filter, text] of cases) {
      for (const res of [
        await get(`filters=${encodeURIComponent(filter)}`),
        await get(`limit=0&filters=${encodeURIComponent(filter)}`),
        await h.request('GET', url('v2024', `?filters=${encodeURIComponent(filter)}`), nobody.token),
      ]) {
        assert.equal(res.statusCode, 400, filter);
        assert.match(errorOf(res).causes[0]!.text, text, filter);
      }
    }
  });

  test('each documented sorter, both directions, ties broken by id in the same direction', async () => {
    const fields = ['id', 'accountName', 'sourceId', 'manager', 'firstName', 'lastName', 'email', 'phone', 'startDate', 'endDate', 'created', 'modified'];
    for (const field of fields) {
      for (const desc of [false, true]) {
        const expected = [...all].sort((a, b) => {
          const [x, y] = [a[field]!, b[field]!];
          // Ties are broken by id, in the direction of the sorter.
          const [p, q] = x !== y ? [x, y] : [a.id!, b.id!];
          return (p < q ? -1 : 1) * (desc ? -1 : 1);
        });
        const res = await get(`sorters=${desc ? '-' : ''}${field}`, desc ? 'beta' : 'v1');
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(ids(res.json()), ids(expected as never), `${desc ? '-' : ''}${field}`);
      }
    }
    const multi = await get('sorters=manager,-startDate');
    assert.equal(ids(multi.json()), 'eve,carol,alice,bob,dave');
    const s1Ids = all
      .filter((r) => r.sourceId === s1)
      .map((r) => r.id!)
      .sort();
    const explicit = (await get(`sorters=sourceId,-id&filters=${encodeURIComponent(`sourceId eq "${s1}"`)}`)).json();
    assert.deepEqual(
      explicit.map((r: { id: string }) => r.id),
      [...s1Ids].reverse(),
      'an explicit id sorter keeps its direction',
    );
    for (const bad of ['nope', 'data', 'accountName,accountName', '-', 'name,']) {
      const res = await get(`sorters=${encodeURIComponent(bad)}`);
      assert.equal(res.statusCode, 400, bad);
      assert.match(errorOf(res).causes[0]!.text, /Invalid sorters/);
    }
  });

  test('pages past offset 0 (which seek to their first key) stitch to the whole list, for every sorter', async () => {
    const fields = ['id', 'accountName', 'sourceId', 'manager', 'firstName', 'lastName', 'email', 'phone', 'startDate', 'endDate', 'created', 'modified'];
    const sorts = fields.flatMap((f) => [f, `-${f}`]).concat(['manager,-startDate', '-manager,lastName', 'manager,email']);
    for (const filter of ['', `&filters=${encodeURIComponent(`sourceId eq "${s1}"`)}`, `&filters=${encodeURIComponent('manager eq "jane.doe"')}`]) {
      for (const sort of sorts) {
        const query = `sorters=${sort}${filter}`;
        const whole = (await get(query)).json() as Record<string, string>[];
        assert.ok(whole.length >= 2, query);
        const stitched: Record<string, string>[] = [];
        for (let offset = 0; offset <= whole.length; offset++) {
          const res = await get(`${query}&limit=1&offset=${offset}`);
          assert.equal(res.statusCode, 200, res.body);
          stitched.push(...res.json());
        }
        assert.deepEqual(ids(stitched as never), ids(whole as never), query);
        const twoAt = (await get(`${query}&limit=2&offset=1`)).json();
        assert.deepEqual(ids(twoAt), ids(whole.slice(1, 3) as never), `${query} limit 2 offset 1`);
        assert.deepEqual((await get(`${query}&offset=${whole.length + 3}`)).json(), [], `${query} past the end`);
      }
    }
  });

  test('default order is creation order; count header; offset paging is stable', async () => {
    const expected = [...all].sort((a, b) => (a.created! < b.created! ? -1 : a.created! > b.created! ? 1 : a.id! < b.id! ? -1 : 1));
    assert.equal(ids(all as never), ids(expected as never));
    const pages: unknown[] = [];
    for (let offset = 0; offset < 6; offset += 2) {
      const page = await get(`limit=2&offset=${offset}&count=true`, 'v3');
      assert.equal(page.headers['x-total-count'], '5');
      pages.push(...page.json());
    }
    assert.deepEqual(pages, all);
    // Pages of a cross-source sort (a per-source merge) and of a filtered one stitch together too.
    for (const query of ['sorters=-lastName', `sorters=email&filters=${encodeURIComponent('manager eq "jane.doe" or firstName co "o"')}`]) {
      const whole = (await get(query)).json();
      const stitched: unknown[] = [];
      for (let offset = 0; offset < 6; offset += 2) stitched.push(...(await get(`${query}&limit=2&offset=${offset}`)).json());
      assert.deepEqual(stitched, whole, query);
      assert.ok(whole.length >= 4);
    }
    assert.equal((await get('count=true&limit=0')).headers['x-total-count'], '5');
    assert.deepEqual((await get('limit=0')).json(), []);
    assert.equal((await get(`count=true&filters=${encodeURIComponent(`sourceId eq "${s2}"`)}&limit=1`)).headers['x-total-count'], '2');
    assert.equal((await get('limit=2')).headers['x-total-count'], undefined);
    assert.equal((await get('limit=251')).statusCode, 400);
    assert.equal((await get('offset=-1')).statusCode, 400);
  });
});

describe('records: bulk delete, source deletion, limits and races', () => {
  let w: World;
  before(async () => {
    w = await setup();
  });
  after(async () => w.h.close());

  const bulk = (ids: unknown, flavour: Flavour = 'v2024') => w.h.request('POST', url(flavour, '/bulk-delete'), w.h.admin.token, { ids });

  test('bulk delete is all-or-nothing, names unknown ids, takes either spelling of an id and caps the list', async () => {
    const made = [];
    for (const name of ['b1', 'b2', 'b3']) made.push((await create(w, name)).json().id as string);
    const ghost = newId();
    const refused = await bulk([made[0], ghost, made[1], ghost]);
    assert.equal(refused.statusCode, 400);
    assert.deepEqual(
      errorOf(refused).causes.map((c) => c.text),
      [`ids[1] ${ghost} does not name a non-employee record`],
    );
    assert.equal(await realCount(w.h, w.sourceId), 3, 'nothing was deleted');

    const ok = await bulk([otherSpelling(made[0]!), made[1], made[1]], 'beta');
    assert.equal(ok.statusCode, 204);
    assert.equal(ok.body, '');
    assert.equal(await realCount(w.h, w.sourceId), 1);
    assert.equal(await recordCount(w.h, w.sourceId), 1);
    assert.equal((await bulk([made[0]], 'v1')).statusCode, 400, 'already deleted');

    const tooMany = await bulk(Array.from({ length: 1001 }, () => newId()));
    assert.equal(tooMany.statusCode, 400);
    assert.match(errorOf(tooMany).causes[0]!.text, /ids must not have more than 1000 entries/);
    assert.equal((await bulk(['not-an-id'])).statusCode, 400);
    assert.equal((await w.h.request('POST', url('v2024', '/bulk-delete'), w.h.admin.token, {})).statusCode, 400);
    assert.equal((await bulk([])).statusCode, 204);
  });

  test('deleting a source deletes its records', async () => {
    const other = await createSource(w.h, 'Doomed', w.owner.identity.id);
    const record = (await w.h.request('POST', url('v2024'), w.h.admin.token, recordBody(other, 'doomed'))).json();
    assert.equal((await w.h.request('DELETE', `/v2024/non-employee-sources/${other}`, w.h.admin.token)).statusCode, 204);
    assert.equal((await w.h.request('GET', url('v2024', `/${record.id}`), w.h.admin.token)).statusCode, 404);
    assert.equal(await realCount(w.h, other), 0);
  });

  test('20,000 records per source, even under 30 parallel creates; record_count stays true', async () => {
    const source = await createSource(w.h, 'Full', w.owner.identity.id);
    const { records } = w.h.app.services;
    const now = new Date().toISOString();
    const seed: NonEmployeeRecord[] = Array.from({ length: 19_990 }, (_, i) => ({
      id: newId(),
      sourceId: source,
      accountName: `seed.${i}`,
      firstName: 'Seed',
      lastName: `N${i}`,
      email: `seed.${i}@example.com`,
      phone: '1',
      manager: 'jane.doe',
      startDate: '2020-01-01T00:00:00.000Z',
      endDate: '2021-01-01T00:00:00.000Z',
      data: {},
      created: now,
      modified: now,
    }));
    await transaction(w.h.app.db.kysely, async (trx) => {
      assert.ok(await records.insertNew(trx, w.h.config.tenant, source, seed));
    });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => w.h.request('POST', url(i % 2 ? 'v3' : 'v1'), w.h.admin.token, recordBody(source, `race.${i}`))),
    );
    const statuses = results.map((r) => r.statusCode);
    assert.equal(statuses.filter((s) => s === 200).length, 10, statuses.join(','));
    const refused = results.filter((r) => r.statusCode !== 200);
    assert.equal(refused.length, 20);
    for (const r of refused) assert.equal(errorOf(r).detailCode, '400.1.4 Limit violation');
    assert.equal(await recordCount(w.h, source), 20_000);
    assert.equal(await realCount(w.h, source), 20_000);

    const sources = (await w.h.request('GET', '/v2024/non-employee-sources?non-employee-count=true', w.h.admin.token)).json();
    assert.equal(sources.find((s: { id: string }) => s.id === source).nonEmployeeCount, 20_000);
    // A delete gives its slot back.
    const one = results.find((r) => r.statusCode === 200)!.json().id;
    assert.equal((await w.h.request('DELETE', url('v2024', `/${one}`), w.h.admin.token)).statusCode, 204);
    assert.equal((await w.h.request('POST', url('v2024'), w.h.admin.token, recordBody(source, 'last.one'))).statusCode, 200);
    assert.equal(await recordCount(w.h, source), await realCount(w.h, source));
    // Deleting the full source is quick enough and empties it.
    assert.equal((await w.h.request('DELETE', `/v2024/non-employee-sources/${source}`, w.h.admin.token)).statusCode, 204);
    assert.equal(await realCount(w.h, source), 0);
  });

  test('the same accountName created 10 times in parallel: one 200, nine 400.1.409', async () => {
    const before = await recordCount(w.h, w.sourceId);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => create(w, 'same.name', { firstName: `Try${i}` }, i % 2 ? 'v2024' : 'beta')));
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
    for (const r of results.filter((x) => x.statusCode === 400)) {
      assert.equal(errorOf(r).detailCode, '400.1.409 Reference conflict');
      assert.equal(errorOf(r).messages[0]!.text, 'Unable to create Non-Employee because the accountName "same.name" is already being used.');
    }
    assert.equal(await recordCount(w.h, w.sourceId), before + 1);
    assert.equal(await realCount(w.h, w.sourceId), before + 1);
  });
});
