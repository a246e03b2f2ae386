/**
 * Notifications through a real SMTP server started in the test process: every transition writes
 * its notification into the outbox in its own transaction, the sender mails it once to the
 * identity's address, retries with back-off, and marks recipients without an address.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Caller, type Harness } from '../helpers/app.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { NotificationRepository } from '../../src/modules/notifications/repository.js';
import { NotificationService } from '../../src/modules/notifications/service.js';

interface Req {
  id: string;
  approvalItems: { id: string }[];
}

describe('notifications by SMTP', () => {
  let smtp: TestSmtp;
  let h: Harness;
  let manager: Caller;
  let a1: Caller;
  let a2: Caller;
  let source: string;

  const rows = (requestId: string) => h.app.services.notifications.forRequest(h.config.tenant, requestId);
  const drain = () => h.app.services.notifications.drain();

  async function newRequest(accountName: string, sourceId = source): Promise<Req> {
    const res = await h.request('POST', '/v2024/non-employee-requests', manager.token, {
      accountName,
      firstName: 'Grace',
      lastName: 'Hopper',
      email: `${accountName}@example.com`,
      phone: '555',
      manager: 'jane.doe',
      sourceId,
      startDate: '2020-03-24',
      endDate: '2021-03-24',
    });
    assert.equal(res.statusCode, 200, res.body);
    // The mail owed is written by the mail consumer of the event log: have it read the request's events.
    await h.app.services.consumers.drain('mails');
    return res.json();
  }

  before(async () => {
    smtp = await startSmtp();
    h = await harness({}, { SMTP_URL: smtp.url, NELM_MAIL_FROM: 'NELM <nelm@example.com>' });
    manager = await h.caller('jane.doe', { email: 'jane.doe@example.com' });
    a1 = await h.caller('approver.one', { email: 'one@example.com' });
    a2 = await h.caller('approver.two', { email: 'two@example.com' });
    const res = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
      name: 'Contractors',
      description: 'Contractors',
      owner: { id: manager.identity.id },
      approvers: [{ id: a1.identity.id }, { id: a2.identity.id }],
      accountManagers: [{ id: manager.identity.id }],
    });
    assert.equal(res.statusCode, 200, res.body);
    source = res.json().id;
  });
  after(async () => {
    await h.close();
    await smtp.close();
  });

  test('create notifies the approver, approve the next approver, the last approval the requester', async () => {
    const start = smtp.mails.length;
    const r = await newRequest('grace.hopper');
    await drain();
    await smtp.waitFor(start + 1);
    const first = smtp.mails[start]!;
    assert.deepEqual(first.to, ['one@example.com']);
    assert.equal(first.from, 'nelm@example.com');
    assert.equal(first.subject, 'Approval needed: non-employee Grace Hopper in Contractors');
    assert.match(
      first.text,
      /jane\.doe asked for a non-employee account for Grace Hopper \(account name grace\.hopper, grace\.hopper@example\.com\) in the source "Contractors"\./,
    );
    assert.match(first.text, /You are approver 1 of 2/);
    assert.ok(first.text.includes(`/non-employee-approvals/${r.approvalItems[0]!.id}/approve`));
    assert.ok(first.text.includes(`/non-employee-approvals/${r.approvalItems[0]!.id}/reject`));

    assert.equal((await h.request('POST', `/v2024/non-employee-approvals/${r.approvalItems[0]!.id}/approve`, a1.token, {})).statusCode, 200);
    await drain();
    await smtp.waitFor(start + 2);
    assert.deepEqual(smtp.mails[start + 1]!.to, ['two@example.com']);
    assert.match(smtp.mails[start + 1]!.text, /You are approver 2 of 2/);

    assert.equal((await h.request('POST', `/v2024/non-employee-approvals/${r.approvalItems[1]!.id}/approve`, a2.token, {})).statusCode, 200);
    await drain();
    await smtp.waitFor(start + 3);
    const done = smtp.mails[start + 2]!;
    assert.deepEqual(done.to, ['jane.doe@example.com']);
    assert.equal(done.subject, 'Approved: non-employee Grace Hopper in Contractors');
    assert.match(done.text, /the last approval was given by approver\.two/);
    assert.match(done.text, /The non-employee record [0-9a-f-]{36} was created/);

    const stored = await rows(r.id);
    assert.deepEqual(
      stored.map((n) => [n.kind, n.recipientId, n.status, n.attempts]),
      [
        ['APPROVAL_REQUESTED', a1.identity.id, 'SENT', 1],
        ['APPROVAL_REQUESTED', a2.identity.id, 'SENT', 1],
        ['REQUEST_APPROVED', manager.identity.id, 'SENT', 1],
      ],
    );
    assert.ok(stored.every((n) => n.sentAt !== null && n.lastError === null));
    // Sent once: draining again sends nothing more.
    await drain();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(smtp.mails.length, start + 3);
  });

  test('a rejection notifies the requester with the comment; a withdrawal the pending approver', async () => {
    const start = smtp.mails.length;
    const r = await newRequest('to.reject');
    assert.equal(
      (await h.request('POST', `/v2024/non-employee-approvals/${r.approvalItems[0]!.id}/reject`, a1.token, { comment: 'Budget is closed' })).statusCode,
      200,
    );
    await drain();
    await smtp.waitFor(start + 2);
    const rejected = smtp.mails.slice(start).find((m) => m.subject.startsWith('Rejected'))!;
    assert.deepEqual(rejected.to, ['jane.doe@example.com']);
    assert.match(rejected.text, /was rejected by approver\.one \(approval level 1\)/);
    assert.match(rejected.text, /\nComment:\n> Budget is closed\n/);

    const w = await newRequest('to.withdraw');
    assert.equal((await h.request('DELETE', `/v2024/non-employee-requests/${w.id}`, h.admin.token)).statusCode, 204);
    await drain();
    await smtp.waitFor(start + 4);
    const withdrawn = smtp.mails.slice(start).find((m) => m.subject.startsWith('Withdrawn'))!;
    assert.deepEqual(withdrawn.to, ['one@example.com']);
    assert.match(withdrawn.text, /was withdrawn by Organization Administrator \(admin\)/);
    assert.deepEqual(
      (await rows(w.id)).map((n) => n.kind),
      ['APPROVAL_REQUESTED', 'REQUEST_WITHDRAWN'],
    );
  });

  test('a governance group approver: every member is mailed; a member without an address is UNDELIVERABLE', async () => {
    const { directory } = h.app.services;
    const silent = await directory.createIdentity(h.config.tenant, { alias: 'no.mail', email: null });
    const group = await directory.workgroups.create(h.config.tenant, { name: 'Approvers', members: [a2.identity.id, silent.id] });
    const res = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
      name: 'Grouped',
      description: 'Grouped',
      owner: { id: manager.identity.id },
      approvers: [{ id: group.id }],
      accountManagers: [{ id: manager.identity.id }],
    });
    const start = smtp.mails.length;
    const r = await newRequest('grouped', res.json().id);
    await drain();
    await smtp.waitFor(start + 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(smtp.mails.length, start + 1);
    assert.deepEqual(smtp.mails[start]!.to, ['two@example.com']);
    const stored = await rows(r.id);
    assert.deepEqual(
      stored.map((n) => [n.recipientId, n.status]).sort(),
      [
        [a2.identity.id, 'SENT'],
        [silent.id, 'UNDELIVERABLE'],
      ].sort(),
    );
    assert.match(stored.find((n) => n.status === 'UNDELIVERABLE')!.lastError!, /no email address/);
  });

  test('a failed send is retried with back-off and mailed once; after the last attempt it is FAILED', async () => {
    await h.app.services.notifications.stop();
    const sender = new NotificationService(h.app.db.kysely, new NotificationRepository(h.app.db.dialect), h.app.services.directory, {
      smtpUrl: smtp.url,
      from: 'nelm@example.com',
      retryBaseMs: 200,
      maxAttempts: 3,
    });
    try {
      const start = smtp.mails.length;
      smtp.failNext(2);
      const r = await newRequest('flaky');
      assert.equal(await sender.tick(), true);
      let [n] = await rows(r.id);
      assert.deepEqual([n!.status, n!.attempts], ['PENDING', 1]);
      assert.match(n!.lastError!, /451/);
      assert.equal(await sender.tick(), false, 'not due before its back-off');
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.equal(await sender.tick(), true);
      [n] = await rows(r.id);
      assert.deepEqual([n!.status, n!.attempts], ['PENDING', 2]);
      assert.ok(Date.parse(n!.nextAttemptAt) - Date.now() > 250, 'the second wait is longer');
      await new Promise((resolve) => setTimeout(resolve, 450));
      assert.equal(await sender.tick(), true);
      [n] = await rows(r.id);
      assert.deepEqual([n!.status, n!.attempts, n!.lastError], ['SENT', 3, null]);
      assert.equal(smtp.mails.length, start + 1, 'mailed once');

      smtp.failNext(3);
      const g = await newRequest('gives.up');
      for (let i = 0; i < 3; i++) {
        await sender.tick();
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** i + 50));
      }
      [n] = await rows(g.id);
      assert.deepEqual([n!.status, n!.attempts], ['FAILED', 3]);
      assert.equal(smtp.mails.length, start + 1);
    } finally {
      await sender.stop();
    }
  });
});
