/** The console's own reads: identity search for anyone signed in; a record's history for whoever may read the record. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Caller, errorOf, type Harness, harness } from '../helpers/app.js';
import { createSource, recordBody } from '../helpers/factories.js';

describe('console API reads', () => {
  let h: Harness;
  let owner: Caller;
  let manager: Caller;
  let stranger: Caller;
  let updater: Caller;
  let reader: Caller;
  let source: string;
  let record: string;

  before(async () => {
    h = await harness();
    owner = await h.caller('olivia.owner', { email: 'olivia@corp.example' });
    manager = await h.caller('max.manager');
    stranger = await h.caller('sid.stranger');
    updater = await h.caller('uma.updater', { rights: ['idn:nesr:read', 'idn:nesr:update'] });
    reader = await h.caller('rita.reader', { rights: ['idn:nesr:read'] });
    await h.caller('oscar.other', { email: 'oscar@corp.example' });
    source = await createSource(h, 'Contractors', owner.identity.id, { accountManagers: [manager.identity.id] });
    const created = await h.request('POST', '/v3/non-employee-records', h.admin.token, { ...recordBody(source, 'jane.doe'), manager: 'olivia.owner' });
    assert.equal(created.statusCode, 200, created.body);
    record = created.json().id;
    const patched = await h.request('PATCH', `/v3/non-employee-records/${record}`, h.admin.token, [{ op: 'replace', path: '/endDate', value: '2031-01-31' }], {
      'content-type': 'application/json-patch+json',
    });
    assert.equal(patched.statusCode, 200, patched.body);
  });
  after(() => h?.close());

  test('identity search: any signed-in caller; alias, name or email, any case; only id, alias, name and email', async () => {
    const found = await h.request('GET', '/console/api/identities?search=OLIVIA', stranger.token);
    assert.equal(found.statusCode, 200, found.body);
    assert.deepEqual(found.json(), [{ id: owner.identity.id, alias: 'olivia.owner', name: 'olivia.owner', email: 'olivia@corp.example' }]);
    const byEmail = (await h.request('GET', '/console/api/identities?search=corp.example', stranger.token)).json() as { alias: string }[];
    assert.deepEqual(
      byEmail.map((i) => i.alias),
      ['olivia.owner', 'oscar.other'],
    );
    // LIKE's wildcards are searched as text.
    for (const wildcard of ['%25', '_', '%5C'])
      assert.deepEqual((await h.request('GET', `/console/api/identities?search=${wildcard}`, stranger.token)).json(), []);
    const limited = (await h.request('GET', '/console/api/identities?search=a&limit=2', stranger.token)).json() as unknown[];
    assert.equal(limited.length, 2);
    // Letters beyond ASCII: the same on both engines when they are spelt as stored.
    const elodie = await h.caller('elodie.unal', { email: 'elodie@corp.example' });
    await h.request('PATCH', `/admin/v1/identities/${elodie.identity.id}`, h.admin.token, { name: 'Élodie Ünal' });
    for (const search of ['Élodie', 'ÉLODIE', 'Ünal'])
      assert.deepEqual(
        ((await h.request('GET', `/console/api/identities?search=${encodeURIComponent(search)}`, stranger.token)).json() as { alias: string }[]).map(
          (i) => i.alias,
        ),
        ['elodie.unal'],
        search,
      );
  });

  test('identity search: bad input is a 400; no token or session is a 401', async () => {
    for (const query of ['', '?search=', `?search=${'x'.repeat(129)}`, '?search=a&limit=0', '?search=a&limit=51', '?search=a&limit=x']) {
      const response = await h.request('GET', `/console/api/identities${query}`, stranger.token);
      assert.equal(response.statusCode, 400, query);
      assert.equal(errorOf(response).detailCode, '400.1 Bad Request Content');
    }
    assert.equal((await h.request('GET', '/console/api/identities?search=a', undefined)).statusCode, 401);
  });

  test('governance group search: any signed-in caller; by name, any case; only id and name', async () => {
    const made: Record<string, string> = {};
    for (const name of ['Night Shift Approvers', 'Day shift', '100% Contractors'])
      made[name] = (await h.request('POST', '/admin/v1/workgroups', h.admin.token, { name, members: [owner.identity.id] })).json().id;
    const found = await h.request('GET', '/console/api/workgroups?search=SHIFT', stranger.token);
    assert.equal(found.statusCode, 200, found.body);
    assert.deepEqual(found.json(), [
      { id: made['Day shift'], name: 'Day shift' },
      { id: made['Night Shift Approvers'], name: 'Night Shift Approvers' },
    ]);
    // LIKE's wildcards are searched as text.
    assert.deepEqual((await h.request('GET', '/console/api/workgroups?search=%25', stranger.token)).json(), [
      { id: made['100% Contractors'], name: '100% Contractors' },
    ]);
    assert.deepEqual((await h.request('GET', '/console/api/workgroups?search=_', stranger.token)).json(), []);
    assert.equal(((await h.request('GET', '/console/api/workgroups?search=s&limit=1', stranger.token)).json() as unknown[]).length, 1);
    for (const query of ['', '?search=', `?search=${'x'.repeat(129)}`, '?search=a&limit=0', '?search=a&limit=51']) {
      const response = await h.request('GET', `/console/api/workgroups${query}`, stranger.token);
      assert.equal(response.statusCode, 400, query);
      assert.equal(errorOf(response).detailCode, '400.1 Bad Request Content');
    }
    assert.equal((await h.request('GET', '/console/api/workgroups?search=a', undefined)).statusCode, 401);
  });

  test('people by id: identities and governance groups named, unknown ids left out; bad ids are a 400', async () => {
    const group = (await h.request('POST', '/admin/v1/workgroups', h.admin.token, { name: 'Reviewers', members: [] })).json().id as string;
    const dashed = (id: string) => `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    const unknown = 'f'.repeat(32);
    const response = await h.request('GET', `/console/api/people?ids=${owner.identity.id},${dashed(group)},${unknown},${owner.identity.id}`, stranger.token);
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), [
      { id: owner.identity.id, type: 'IDENTITY', name: 'olivia.owner', alias: 'olivia.owner' },
      { id: group, type: 'GOVERNANCE_GROUP', name: 'Reviewers', alias: null },
    ]);
    const many = Array.from({ length: 51 }, () => unknown).join(',');
    for (const query of ['', '?ids=', '?ids=nope', `?ids=${owner.identity.id},`, `?ids=${many}`, "?ids=' OR 1=1 --"]) {
      const bad = await h.request('GET', `/console/api/people${query}`, stranger.token);
      assert.equal(bad.statusCode, 400, query);
      assert.equal(errorOf(bad).detailCode, '400.1 Bad Request Content');
    }
    assert.equal((await h.request('GET', `/console/api/people?ids=${unknown}`, undefined)).statusCode, 401);
  });

  test("a record's history: its events, newest first, and what the caller may change", async () => {
    const expect = [
      [owner, 'endDate'],
      [manager, 'none'],
      [updater, 'all'],
      [reader, 'none'],
    ] as const;
    for (const [caller, editable] of expect) {
      const response = await h.request('GET', `/console/api/records/${record}/history`, caller.token);
      assert.equal(response.statusCode, 200, `${caller.identity.alias}: ${response.body}`);
      const body = response.json();
      assert.equal(body.editable, editable, caller.identity.alias);
      // The record was made already ended (recordBody's dates), so the lifecycle expired it; the later end date reactivated it.
      assert.equal(body.total, 4);
      assert.deepEqual(
        body.events.map((e: { type: string }) => e.type),
        ['record.reactivated', 'record.updated', 'record.expired', 'record.created'],
      );
      for (const event of body.events) assert.equal(event.target.id, record);
      assert.deepEqual(Object.keys(body.events[1].data.changes), ['endDate']);
    }
    const paged = (await h.request('GET', `/console/api/records/${record}/history?limit=1&offset=3`, owner.token)).json();
    assert.deepEqual(
      paged.events.map((e: { type: string }) => e.type),
      ['record.created'],
    );
  });

  test("a record's history: 403 for whoever may not read the record, 404 for an unknown one, 400 for a bad id", async () => {
    const refused = await h.request('GET', `/console/api/records/${record}/history`, stranger.token);
    assert.equal(refused.statusCode, 403);
    assert.match(errorOf(refused).messages[0]!.text, /requires idn:nesr:read/);
    const unknown = await h.request('GET', `/console/api/records/${'0'.repeat(32)}/history`, reader.token);
    assert.equal(unknown.statusCode, 404);
    assert.equal((await h.request('GET', '/console/api/records/nope/history', reader.token)).statusCode, 400);
    assert.equal((await h.request('GET', `/console/api/records/${record}/history?limit=0`, reader.token)).statusCode, 400);
  });
});
