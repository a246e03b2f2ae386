/**
 * Non-employee requests through app.inject: the five operations under every
 * flavour, validation shared with records, accountName conflicts, who may create, sources without
 * approvers, lists, summaries and delete.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, harness, type Caller, type Harness } from '../helpers/app.js';
import { createSource, recordBody } from '../helpers/factories.js';
import { UUID7 } from '../helpers/ids.js';

type Flavour = 'v3' | 'beta' | 'v2024' | 'v2025' | 'v2026' | 'v1';
const FLAVOURS: Flavour[] = ['v3', 'beta', 'v2024', 'v2025', 'v2026', 'v1'];
const url = (flavour: Flavour, resource: string, path = '') => (flavour === 'v1' ? `/${resource}/v1${path}` : `/${flavour}/${resource}${path}`);
const requests = (flavour: Flavour, path = '') => url(flavour, 'non-employee-requests', path);
const KEYS = [
  'id',
  'sourceId',
  'name',
  'description',
  'accountName',
  'firstName',
  'lastName',
  'email',
  'phone',
  'manager',
  'nonEmployeeSource',
  'data',
  'approvalItems',
  'approvalStatus',
  'startDate',
  'endDate',
  'modified',
  'created',
];
const CONFLICT = (name: string) => `Unable to create Non-Employee because the accountName "${name}" is already being used.`;

interface World {
  h: Harness;
  owner: Caller;
  manager: Caller;
  a1: Caller;
  a2: Caller;
  nobody: Caller;
  /** Two approvers (a1, a2), managed by `manager`, custom attribute costCenter (required). */
  source: string;
  /** No approvers, managed by `manager`. */
  open: string;
  /** Managed by someone else. */
  other: string;
}

async function setup(): Promise<World> {
  const h = await harness();
  const owner = await h.caller('owner');
  const manager = await h.caller('jane.doe');
  const a1 = await h.caller('approver.one');
  const a2 = await h.caller('approver.two');
  const nobody = await h.caller('nobody');
  const source = await createSource(h, 'Contractors', owner.identity.id, {
    approvers: [a1.identity.id, a2.identity.id],
    accountManagers: [manager.identity.id],
  });
  const attr = await h.request('POST', `/v2024/non-employee-sources/${source}/schema-attributes`, h.admin.token, {
    type: 'TEXT',
    label: 'Cost center',
    technicalName: 'costCenter',
    required: true,
  });
  assert.equal(attr.statusCode, 200, attr.body);
  const open = await createSource(h, 'Open', owner.identity.id, { approvers: [], accountManagers: [manager.identity.id] });
  const other = await createSource(h, 'Other', owner.identity.id, { approvers: [a1.identity.id], accountManagers: [nobody.identity.id] });
  return { h, owner, manager, a1, a2, nobody, source, open, other };
}

const create = (w: World, caller: Caller, accountName: string, over: Record<string, unknown> = {}, flavour: Flavour = 'v2024', sourceId = w.source) =>
  w.h.request('POST', requests(flavour), caller.token, recordBody(sourceId, accountName, { data: { costCenter: 'CC1' }, ...over }));

describe('requests: create, get, list, summary, delete', () => {
  let w: World;
  before(async () => {
    w = await setup();
  });
  after(async () => w.h.close());

  test('create under every flavour: a PENDING request snapshotting the approvers, in order', async () => {
    for (const flavour of FLAVOURS) {
      const res = await create(w, w.manager, `create.${flavour}`, {}, flavour);
      assert.equal(res.statusCode, 200, `${flavour}: ${res.body}`);
      const r = res.json();
      assert.deepEqual(Object.keys(r).sort(), [...KEYS].sort(), flavour);
      assert.match(r.id, UUID7);
      assert.notEqual(r.id, w.source, 'the top-level id is the request id');
      assert.equal(r.sourceId, w.source);
      assert.equal(r.name, 'Contractors');
      assert.equal(r.description, 'Contractors description');
      assert.equal(r.nonEmployeeSource.id, w.source);
      assert.match(r.nonEmployeeSource.sourceId, /^[0-9a-f]{32}$/);
      assert.equal(r.approvalStatus, 'PENDING');
      assert.equal(r.completionDate, undefined);
      assert.equal(r.startDate, '2020-03-24T00:00:00-05:00');
      assert.deepEqual(r.data, { costCenter: 'CC1' });
      assert.deepEqual(
        r.approvalItems.map((i: { approver: unknown; approvalStatus: string; approvalOrder: number; accountName: string }) => [
          i.approver,
          i.approvalStatus,
          i.approvalOrder,
          i.accountName,
        ]),
        [
          [{ type: 'IDENTITY', id: w.a1.identity.id }, 'PENDING', 1, `create.${flavour}`],
          [{ type: 'IDENTITY', id: w.a2.identity.id }, 'NOT_READY', 2, `create.${flavour}`],
        ],
      );
      const got = await w.h.request('GET', requests(flavour, `/${r.id}`), w.manager.token);
      assert.equal(got.statusCode, 200, got.body);
      assert.deepEqual(got.json(), r);
    }
  });

  test('validation is exactly that of a record: same 400, same causes', async () => {
    const bad = [
      {},
      recordBody(w.source, 'x', { email: 'nope', startDate: '2021-13-01', data: { costCenter: 'C', unknown: 'x' } }),
      recordBody(w.source, '', { manager: 'no.such.alias', endDate: '2019-01-01' }),
      recordBody('0123456789abcdef0123456789abcdef', 'y'),
      recordBody(w.source, 'z'),
    ];
    for (const input of bad) {
      const asRequest = await w.h.request('POST', requests('v2024'), w.h.admin.token, input);
      const asRecord = await w.h.request('POST', '/v2024/non-employee-records', w.h.admin.token, input);
      assert.equal(asRequest.statusCode, 400, asRequest.body);
      assert.equal(asRecord.statusCode, 400, asRecord.body);
      const [a, b] = [errorOf(asRequest), errorOf(asRecord)];
      assert.equal(a.detailCode, b.detailCode);
      assert.deepEqual(a.messages, b.messages);
      assert.deepEqual(a.causes, b.causes);
    }
  });

  test('an accountName used by a record or by a PENDING request of the source is 400.1.409', async () => {
    const record = await w.h.request(
      'POST',
      '/v2024/non-employee-records',
      w.h.admin.token,
      recordBody(w.source, 'taken.by.record', { data: { costCenter: 'X' } }),
    );
    assert.equal(record.statusCode, 200, record.body);
    const res = await create(w, w.manager, 'taken.by.record');
    assert.equal(res.statusCode, 400);
    const error = errorOf(res);
    assert.equal(error.detailCode, '400.1.409 Reference conflict');
    assert.equal(error.messages[0]!.text, CONFLICT('taken.by.record'));

    assert.equal((await create(w, w.manager, 'twice')).statusCode, 200);
    const second = await create(w, w.manager, 'twice');
    assert.equal(second.statusCode, 400);
    assert.equal(errorOf(second).messages[0]!.text, CONFLICT('twice'));
    // Another source may use it.
    assert.equal((await create(w, w.manager, 'twice', { data: {} }, 'v2024', w.open)).statusCode, 200);
    // In parallel: exactly one PENDING request gets the name.
    const raced = await Promise.all(Array.from({ length: 6 }, () => create(w, w.manager, 'raced')));
    assert.deepEqual(raced.map((r) => r.statusCode).sort(), [200, 400, 400, 400, 400, 400]);
  });

  test('who may create: idn:nesr:create, the source owner, an account manager (directly or by group); else 403', async () => {
    const creator = await w.h.caller('creator', { rights: ['idn:nesr:create'] });
    const member = await w.h.caller('group.member');
    const group = await w.h.app.services.directory.workgroups.create(w.h.config.tenant, { name: 'Managers', members: [member.identity.id] });
    const patched = await w.h.request(
      'PATCH',
      `/v2024/non-employee-sources/${w.other}`,
      w.h.admin.token,
      [{ op: 'add', path: '/accountManagers/-', value: { id: group.id } }],
      {
        'content-type': 'application/json-patch+json',
      },
    );
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((await create(w, creator, 'by.creator')).statusCode, 200);
    assert.equal((await create(w, w.owner, 'by.owner')).statusCode, 200);
    assert.equal((await create(w, member, 'by.group', { data: {} }, 'v2024', w.other)).statusCode, 200);
    const forbidden = await create(w, w.nobody, 'by.nobody');
    assert.equal(forbidden.statusCode, 403);
    assert.equal(errorOf(forbidden).detailCode, '403 Forbidden');
    // A manager of another source, and an unknown source: 403 before any validation.
    assert.equal((await create(w, w.manager, 'elsewhere', { data: {} }, 'v2024', w.other)).statusCode, 403);
    assert.equal((await create(w, w.nobody, 'unknown', {}, 'v2024', '0123456789abcdef0123456789abcdef')).statusCode, 403);
  });

  test('a source without approvers: APPROVED at once, completionDate set, no items, the record exists', async () => {
    const res = await create(w, w.manager, 'instant', { data: {} }, 'v3', w.open);
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    assert.equal(r.approvalStatus, 'APPROVED');
    assert.deepEqual(r.approvalItems, []);
    assert.equal(r.completionDate, r.created);
    const records = await w.h.request(
      'GET',
      `/v2024/non-employee-records?filters=${encodeURIComponent(`sourceId eq "${w.open}" and accountName eq "instant"`)}`,
      w.h.admin.token,
    );
    assert.equal(records.json().length, 1);
    const again = await create(w, w.manager, 'instant', { data: {} }, 'v3', w.open);
    assert.equal(errorOf(again).detailCode, '400.1.409 Reference conflict');
  });

  test('get: idn:nesr:read, the requester, an account manager of the source; else 403; unknown 404', async () => {
    const creator = await w.h.caller('creator2', { rights: ['idn:nesr:create'] });
    const reader = await w.h.caller('reader', { rights: ['idn:nesr:read'] });
    const r = (await create(w, creator, 'for.get')).json();
    for (const caller of [creator, reader, w.manager, w.h.admin])
      assert.equal((await w.h.request('GET', requests('v2025', `/${r.id}`), caller.token)).statusCode, 200);
    assert.equal((await w.h.request('GET', requests('v2025', `/${r.id}`), w.nobody.token)).statusCode, 403);
    const unknown = await w.h.request('GET', requests('v2025', '/0123456789abcdef0123456789abcdef'), w.h.admin.token);
    assert.equal(unknown.statusCode, 404);
    assert.equal(errorOf(unknown).detailCode, '404 Not found');
    assert.equal((await w.h.request('GET', requests('v2025', '/not-an-id'), w.h.admin.token)).statusCode, 400);
  });
});

describe('requests: lists and summaries', () => {
  let w: World;
  before(async () => {
    w = await setup();
    for (const name of ['c.one', 'a.two', 'b.three']) assert.equal((await create(w, w.manager, name)).statusCode, 200);
    assert.equal((await create(w, w.manager, 'd.instant', { data: {} }, 'v2024', w.open)).statusCode, 200);
    assert.equal((await create(w, w.h.admin, 'e.other', { data: {} }, 'v2024', w.other)).statusCode, 200);
  });
  after(async () => w.h.close());

  const list = (caller: Caller, query: string, flavour: Flavour = 'v2024') => w.h.request('GET', `${requests(flavour)}?${query}`, caller.token);
  const names = (res: { json(): { accountName: string }[] }) => res.json().map((r) => r.accountName);

  test('requested-for is required; me lists the requests in the sources the caller manages', async () => {
    const missing = await list(w.manager, '');
    assert.equal(missing.statusCode, 400);
    for (const flavour of FLAVOURS) {
      const res = await list(w.manager, 'requested-for=me&count=true', flavour);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(names(res), ['c.one', 'a.two', 'b.three', 'd.instant'], flavour);
      assert.equal(res.headers['x-total-count'], '4');
    }
    assert.deepEqual(names(await list(w.manager, `requested-for=${w.manager.identity.id}`)), ['c.one', 'a.two', 'b.three', 'd.instant']);
    assert.deepEqual(names(await list(w.nobody, 'requested-for=me')), ['e.other'], 'an account manager of the other source');
  });

  test("another identity's requests need idn:nesr:read", async () => {
    assert.equal((await list(w.nobody, `requested-for=${w.manager.identity.id}`)).statusCode, 403);
    const reader = await w.h.caller('list.reader', { rights: ['idn:nesr:read'] });
    assert.deepEqual(names(await list(reader, `requested-for=${w.manager.identity.id}`)), ['c.one', 'a.two', 'b.three', 'd.instant']);
    assert.deepEqual(names(await list(reader, 'requested-for=me')), []);
    assert.equal((await list(reader, 'requested-for=someone')).statusCode, 400);
  });

  test('filters sourceId eq (and approvalStatus, any case); the documented sorters; paging', async () => {
    const q = (s: string) => `requested-for=me&${s}`;
    assert.deepEqual(names(await list(w.manager, q(`filters=${encodeURIComponent(`sourceId eq "${w.open}"`)}`))), ['d.instant']);
    assert.deepEqual(names(await list(w.manager, q(`filters=${encodeURIComponent('approvalStatus eq "Approved"')}`))), ['d.instant']);
    assert.deepEqual(names(await list(w.manager, q('sorters=accountName'))), ['a.two', 'b.three', 'c.one', 'd.instant']);
    assert.deepEqual(names(await list(w.manager, q('sorters=-accountName&limit=2&offset=1'))), ['c.one', 'b.three']);
    assert.deepEqual(names(await list(w.manager, q('sorters=approvalStatus,accountName'))), ['d.instant', 'a.two', 'b.three', 'c.one']);
    for (const sorter of ['created', 'approvalStatus', 'firstName', 'lastName', 'email', 'phone', 'accountName', 'startDate', 'endDate']) {
      assert.equal((await list(w.manager, q(`sorters=-${sorter}`))).statusCode, 200, sorter);
    }
    for (const bad of [
      'sorters=modified',
      'filters=firstName%20eq%20%22x%22',
      'filters=approvalStatus%20eq%20%22Done%22',
      'filters=sourceId%20co%20%22x%22',
      'limit=251',
    ]) {
      const res = await list(w.manager, q(bad));
      assert.equal(res.statusCode, 400, bad);
    }
  });

  test('the summary counts exactly what the list shows; nonEmployeeCount counts the records of managed sources', async () => {
    const pendingOne = (await list(w.manager, `requested-for=me&filters=${encodeURIComponent('accountName eq "a.two"')}`)).json()[0];
    const reject = await w.h.request('POST', `/v2024/non-employee-approvals/${pendingOne.approvalItems[0].id}/reject`, w.a1.token, { comment: 'no' });
    assert.equal(reject.statusCode, 200, reject.body);
    for (const flavour of FLAVOURS) {
      const summary = await w.h.request('GET', requests(flavour, '/summary/me'), w.manager.token);
      assert.equal(summary.statusCode, 200, summary.body);
      const counted = async (status: string) =>
        (await list(w.manager, `requested-for=me&filters=${encodeURIComponent(`approvalStatus eq "${status}"`)}`)).json().length;
      assert.deepEqual(summary.json(), {
        approved: await counted('APPROVED'),
        rejected: await counted('REJECTED'),
        pending: await counted('PENDING'),
        nonEmployeeCount: 1,
      });
      assert.deepEqual(summary.json(), { approved: 1, rejected: 1, pending: 2, nonEmployeeCount: 1 });
    }
    assert.equal((await w.h.request('GET', requests('v2024', `/summary/${w.manager.identity.id}`), w.nobody.token)).statusCode, 403);
    const admin = await w.h.request('GET', requests('v2024', `/summary/${w.manager.identity.id}`), w.h.admin.token);
    assert.deepEqual(admin.json(), { approved: 1, rejected: 1, pending: 2, nonEmployeeCount: 1 });
  });
});

describe('requests: delete', () => {
  let w: World;
  before(async () => {
    w = await setup();
  });
  after(async () => w.h.close());

  test('needs idn:nesr:delete; a PENDING request is gone after one DELETE, with its approval items', async () => {
    const deleter = await w.h.caller('deleter', { rights: ['idn:nesr:delete'] });
    const r = (await create(w, w.manager, 'to.delete')).json();
    const pendingOf = async (approver: Caller) =>
      (await w.h.request('GET', '/v2024/non-employee-approvals/summary/me', approver.token)).json().pending as number;
    const before = await pendingOf(w.a1);
    assert.equal((await w.h.request('DELETE', requests('v2024', `/${r.id}`), w.manager.token)).statusCode, 403);
    const first = await w.h.request('DELETE', requests('v1', `/${r.id}`), deleter.token);
    assert.equal(first.statusCode, 204, first.body);
    assert.equal((await w.h.request('GET', requests('v2024', `/${r.id}`), w.h.admin.token)).statusCode, 404);
    const listed = await w.h.request('GET', requests('v2024', '?requested-for=me'), w.manager.token);
    assert.ok(!listed.json().some((x: { id: string }) => x.id === r.id), 'lists omit it');
    assert.equal((await w.h.request('GET', `/v2024/non-employee-approvals/${r.approvalItems[0].id}`, w.h.admin.token)).statusCode, 404);
    const items = await w.h.request('GET', '/v2024/non-employee-approvals?requested-for=me', w.a1.token);
    assert.ok(!items.json().some((i: { id: string }) => i.id === r.approvalItems[0].id), "the approver's list omits its item");
    assert.equal(await pendingOf(w.a1), before - 1, "the approver's pending count drops");
    const decide = await w.h.request('POST', `/v2024/non-employee-approvals/${r.approvalItems[0].id}/approve`, w.a1.token, {});
    assert.equal(decide.statusCode, 404);
    // The accountName is free again.
    assert.equal((await create(w, w.manager, 'to.delete')).statusCode, 200);
    assert.equal((await w.h.request('DELETE', requests('beta', `/${r.id}`), deleter.token)).statusCode, 404);
    assert.equal((await w.h.request('DELETE', requests('v2024', '/bad'), deleter.token)).statusCode, 400);
  });

  test('what approvers are owed: a request they were told of is withdrawn to them; one not yet told is never asked', async () => {
    const notifications = w.h.app.services.notifications;
    // The mails owed for what was committed so far, as the mail consumer of the event log writes them.
    const kinds = async (id: string) => {
      await w.h.app.services.consumers.drain('mails');
      return (await notifications.forRequest(w.h.config.tenant, id)).map((n) => `${n.kind} ${n.recipientId}`);
    };
    // Told: the approval request went out before the delete.
    const told = (await create(w, w.manager, 'told.then.deleted')).json();
    await notifications.drain();
    assert.equal((await w.h.request('DELETE', requests('v2024', `/${told.id}`), w.h.admin.token)).statusCode, 204);
    assert.deepEqual(await kinds(told.id), [`APPROVAL_REQUESTED ${w.a1.identity.id}`, `REQUEST_WITHDRAWN ${w.a1.identity.id}`]);
    await notifications.drain();
    assert.ok((await notifications.forRequest(w.h.config.tenant, told.id)).every((n) => n.status === 'SENT'));
    // Not yet told: the sender is stopped, so the approval request is still unsent when the
    // request goes; it is dropped, and nobody hears of a request they never knew.
    await notifications.stop();
    try {
      const untold = (await create(w, w.manager, 'untold.then.deleted')).json();
      assert.deepEqual(await kinds(untold.id), [`APPROVAL_REQUESTED ${w.a1.identity.id}`]);
      assert.equal((await w.h.request('DELETE', requests('v2024', `/${untold.id}`), w.h.admin.token)).statusCode, 204);
      assert.deepEqual(await kinds(untold.id), []);
    } finally {
      notifications.start();
    }
  });

  test('an approved request is removed; its record stays', async () => {
    const r = (await create(w, w.manager, 'kept.record', { data: {} }, 'v2024', w.open)).json();
    assert.equal((await w.h.request('DELETE', requests('v2026', `/${r.id}`), w.h.admin.token)).statusCode, 204);
    const records = await w.h.request('GET', `/v2024/non-employee-records?filters=${encodeURIComponent('accountName eq "kept.record"')}`, w.h.admin.token);
    assert.equal(records.json().length, 1);
  });
});
