/** The notification sender without a database (a fake outbox and directory) and the message texts. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/types.js';
import type { DirectoryService } from '../../src/modules/directory/service.js';
import type { ClaimedNotification } from '../../src/modules/notifications/model.js';
import type { NotificationRepository } from '../../src/modules/notifications/repository.js';
import { type NotificationLog, NotificationService } from '../../src/modules/notifications/service.js';
import { approvalRequested, requestApproved, requestRejected, requestWithdrawn, type RequestFacts } from '../../src/modules/notifications/messages.js';
import { loadConfig } from '../../src/config/config.js';

type Claimed = ClaimedNotification & { email: string | null };

class FakeOutbox {
  due: Claimed[] = [];
  calls: string[] = [];
  /** The recipients' addresses, as the directory has them. */
  readonly addresses = new Map<string, string>();
  async claim(): Promise<ClaimedNotification[]> {
    for (const n of this.due) if (n.email !== null) this.addresses.set(n.recipientId, n.email);
    const out = this.due.map(({ email: _email, ...n }) => ({ ...n, attempts: n.attempts + 1 }));
    this.due = [];
    return out;
  }
  async finish(_db: unknown, _t: string, id: string, changes: { status: string; last_error?: string | null; next_attempt_at?: string }) {
    if (changes.status === 'SENT') this.calls.push(`sent ${id}`);
    else if (changes.status === 'UNDELIVERABLE') this.calls.push(`undeliverable ${id}: ${changes.last_error}`);
    else if (changes.status === 'FAILED') this.calls.push(`failed ${id}: ${changes.last_error!.slice(0, 20)}`);
    else this.calls.push(`retry ${id} at ${changes.next_attempt_at}`);
  }
}

/** The sender over the fake outbox; recipients' addresses are those of the notifications claimed. */
function senderOf(outbox: FakeOutbox, options: ConstructorParameters<typeof NotificationService>[3]) {
  const directory = {
    emails: async (_t: string, ids: readonly string[]) =>
      new Map(ids.flatMap((id) => (outbox.addresses.has(id) ? [[id, outbox.addresses.get(id)!] as const] : []))),
  };
  return new NotificationService({} as Kysely<Database>, outbox as unknown as NotificationRepository, directory as unknown as DirectoryService, options);
}

function recordingLog(): NotificationLog & { lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const notification = (id: string, email: string | null, attempts = 0): Claimed => ({
  tenantId: 't',
  id,
  kind: 'APPROVAL_REQUESTED',
  recipientId: `r-${id}`,
  email,
  subject: `subject ${id}`,
  body: `body ${id}\n`,
  attempts,
});

describe('notification sender', () => {
  test('without SMTP_URL: logs each notification (no secrets) and marks it sent; no address: undeliverable', async () => {
    const outbox = new FakeOutbox();
    const sender = senderOf(outbox, { from: 'nelm@example.com' });
    const log = recordingLog();
    sender.start(log);
    assert.equal(sender.mode, 'log');
    outbox.due = [notification('a', 'one@example.com'), notification('b', null)];
    await sender.drain();
    await sender.stop();
    assert.deepEqual(outbox.calls, ['sent a', 'undeliverable b: the recipient has no email address']);
    const info = log.lines.find((l) => l.level === 'info')!;
    assert.match(info.msg, /no SMTP_URL configured/);
    assert.deepEqual(info.obj, {
      notification: { id: 'a', kind: 'APPROVAL_REQUESTED', recipientId: 'r-a' },
      to: 'one@example.com',
      subject: 'subject a',
      text: 'body a\n',
    });
    assert.equal(log.lines.find((l) => l.level === 'warn')!.msg, 'notification undeliverable: the recipient has no email address');
  });

  test('SMTP failures are retried with exponential back-off, then FAILED; the URL is never logged', async () => {
    const outbox = new FakeOutbox();
    const smtpUrl = 'smtp://user:s3cret@127.0.0.1:1';
    const sender = senderOf(outbox, {
      smtpUrl,
      from: 'nelm@example.com',
      retryBaseMs: 1000,
      retryMaxMs: 5000,
      maxAttempts: 3,
    });
    assert.deepEqual(
      [1, 2, 3, 4, 10].map((n) => sender.retryDelay(n)),
      [1000, 2000, 4000, 5000, 5000],
    );
    const log = recordingLog();
    sender.start(log);
    outbox.due = [notification('x', 'x@example.com', 0), notification('y', 'y@example.com', 2)];
    await sender.drain();
    await sender.stop();
    assert.match(outbox.calls[0]!, /^retry x at /);
    assert.match(outbox.calls[1]!, /^failed y: /);
    assert.ok(!JSON.stringify(log.lines).includes('s3cret'));
  });

  test('configuration: SMTP_URL must be smtp(s)://, its password is never echoed; NELM_MAIL_FROM defaults', () => {
    assert.equal(loadConfig({}).smtpUrl, undefined);
    assert.equal(loadConfig({}).mailFrom, 'NELM <nelm@localhost>');
    assert.equal(loadConfig({ SMTP_URL: 'smtps://u:p@mail.example.com:465', NELM_MAIL_FROM: 'Us <us@example.com>' }).mailFrom, 'Us <us@example.com>');
    assert.throws(
      () => loadConfig({ SMTP_URL: 'http://u:hunter2@mail.example.com' }),
      (e: Error) => /SMTP_URL must be/.test(e.message) && !e.message.includes('hunter2'),
    );
    assert.throws(() => loadConfig({ NELM_MAIL_FROM: 'nobody' }), /NELM_MAIL_FROM/);
  });
});

describe('notification texts', () => {
  const facts: RequestFacts = {
    requestId: 'req1',
    requester: { id: 'jd', alias: 'jane.doe', name: 'Jane Doe' },
    firstName: 'Ada',
    lastName: 'Lovelace',
    accountName: 'ada',
    email: 'ada@example.com',
    startDate: '2020-03-24T05:00:00.000Z',
    endDate: '2021-03-25T05:00:00.000Z',
    source: { id: 'src1', name: 'Contractors' },
  };

  test('who asked, for whom, which source, what to do', () => {
    const ask = approvalRequested('ap1', facts, { id: 'item1', order: 1, levels: 2 });
    assert.equal(ask.recipientId, 'ap1');
    assert.equal(ask.requestId, 'req1');
    assert.match(
      ask.body,
      /^Jane Doe \(jane\.doe\) asked for a non-employee account for Ada Lovelace \(account name ada, ada@example\.com\) in the source "Contractors"\./,
    );
    assert.match(ask.body, /approver 1 of 2\. Please approve or reject approval item item1/);
    assert.match(ask.body, /Employment: 2020-03-24 to 2021-03-25/);
    const ok = requestApproved(facts, 'rec1', undefined);
    assert.equal(ok.recipientId, 'jd');
    assert.match(ok.body, /approved at once: the source has no approvers/);
    assert.match(
      requestRejected(facts, { id: 'x', alias: 'bob', name: null }, 2, 'No budget').body,
      /rejected by bob \(approval level 2\)\.\nComment:\n> No budget\nNo record was created/,
    );
    assert.match(requestWithdrawn('ap1', facts, undefined).body, /withdrawn by an unknown identity\.\nYour approval is no longer needed/);
  });

  test('values a row holds cannot forge lines, the subject or the quoted comment', () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for.
    const LINE_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: as above, less TAB.
    const LINE_BREAKING_BUT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/;
    const hostile: RequestFacts = {
      ...facts,
      requester: { id: 'jd', alias: 'jane.doe', name: 'Jane\nBcc: x@example.com' },
      firstName: 'Ada\r\nSubject: forged',
      lastName: 'Love\u2028lace\u0085',
      accountName: 'ada\u001b[2J',
      email: 'ada@example.com\nReply-To: x@example.com',
      source: { id: 'src1', name: 'Contractors\r\n\r\nApproved: yes' },
    };
    const bodies = [
      approvalRequested('ap1', hostile, { id: 'item1', order: 1, levels: 1 }),
      requestApproved(hostile, 'rec1', { id: 'ap', alias: 'bob', name: 'Bob\rSmith' }),
      requestRejected(hostile, undefined, 1, 'No.\nSubject: ok\r\n\tthanks\rbye\u001b[0m'),
      requestWithdrawn('ap1', hostile, undefined),
    ];
    for (const entry of bodies) {
      assert.doesNotMatch(entry.subject, LINE_BREAKING);
      assert.match(entry.subject, /Ada\\u000d\\u000aSubject: forged Love\\u2028lace\\u0085 in Contractors\\u000d\\u000a\\u000d\\u000aApproved: yes$/);
      for (const line of entry.body.split('\n')) {
        assert.doesNotMatch(line, LINE_BREAKING_BUT_TAB, JSON.stringify(line));
        assert.doesNotMatch(line, /^(Subject|Bcc|Reply-To|Approved|Smith)\b/, JSON.stringify(line));
      }
    }
    assert.match(bodies[0]!.body, /\nAccount name: ada\\u001b\[2J\n/);
    assert.match(bodies[0]!.body, /^Jane\\u000aBcc: x@example\.com \(jane\.doe\) asked/);
    assert.match(bodies[1]!.body, /given by Bob\\u000dSmith \(bob\)/);
    assert.match(bodies[2]!.body, /\nComment:\n> No\.\n> Subject: ok\n> \tthanks\n> bye\\u001b\[0m\nNo record was created/);
  });
});
