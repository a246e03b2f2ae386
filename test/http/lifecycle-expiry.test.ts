/**
 * Expiry, reactivation, retention and reminders with a clock the test moves, on the engine
 * DATABASE_URL names: exactly once per end date, the year boundary, an end date written in an
 * offset whose daylight-saving time changes before it, a clock that jumps, end dates in the past.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { recordBody } from '../helpers/factories.js';
import { type LifecycleHarness, lifecycleHarness } from '../helpers/lifecycle.js';

const RECORDS = '/v2024/non-employee-records';
const DAY = 24 * 3600 * 1000;

describe('lifecycle: expiry and reminders', () => {
  let h: LifecycleHarness;
  let sourceId: string;
  let manager: { identity: { id: string } };
  let n = 0;

  const create = async (endDate: string, over: Record<string, unknown> = {}) => {
    const res = await h.request('POST', RECORDS, h.adminToken, recordBody(sourceId, `lc-${++n}`, { startDate: '2026-01-01', endDate, ...over }));
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { id: string; endDate: string };
  };
  const of = async (id: string, ...types: string[]) => (await h.events(...types)).filter((e) => e.target.id === id);

  before(async () => {
    h = await lifecycleHarness('2026-12-20T12:00:00Z');
    await h.caller('jane.doe');
    manager = await h.caller('manager-lc');
    const res = await h.request('POST', '/v2024/non-employee-sources', h.adminToken, {
      name: 'Lifecycle',
      description: 'Lifecycle source',
      owner: { id: h.adminId },
      accountManagers: [{ id: manager.identity.id }],
    });
    assert.equal(res.statusCode, 200, res.body);
    sourceId = res.json().id;
  });
  after(() => h.close());

  test('the policy: defaults, validation, per-source overrides, in the OpenAPI', async () => {
    const got = await h.request('GET', '/admin/v1/lifecycle-policy', h.adminToken);
    assert.equal(got.statusCode, 200, got.body);
    assert.deepEqual(got.json(), { reminderOffsetsDays: [14, 1], approvalReminderDays: 3, escalationDays: null, retentionDays: null, digestHourUtc: 8 });
    for (const bad of [
      { reminderOffsetsDays: [0] },
      { reminderOffsetsDays: [1, 2, 3, 4, 5, 6] },
      { reminderOffsetsDays: [-3] },
      { approvalReminderDays: 91 },
      { retentionDays: 100_000 },
      { approvalReminderDays: 5, escalationDays: 4 },
      { digestHourUtc: 24 },
    ]) {
      const res = await h.request('PUT', '/admin/v1/lifecycle-policy', h.adminToken, bad);
      assert.equal(res.statusCode, 400, `${JSON.stringify(bad)}: ${res.body}`);
    }
    const user = await h.caller('not-admin-lc');
    assert.equal((await h.request('GET', '/admin/v1/lifecycle-policy', user.token)).statusCode, 403);
    const put = await h.request('PUT', `/admin/v1/lifecycle-policy/sources/${sourceId}`, h.adminToken, { retentionDays: 30 });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json().overrides, { retentionDays: 30 });
    assert.equal(put.json().effective.retentionDays, 30);
    assert.deepEqual(put.json().effective.reminderOffsetsDays, [14, 1]);
    const del = await h.request('DELETE', `/admin/v1/lifecycle-policy/sources/${sourceId}`, h.adminToken);
    assert.equal(del.statusCode, 204, del.body);
    const after = await h.request('GET', `/admin/v1/lifecycle-policy/sources/${sourceId}`, h.adminToken);
    assert.equal(after.json().effective.retentionDays, null);
    const doc = (await h.request('GET', '/openapi.json', h.adminToken)).json();
    assert.ok(doc.paths['/admin/v1/lifecycle-policy'].put);
    assert.ok(doc.paths['/admin/v1/lifecycle-policy/sources/{sourceId}'].get);
    assert.ok(doc.paths['/admin/v1/approvals/{id}/override'].post);
  });

  test('over the year boundary: reminders at 14 days and 1 day, expiry once at the end date, a digest per person and day', async () => {
    h.clock.set('2026-12-20T12:00:00Z');
    const far = await create('2027-01-20T00:00:00Z');
    await h.sweep();
    assert.equal((await of(far.id, 'record.expiring', 'record.expired')).length, 0, 'nothing due a month before');
    // The 14-day window began before the record existed: the late entry gets it, once.
    const record = await create('2027-01-01T00:00:00Z');
    await h.sweep();
    await h.sweep();
    const first = await of(record.id, 'record.expiring');
    assert.equal(first.length, 1);
    assert.equal(first[0]!.data.daysBefore, 14);
    h.clock.set('2026-12-30T23:59:59Z');
    await h.sweep();
    assert.equal((await of(record.id, 'record.expiring')).length, 1, 'one second before the 1-day window');
    h.clock.set('2026-12-31T00:00:01Z');
    await h.sweep();
    await h.sweep();
    const reminders = await of(record.id, 'record.expiring');
    assert.deepEqual(
      reminders.map((e) => e.data.daysBefore),
      [14, 1],
    );
    assert.deepEqual(
      (reminders[0]!.data.accountManagers as { id: string }[]).map((m) => m.id),
      [manager.identity.id],
    );
    h.clock.set('2027-01-01T00:00:00Z');
    await h.sweep();
    h.clock.advance(60_000);
    await h.sweep();
    const expired = await of(record.id, 'record.expired');
    assert.equal(expired.length, 1);
    assert.equal((expired[0]!.data.object as { id: string }).id, record.id);
    assert.equal(expired[0]!.data.ownerId, h.adminId);
    // The digests: one mail per person for the day, naming every record reminded of.
    h.clock.set('2027-01-02T09:00:00Z');
    await h.sweep();
    await h.app.services.notifications.drain();
    const mails = await h.app.db.kysely
      .selectFrom('notifications')
      .selectAll()
      .where('kind', '=', 'EXPIRY_DIGEST')
      .where('recipient_id', '=', manager.identity.id)
      .execute();
    assert.ok(mails.length >= 1);
    const days = mails.map((m) => m.subject.match(/\((\d{4}-\d\d-\d\d)\)/)?.[1]);
    assert.equal(new Set(days).size, days.length, 'one digest per day');
    assert.ok(mails.some((m) => m.body.includes(`PATCH /v2024/non-employee-records/${record.id}`)));
  });

  test('extending before the end date cancels the expiry; after it, reactivates', async () => {
    h.clock.set('2027-02-01T00:00:00Z');
    const record = await create('2027-02-10T00:00:00Z');
    h.clock.set('2027-02-09T23:59:00Z');
    const patch = await h.request('PATCH', `${RECORDS}/${record.id}`, h.adminToken, [{ op: 'replace', path: '/endDate', value: '2027-03-10T00:00:00Z' }]);
    assert.equal(patch.statusCode, 200, patch.body);
    h.clock.set('2027-02-10T00:05:00Z');
    await h.sweep();
    assert.equal((await of(record.id, 'record.expired')).length, 0, 'extended in time');
    h.clock.set('2027-03-10T00:00:30Z');
    await h.sweep();
    assert.equal((await of(record.id, 'record.expired')).length, 1);
    const put = await h.request('PATCH', `${RECORDS}/${record.id}`, h.adminToken, [{ op: 'replace', path: '/endDate', value: '2027-06-01T00:00:00Z' }]);
    assert.equal(put.statusCode, 200, put.body);
    const reactivated = await of(record.id, 'record.reactivated');
    assert.equal(reactivated.length, 1);
    assert.equal(reactivated[0]!.data.expiredEndDate, '2027-03-10T00:00:00.000Z');
    h.clock.set('2027-06-01T00:00:10Z');
    await h.sweep();
    assert.equal((await of(record.id, 'record.expired')).length, 2, 'once per end date: the new end date expires too');
    h.clock.advance(DAY);
    await h.sweep();
    assert.equal((await of(record.id, 'record.expired')).length, 2);
  });

  test('an end date in an offset whose daylight-saving time changes before it: expiry at that instant', async () => {
    // US Eastern: EST (-05:00) until 2027-03-14, EDT (-04:00) after; the record says -04:00.
    h.clock.set('2027-03-01T00:00:00Z');
    const record = await create('2027-03-20T09:00:00-04:00');
    assert.equal(record.endDate, '2027-03-20T09:00:00-04:00');
    // 14 days of 24 hours before 13:00 UTC, whatever the local time was then (08:00 EST).
    h.clock.set('2027-03-06T12:59:59Z');
    await h.sweep();
    assert.equal((await of(record.id, 'record.expiring')).length, 0);
    h.clock.set('2027-03-06T13:00:00Z');
    await h.sweep();
    h.clock.set('2027-03-19T13:00:00Z');
    await h.sweep();
    assert.deepEqual(
      (await of(record.id, 'record.expiring')).map((e) => e.data.daysBefore),
      [14, 1],
    );
    h.clock.set('2027-03-20T12:59:59Z');
    await h.sweep();
    assert.equal((await of(record.id, 'record.expired')).length, 0, 'one second before 13:00 UTC');
    h.clock.set('2027-03-20T13:00:00Z');
    await h.sweep();
    const expired = await of(record.id, 'record.expired');
    assert.equal(expired.length, 1);
    assert.equal(expired[0]!.data.endDate, '2027-03-20T09:00:00-04:00', 'the date as the client wrote it');
  });

  test('a clock that jumps past every step does the expiry only; back and forth again: nothing twice', async () => {
    h.clock.set('2027-04-01T00:00:00Z');
    const record = await create('2027-05-01T00:00:00Z');
    h.clock.set('2027-06-01T00:00:00Z');
    await h.sweep();
    assert.equal((await of(record.id, 'record.expiring')).length, 0, 'no reminder of windows already past');
    assert.equal((await of(record.id, 'record.expired')).length, 1);
    h.clock.set('2027-04-30T12:00:00Z');
    await h.sweep();
    h.clock.set('2027-06-02T00:00:00Z');
    await h.sweep();
    assert.equal((await of(record.id, 'record.expiring')).length, 0);
    assert.equal((await of(record.id, 'record.expired')).length, 1);
  });

  test('an end date in the past expires at once; retention deletes it N days later with reason retention', async () => {
    const put = await h.request('PUT', `/admin/v1/lifecycle-policy/sources/${sourceId}`, h.adminToken, { retentionDays: 10 });
    assert.equal(put.statusCode, 200, put.body);
    h.clock.set('2027-07-01T00:00:00Z');
    const record = await create('2027-06-25T00:00:00Z');
    await h.sweep();
    assert.equal((await of(record.id, 'record.expired')).length, 1);
    h.clock.set('2027-07-04T23:59:00Z');
    await h.sweep();
    assert.equal((await h.request('GET', `${RECORDS}/${record.id}`, h.adminToken)).statusCode, 200, 'kept until 10 days after its end date');
    h.clock.set('2027-07-05T00:00:00Z');
    await h.sweep();
    const deleted = await of(record.id, 'record.deleted');
    assert.equal(deleted.length, 1);
    assert.equal(deleted[0]!.data.reason, 'retention');
    assert.equal(deleted[0]!.actor, null);
    assert.equal((await h.request('GET', `${RECORDS}/${record.id}`, h.adminToken)).statusCode, 404);
    await h.request('DELETE', `/admin/v1/lifecycle-policy/sources/${sourceId}`, h.adminToken);
  });
});
