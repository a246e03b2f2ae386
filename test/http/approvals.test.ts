/**
 * Approvals through app.inject: the state machine end to end (levels,
 * completion with the record, rejection, cancellation), who may decide, get with and without
 * detail, lists, summaries, the re-checks at completion, and races.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, harness, type Caller, type Harness } from '../helpers/app.js';

type Flavour = 'v3' | 'beta' | 'v2024' | 'v2025' | 'v2026' | 'v1';
const FLAVOURS: Flavour[] = ['v3', 'beta', 'v2024', 'v2025', 'v2026', 'v1'];
const approvals = (flavour: Flavour, path = '') => (flavour === 'v1' ? `/non-employee-approvals/v1${path}` : `/${flavour}/non-employee-approvals${path}`);
const ITEM_KEYS = ['id', 'approver', 'accountName', 'approvalStatus', 'approvalOrder', 'modified', 'created', 'nonEmployeeRequest'].sort();

interface World {
  h: Harness;
  manager: Caller;
  a1: Caller;
  a2: Caller;
  m1: Caller;
  m2: Caller;
  nobody: Caller;
  /** Approvers a1 then a2. */
  source: string;
  /** One approver: a governance group of m1 and m2. */
  grouped: string;
}

interface Req {
  id: string;
  approvalItems: { id: string; approvalStatus: string }[];
}

async function setup(): Promise<World> {
  const h = await harness();
  const [manager, a1, a2, m1, m2, nobody] = await Promise.all(
    ['jane.doe', 'approver.one', 'approver.two', 'member.one', 'member.two', 'nobody'].map((a) => h.caller(a)),
  );
  const group = await h.app.services.directory.workgroups.create(h.config.tenant, { name: 'Approvers', members: [m1!.identity.id, m2!.identity.id] });
  const source = async (name: string, approvers: string[]) => {
    const res = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
      name,
      description: name,
      owner: { id: manager!.identity.id },
      approvers: approvers.map((id) => ({ id })),
      accountManagers: [{ id: manager!.identity.id }],
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().id as string;
  };
  return {
    h,
    manager: manager!,
    a1: a1!,
    a2: a2!,
    m1: m1!,
    m2: m2!,
    nobody: nobody!,
    source: await source('Two levels', [a1!.identity.id, a2!.identity.id]),
    grouped: await source('Group', [group.id]),
  };
}

async function request(w: World, accountName: string, sourceId = w.source): Promise<Req> {
  const res = await w.h.request('POST', '/v2024/non-employee-requests', w.manager.token, {
    accountName,
    firstName: 'Ada',
    lastName: 'Lovelace',
    email: `${accountName}@example.com`,
    phone: '555',
    manager: 'jane.doe',
    sourceId,
    startDate: '2020-03-24T00:00:00-05:00',
    endDate: '2021-03-25T23:00:00-05:00',
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

const decide = (w: World, caller: Caller, itemId: string, decision: 'approve' | 'reject', comment?: string, flavour: Flavour = 'v2024') =>
  w.h.request('POST', approvals(flavour, `/${itemId}/${decision}`), caller.token, comment === undefined ? {} : { comment });
const getRequest = async (w: World, id: string) => (await w.h.request('GET', `/v2024/non-employee-requests/${id}`, w.h.admin.token)).json();
const statuses = (r: { approvalItems: { approvalStatus: string }[] }) => r.approvalItems.map((i) => i.approvalStatus);
const recordsNamed = async (w: World, name: string) =>
  (await w.h.request('GET', `/v2024/non-employee-records?filters=${encodeURIComponent(`accountName eq "${name}"`)}`, w.h.admin.token)).json() as {
    id: string;
    accountName: string;
  }[];

describe('approvals: the state machine over HTTP', () => {
  let w: World;
  before(async () => {
    w = await setup();
  });
  after(async () => w.h.close());

  test('level 1 then level 2 approve under every flavour: APPROVED, completionDate, the record', async () => {
    for (const flavour of FLAVOURS) {
      const name = `approved.${flavour}`;
      const r = await request(w, name);
      const [first, second] = r.approvalItems;
      const early = await decide(w, w.a2, second!.id, 'approve', undefined, flavour);
      assert.equal(early.statusCode, 400, `${flavour}: NOT_READY cannot be decided`);
      assert.equal(errorOf(early).detailCode, '400.1.3 Illegal update attempt');
      assert.match(errorOf(early).messages[0]!.text, /NOT_READY/);
      assert.equal((await decide(w, w.a2, first!.id, 'approve', undefined, flavour)).statusCode, 403, 'not the approver of level 1');
      assert.equal((await decide(w, w.h.admin, first!.id, 'approve', undefined, flavour)).statusCode, 403, 'an org admin is not the approver');

      const one = await decide(w, w.a1, first!.id, 'approve', 'Looks fine', flavour);
      assert.equal(one.statusCode, 200, one.body);
      assert.deepEqual(Object.keys(one.json()).concat().sort(), [...ITEM_KEYS, 'comment'].sort());
      assert.equal(one.json().approvalStatus, 'APPROVED');
      assert.equal(one.json().comment, 'Looks fine');
      // The requester with its name, as SailPoint's example shows it.
      assert.deepEqual(one.json().nonEmployeeRequest, { id: r.id, requester: { type: 'IDENTITY', id: w.manager.identity.id, name: w.manager.identity.name } });
      const listed = (await w.h.request('GET', '/v2024/non-employee-approvals?requested-for=me', w.a1.token)).json();
      assert.equal(listed.find((i: { id: string }) => i.id === first!.id).nonEmployeeRequest.requester.name, w.manager.identity.name);
      const detail = (await w.h.request('GET', `/v2024/non-employee-approvals/${first!.id}`, w.a1.token)).json();
      assert.equal(detail.nonEmployeeRequest.requester.name, w.manager.identity.name);
      let now = await getRequest(w, r.id);
      assert.deepEqual(statuses(now), ['APPROVED', 'PENDING']);
      assert.equal(now.approvalStatus, 'PENDING');
      assert.deepEqual(await recordsNamed(w, name), []);

      const two = await decide(w, w.a2, second!.id, 'approve', undefined, flavour);
      assert.equal(two.statusCode, 200, two.body);
      assert.equal(two.json().comment, undefined);
      now = await getRequest(w, r.id);
      assert.equal(now.approvalStatus, 'APPROVED');
      assert.deepEqual(statuses(now), ['APPROVED', 'APPROVED']);
      assert.ok(now.completionDate >= now.created);
      const records = await recordsNamed(w, name);
      assert.equal(records.length, 1);
      const again = await decide(w, w.a2, second!.id, 'approve', undefined, flavour);
      assert.equal(again.statusCode, 400);
      assert.match(errorOf(again).messages[0]!.text, /already APPROVED/);
    }
  });

  test('a rejection: request REJECTED, later levels CANCELLED, no record; comment required, at most 4000', async () => {
    const r = await request(w, 'rejected.one');
    const [first, second] = r.approvalItems;
    for (const body of [{}, { comment: '   ' }, { comment: 'x'.repeat(4001) }, { comment: 5 }]) {
      const res = await w.h.request('POST', approvals('v2024', `/${first!.id}/reject`), w.a1.token, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
    assert.equal((await decide(w, w.a1, first!.id, 'approve', 'y'.repeat(4001))).statusCode, 400, 'an approval comment too');
    const res = await decide(w, w.a1, first!.id, 'reject', 'Wrong cost center');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().approvalStatus, 'REJECTED');
    const now = await getRequest(w, r.id);
    assert.equal(now.approvalStatus, 'REJECTED');
    assert.deepEqual(statuses(now), ['REJECTED', 'CANCELLED']);
    assert.equal(now.completionDate, undefined);
    assert.deepEqual(await recordsNamed(w, 'rejected.one'), []);
    const cancelled = await decide(w, w.a2, second!.id, 'approve');
    assert.equal(cancelled.statusCode, 400);
    assert.match(errorOf(cancelled).messages[0]!.text, /CANCELLED/);
    assert.equal((await decide(w, w.a1, first!.id, 'reject', 'again')).statusCode, 400);
    // A rejection at level 2 keeps level 1 APPROVED.
    const r2 = await request(w, 'rejected.two');
    assert.equal((await decide(w, w.a1, r2.approvalItems[0]!.id, 'approve')).statusCode, 200);
    assert.equal((await decide(w, w.a2, r2.approvalItems[1]!.id, 'reject', 'No')).statusCode, 200);
    assert.deepEqual(statuses(await getRequest(w, r2.id)), ['APPROVED', 'REJECTED']);
  });

  test('a governance group approver: any member decides, others 403; unknown item 404', async () => {
    const r = await request(w, 'grouped.one', w.grouped);
    const item = r.approvalItems[0]!;
    assert.equal((await decide(w, w.a1, item.id, 'approve')).statusCode, 403);
    const res = await decide(w, w.m2, item.id, 'approve');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await getRequest(w, r.id)).approvalStatus, 'APPROVED');
    assert.equal((await decide(w, w.m1, '0123456789abcdef0123456789abcdef', 'approve')).statusCode, 404);
    assert.equal((await decide(w, w.m1, 'nope', 'approve')).statusCode, 400);
  });

  test('completion re-checks the accountName and the 20,000 limit in its transaction', async () => {
    const r = await request(w, 'late.conflict');
    // A record with the name appears after the request (records do not look at pending requests).
    const record = await w.h.request('POST', '/v2024/non-employee-records', w.h.admin.token, {
      accountName: 'late.conflict',
      firstName: 'A',
      lastName: 'B',
      email: 'a@example.com',
      phone: '1',
      manager: 'jane.doe',
      sourceId: w.source,
      startDate: '2020-01-01',
      endDate: '2020-02-01',
    });
    assert.equal(record.statusCode, 200, record.body);
    assert.equal((await decide(w, w.a1, r.approvalItems[0]!.id, 'approve')).statusCode, 200);
    const conflict = await decide(w, w.a2, r.approvalItems[1]!.id, 'approve');
    assert.equal(conflict.statusCode, 400);
    assert.equal(errorOf(conflict).detailCode, '400.1.409 Reference conflict');
    let now = await getRequest(w, r.id);
    assert.equal(now.approvalStatus, 'PENDING', 'rolled back');
    assert.deepEqual(statuses(now), ['APPROVED', 'PENDING']);
    assert.equal((await decide(w, w.a2, r.approvalItems[1]!.id, 'reject', 'Name taken')).statusCode, 200);

    const full = await request(w, 'over.limit');
    assert.equal((await decide(w, w.a1, full.approvalItems[0]!.id, 'approve')).statusCode, 200);
    const db = w.h.app.db.kysely;
    const { record_count: before } = await db.selectFrom('sources').select('record_count').where('id', '=', w.source).executeTakeFirstOrThrow();
    await db.updateTable('sources').set({ record_count: 20_000 }).where('id', '=', w.source).execute();
    const limited = await decide(w, w.a2, full.approvalItems[1]!.id, 'approve');
    assert.equal(limited.statusCode, 400);
    assert.equal(errorOf(limited).detailCode, '400.1.4 Limit violation');
    now = await getRequest(w, full.id);
    assert.deepEqual([now.approvalStatus, ...statuses(now)], ['PENDING', 'APPROVED', 'PENDING']);
    await db.updateTable('sources').set({ record_count: before }).where('id', '=', w.source).execute();
    assert.equal((await decide(w, w.a2, full.approvalItems[1]!.id, 'approve')).statusCode, 200);
    assert.equal((await recordsNamed(w, 'over.limit')).length, 1);
  });
});

describe('approvals: get, lists, summaries', () => {
  let w: World;
  let pending: Req;
  before(async () => {
    w = await setup();
    pending = await request(w, 'list.pending');
    const approved = await request(w, 'list.approved');
    assert.equal((await decide(w, w.a1, approved.approvalItems[0]!.id, 'approve')).statusCode, 200);
    const rejected = await request(w, 'list.rejected');
    assert.equal((await decide(w, w.a1, rejected.approvalItems[0]!.id, 'reject', 'no')).statusCode, 200);
  });
  after(async () => w.h.close());

  test('get: detail by default (format date, schema attributes); include-detail=false (any case, or 0) leaves it out; beta takes a string', async () => {
    const id = pending.approvalItems[0]!.id;
    for (const flavour of FLAVOURS) {
      const res = await w.h.request('GET', approvals(flavour, `/${id}`), w.a1.token);
      assert.equal(res.statusCode, 200, res.body);
      const detail = res.json().nonEmployeeRequest;
      assert.equal(detail.id, pending.id);
      assert.equal(detail.startDate, '2020-03-24');
      // The calendar date the client wrote (2021-03-25T23:00:00-05:00), not the UTC one.
      assert.equal(detail.endDate, '2021-03-25');
      assert.equal(detail.nonEmployeeSource.id, w.source);
      assert.equal(detail.nonEmployeeSource.schemaAttributes.length, 8);
      assert.equal(detail.approvalItems, undefined);
      // Any case, or 0 (SailPoint's PowerShell client writes False).
      for (const value of ['false', 'FALSE', 'False', '0']) {
        const bare = await w.h.request('GET', approvals(flavour, `/${id}?include-detail=${value}`), w.a1.token);
        assert.equal(bare.statusCode, 200, bare.body);
        assert.equal(bare.json().nonEmployeeRequest, undefined, `${flavour} ${value}`);
      }
      const full = await w.h.request('GET', approvals(flavour, `/${id}?include-detail=True`), w.a1.token);
      assert.equal(full.json().nonEmployeeRequest.id, pending.id, flavour);
    }
    assert.equal((await w.h.request('GET', approvals('beta', `/${id}?include-detail=maybe`), w.a1.token)).statusCode, 400);
    assert.equal((await w.h.request('GET', approvals('v2024', `/${id}?include-detail=maybe`), w.a1.token)).statusCode, 400);
    assert.equal((await w.h.request('GET', approvals('v2024', `/${id}`), w.a2.token)).statusCode, 403);
    const reader = await w.h.caller('reader', { rights: ['idn:nesr:read'] });
    assert.equal((await w.h.request('GET', approvals('v2024', `/${id}`), reader.token)).statusCode, 200);
    assert.equal((await w.h.request('GET', approvals('v2024', '/0123456789abcdef0123456789abcdef'), reader.token)).statusCode, 404);
  });

  test('list: requested-for me (or nothing), another id needs idn:nesr:read; approvalStatus eq in any case; sorters', async () => {
    const list = async (caller: Caller, query = '', flavour: Flavour = 'v2024') => {
      const res = await w.h.request('GET', `${approvals(flavour)}?${query}`, caller.token);
      assert.equal(res.statusCode, 200, res.body);
      return res;
    };
    for (const flavour of FLAVOURS) {
      const mine = await list(w.a1, 'requested-for=me&count=true', flavour);
      assert.equal(mine.headers['x-total-count'], '3');
      assert.deepEqual(
        mine.json().map((i: { accountName: string }) => i.accountName),
        ['list.pending', 'list.approved', 'list.rejected'],
      );
      assert.deepEqual(Object.keys(mine.json()[0]).sort(), ITEM_KEYS);
    }
    assert.equal((await list(w.a1)).json().length, 3, "no requested-for: the caller's own");
    assert.equal((await list(w.h.admin)).json().length, 6, 'no requested-for with idn:nesr:read: every item');
    const a2 = (await list(w.a2, 'requested-for=me')).json();
    assert.deepEqual(a2.map((i: { approvalStatus: string }) => i.approvalStatus).sort(), ['CANCELLED', 'NOT_READY', 'PENDING']);
    const pendingOnly = await list(w.a1, `requested-for=me&filters=${encodeURIComponent('approvalStatus eq "Pending"')}`);
    assert.deepEqual(
      pendingOnly.json().map((i: { id: string }) => i.id),
      [pending.approvalItems[0]!.id],
    );
    const sorted = await list(w.a1, 'requested-for=me&sorters=-modified&limit=1');
    assert.equal(sorted.json().length, 1);
    for (const bad of ['sorters=accountName', 'filters=approvalStatus%20eq%20%22Done%22', 'filters=accountName%20eq%20%22x%22', 'requested-for=bad']) {
      assert.equal((await w.h.request('GET', `${approvals('v2024')}?${bad}`, w.a1.token)).statusCode, 400, bad);
    }
    assert.equal((await w.h.request('GET', `${approvals('v2024')}?requested-for=${w.a1.identity.id}`, w.a2.token)).statusCode, 403);
    assert.equal((await w.h.request('GET', `${approvals('v2024')}?requested-for=${w.a1.identity.id}`, w.h.admin.token)).json().length, 3);
  });

  test('summary: the counts of the list, per status', async () => {
    const count = async (caller: Caller, status: string) =>
      (await w.h.request('GET', `${approvals('v2024')}?requested-for=me&filters=${encodeURIComponent(`approvalStatus eq "${status}"`)}`, caller.token)).json()
        .length;
    for (const flavour of FLAVOURS) {
      for (const caller of [w.a1, w.a2]) {
        const res = await w.h.request('GET', approvals(flavour, '/summary/me'), caller.token);
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json(), {
          approved: await count(caller, 'approved'),
          pending: await count(caller, 'pending'),
          rejected: await count(caller, 'rejected'),
        });
      }
    }
    assert.deepEqual((await w.h.request('GET', approvals('v2024', '/summary/me'), w.a1.token)).json(), { approved: 1, pending: 1, rejected: 1 });
    assert.equal((await w.h.request('GET', approvals('v2024', `/summary/${w.a1.identity.id}`), w.a2.token)).statusCode, 403);
    assert.deepEqual((await w.h.request('GET', approvals('v2024', `/summary/${w.a1.identity.id}`), w.h.admin.token)).json(), {
      approved: 1,
      pending: 1,
      rejected: 1,
    });
  });
});

describe('approvals: races', () => {
  let w: World;
  before(async () => {
    w = await setup();
  });
  after(async () => w.h.close());

  test('two members of the approving group decide one item at once: exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const r = await request(w, `race.${round}`, w.grouped);
      const id = r.approvalItems[0]!.id;
      const [x, y] = round % 2 === 0 ? (['approve', 'approve'] as const) : (['approve', 'reject'] as const);
      const results = await Promise.all([decide(w, w.m1, id, x, 'first'), decide(w, w.m2, id, y, 'second')]);
      assert.deepEqual(results.map((res) => res.statusCode).sort(), [200, 400], results.map((res) => res.body).join(' | '));
      const loser = results.find((res) => res.statusCode === 400)!;
      assert.equal(errorOf(loser).detailCode, '400.1.3 Illegal update attempt');
      const winner = results.find((res) => res.statusCode === 200)!.json();
      const now = await getRequest(w, r.id);
      assert.equal(now.approvalItems[0].approvalStatus, winner.approvalStatus);
      assert.equal(now.approvalStatus, winner.approvalStatus);
      assert.equal((await recordsNamed(w, `race.${round}`)).length, winner.approvalStatus === 'APPROVED' ? 1 : 0);
    }
  });

  test('many requests approved in parallel: every record created once, counters right', async () => {
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => request(w, `bulk.${i}`, w.grouped)));
    const results = await Promise.all(
      made.flatMap((r) => [decide(w, w.m1, r.approvalItems[0]!.id, 'approve'), decide(w, w.m2, r.approvalItems[0]!.id, 'approve')]),
    );
    assert.equal(results.filter((r) => r.statusCode === 200).length, 12);
    assert.equal(results.filter((r) => r.statusCode === 400).length, 12);
    const db = w.h.app.db.kysely;
    const records = await db
      .selectFrom('records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('source_id', '=', w.grouped)
      .executeTakeFirstOrThrow();
    const counter = await db.selectFrom('sources').select('record_count').where('id', '=', w.grouped).executeTakeFirstOrThrow();
    assert.equal(Number(records.n), Number(counter.record_count));
    for (const r of made) assert.equal((await getRequest(w, r.id)).approvalStatus, 'APPROVED');
  });

  test('delete racing an approval: one of them wins, the state is consistent', async () => {
    for (let round = 0; round < 4; round++) {
      const r = await request(w, `del.race.${round}`, w.grouped);
      const [approved, deleted] = await Promise.all([
        decide(w, w.m1, r.approvalItems[0]!.id, 'approve'),
        w.h.request('DELETE', `/v2024/non-employee-requests/${r.id}`, w.h.admin.token),
      ]);
      assert.equal(deleted.statusCode, 204, deleted.body);
      const records = await recordsNamed(w, `del.race.${round}`);
      // Either way the request is gone.
      assert.equal((await w.h.request('GET', `/v2024/non-employee-requests/${r.id}`, w.h.admin.token)).statusCode, 404);
      if (approved.statusCode === 200) {
        // The approval went first: the delete then removed the decided request; the record stays.
        assert.equal(records.length, 1);
      } else {
        // The delete went first: the item went with the request.
        assert.equal(approved.statusCode, 404, approved.body);
        assert.equal(records.length, 0);
      }
    }
  });
});
