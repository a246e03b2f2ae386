/**
 * The lifecycle's mails: the daily digest of records nearing their end date (one per person and
 * day), the reminder of a PENDING approval item, and its escalation to the source's owner. Every
 * value a client wrote is shown on its own line as one line (asOneLine), as in the other mails.
 */
import type { LifecycleDigestLineTable } from '../../db/lifecycle-types.js';
import { asOneLine } from '../../domain/text.js';
import type { OutboxEntry } from '../notifications/model.js';

export const LIFECYCLE_KINDS = {
  /** To account managers and source owners: the records whose reminder came that day. */
  expiryDigest: 'EXPIRY_DIGEST',
  /** To the approver(s) of an item PENDING for the policy's days. */
  approvalReminder: 'APPROVAL_REMINDER',
  /** To the source's owner: an item PENDING past the policy's escalation days. */
  approvalEscalated: 'APPROVAL_ESCALATED',
} as const;

/** What the digest says of one record. */
export interface ExpiringFacts {
  recordId: string;
  firstName: string;
  lastName: string;
  accountName: string;
  email: string;
  endDate: string;
  daysBefore: number;
  source: { id: string; name: string };
}

/** One record's paragraph of a digest: who, when, and how to extend. */
export function digestLine(f: ExpiringFacts): string {
  const days = f.daysBefore === 1 ? '1 day' : `${f.daysBefore} days`;
  return [
    `- ${asOneLine(f.firstName)} ${asOneLine(f.lastName)} (account name ${asOneLine(f.accountName)}, ${asOneLine(f.email)})`,
    `  Source: ${asOneLine(f.source.name)} (${f.source.id}); record ${f.recordId}`,
    `  Ends: ${asOneLine(f.endDate)} (reminder ${days} before)`,
    `  To extend: PATCH /v2024/non-employee-records/${f.recordId}`,
    `    [{"op": "replace", "path": "/endDate", "value": "<the new end date>"}]`,
  ].join('\n');
}

export function digestMail(recipientId: string, day: string, lines: readonly LifecycleDigestLineTable[]): OutboxEntry {
  const count = new Set(lines.map((l) => l.record_id)).size;
  const subject = count === 1 ? `1 non-employee record ends soon (${day})` : `${count} non-employee records end soon (${day})`;
  const body = [
    `These non-employee records reach their end date soon. You are an account manager or the owner of their source.`,
    'When a record reaches its end date it expires (the event record.expired is emitted, and access is removed downstream).',
    'The owner of the source, or a client with idn:nesr:update, may extend a record by changing its endDate.',
    '',
    ...lines.map((l) => l.line),
  ];
  return { kind: LIFECYCLE_KINDS.expiryDigest, recipientId, subject, body: `${body.join('\n')}\n` };
}

/** What the approval mails say of the request. */
export interface PendingFacts {
  itemId: string;
  requestId: string;
  firstName: string;
  lastName: string;
  accountName: string;
  source: { id: string; name: string };
  pendingSince: string;
}

function about(f: PendingFacts): string[] {
  return [
    `Non-employee: ${asOneLine(f.firstName)} ${asOneLine(f.lastName)} (account name ${asOneLine(f.accountName)})`,
    `Source: ${asOneLine(f.source.name)} (${f.source.id})`,
    `Request: ${f.requestId}; approval item ${f.itemId}`,
    `Pending since: ${f.pendingSince}`,
  ];
}

export function approvalReminder(recipientId: string, f: PendingFacts): OutboxEntry {
  return {
    kind: LIFECYCLE_KINDS.approvalReminder,
    recipientId,
    requestId: f.requestId,
    subject: asOneLine(`Reminder: approval still needed for ${f.firstName} ${f.lastName} in ${f.source.name}`),
    body: `${[
      'A request for a non-employee account still waits for your decision:',
      `  POST /v2024/non-employee-approvals/${f.itemId}/approve   (comment optional)`,
      `  POST /v2024/non-employee-approvals/${f.itemId}/reject    (comment required)`,
      '',
      ...about(f),
    ].join('\n')}\n`,
  };
}

export function approvalEscalated(recipientId: string, f: PendingFacts): OutboxEntry {
  return {
    kind: LIFECYCLE_KINDS.approvalEscalated,
    recipientId,
    requestId: f.requestId,
    subject: asOneLine(`Escalated: approval pending for ${f.firstName} ${f.lastName} in ${f.source.name}`),
    body: `${[
      'A request for a non-employee account in a source you own has waited too long for its approver.',
      'As the owner of the source you may decide it in place of the approver:',
      `  POST /admin/v1/approvals/${f.itemId}/escalation   {"decision": "APPROVE" or "REJECT", "comment": "…"}   (comment required to reject)`,
      '',
      ...about(f),
    ].join('\n')}\n`,
  };
}
