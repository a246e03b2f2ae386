/**
 * Approvals that do not stall, with a clock the test moves, on the engine DATABASE_URL names: a
 * PENDING item is reminded after the policy's days (mail + `approval.reminder`), escalated after
 * more (mail to the source's owner + `approval.escalated`), and decided by the owner through the
 * escalation endpoint or by an org admin through the override, through the same state machine.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { recordBody } from '../helpers/factories.js';
import { type LifecycleHarness, lifecycleHarness } from '../helpers/lifecycle.js';

const DAY = 24 * 3600 * 1000;

describe('lifecycle: approval reminders, escalation, override', () => {
  let h: LifecycleHarness;
  let sourceId: string;
  let approver: { identity: { id: string }; token: string };
  let owner: { identity: { id: string }; token: string };
  let other: { identity: { id: string }; token: string };
  let n = 0;

  /** Files a request as the admin; its PENDING item's id. */
  const pendingItem = async () => {
    const res = await h.request('POST', '/v2024/non-employee-requests', h.adminToken, recordBody(sourceId, `ap-${++n}`, { endDate: '2030-01-01' }));
    assert.equal(res.statusCode, 200, res.body);
    await h.sweep();
    return res.json().approvalItems[0].id as string;
  };

  before(async () => {
    // An item's pending time is when its request module wrote it (now): the clock starts there.
    h = await lifecycleHarness(new Date().toISOString());
    await h.caller('jane.doe');
    approver = await h.caller('approver-ap');
    owner = await h.caller('owner-ap');
    other = await h.caller('other-ap');
    const res = await h.request('POST', '/v2024/non-employee-sources', h.adminToken, {
      name: 'Approvals',
      description: 'Approvals source',
      owner: { id: owner.identity.id },
      approvers: [{ id: approver.identity.id }],
    });
    assert.equal(res.statusCode, 200, res.body);
    sourceId = res.json().id;
    const put = await h.request('PUT', '/admin/v1/lifecycle-policy', h.adminToken, { approvalReminderDays: 3, escalationDays: 5 });
    assert.equal(put.statusCode, 200, put.body);
  });
  after(() => h.close());

  test('reminded once after 3 days, escalated once after 5; the owner decides through the escalation endpoint', async () => {
    const start = h.clock.now();
    const id = await pendingItem();
    h.clock.set(start + 3 * DAY - 1000);
    await h.sweep();
    assert.equal((await h.events('approval.reminder')).filter((e) => e.target.id === id).length, 0);
    // Before the escalation, the owner may not decide.
    const early = await h.request('POST', `/admin/v1/approvals/${id}/escalation`, owner.token, { decision: 'APPROVE' });
    assert.equal(early.statusCode, 403, early.body);
    h.clock.set(start + 3 * DAY);
    await h.sweep();
    h.clock.advance(DAY);
    await h.sweep();
    const reminders = (await h.events('approval.reminder')).filter((e) => e.target.id === id);
    assert.equal(reminders.length, 1);
    await h.app.services.notifications.drain();
    const mails = await h.app.db.kysely.selectFrom('notifications').selectAll().where('kind', '=', 'APPROVAL_REMINDER').execute();
    assert.deepEqual(
      mails.map((m) => m.recipient_id),
      [approver.identity.id],
    );
    h.clock.set(start + 5 * DAY + 60_000);
    await h.sweep();
    const escalated = (await h.events('approval.escalated')).filter((e) => e.target.id === id);
    assert.equal(escalated.length, 1);
    assert.equal(escalated[0]!.data.ownerId, owner.identity.id);
    await h.app.services.notifications.drain();
    const escalation = await h.app.db.kysely.selectFrom('notifications').selectAll().where('kind', '=', 'APPROVAL_ESCALATED').execute();
    assert.equal(escalation.length, 1);
    assert.equal(escalation[0]!.recipient_id, owner.identity.id);
    assert.match(escalation[0]!.body, new RegExp(`POST /admin/v1/approvals/${id}/escalation`));

    const stranger = await h.request('POST', `/admin/v1/approvals/${id}/escalation`, other.token, { decision: 'APPROVE' });
    assert.equal(stranger.statusCode, 403, stranger.body);
    // SailPoint's approve keeps its rule: only the requested approver.
    const notApprover = await h.request('POST', `/v2024/non-employee-approvals/${id}/approve`, owner.token, {});
    assert.equal(notApprover.statusCode, 403, notApprover.body);
    const noComment = await h.request('POST', `/admin/v1/approvals/${id}/escalation`, owner.token, { decision: 'REJECT' });
    assert.equal(noComment.statusCode, 400, noComment.body);
    const ok = await h.request('POST', `/admin/v1/approvals/${id}/escalation`, owner.token, { decision: 'APPROVE', comment: 'approver away' });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().approvalStatus, 'APPROVED');
    assert.equal(ok.json().decidedAs, 'escalation');
    const approved = (await h.events('approval.approved')).filter((e) => e.target.id === id);
    assert.equal(approved.length, 1);
    assert.equal(approved[0]!.data.decidedAs, 'escalation');
    assert.equal((approved[0]!.actor as { id: string }).id, owner.identity.id);
    assert.equal((await h.events('request.approved')).length, 1, 'the request completed through the state machine');
    const again = await h.request('POST', `/admin/v1/approvals/${id}/escalation`, owner.token, { decision: 'APPROVE' });
    assert.equal(again.statusCode, 400, again.body);
    h.clock.advance(10 * DAY);
    await h.sweep();
    assert.equal((await h.events('approval.reminder', 'approval.escalated')).filter((e) => e.target.id === id).length, 2, 'nothing more of a decided item');
  });

  test('an org admin overrides with a required comment; others may not', async () => {
    const id = await pendingItem();
    const noComment = await h.request('POST', `/admin/v1/approvals/${id}/override`, h.adminToken, { decision: 'REJECT' });
    assert.equal(noComment.statusCode, 400, noComment.body);
    const blank = await h.request('POST', `/admin/v1/approvals/${id}/override`, h.adminToken, { decision: 'APPROVE', comment: '  ' });
    assert.equal(blank.statusCode, 400, blank.body);
    const notAdmin = await h.request('POST', `/admin/v1/approvals/${id}/override`, approver.token, { decision: 'APPROVE', comment: 'me' });
    assert.equal(notAdmin.statusCode, 403, notAdmin.body);
    const res = await h.request('POST', `/admin/v1/approvals/${id}/override`, h.adminToken, { decision: 'REJECT', comment: 'contract cancelled' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().approvalStatus, 'REJECTED');
    assert.equal(res.json().comment, 'contract cancelled');
    const rejected = (await h.events('approval.rejected')).filter((e) => e.target.id === id);
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]!.data.decidedAs, 'override');
    assert.equal((await h.events('request.rejected')).length, 1);
  });
});
