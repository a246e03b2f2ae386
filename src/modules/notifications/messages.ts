/**
 * The text of every notification: who asked, for whom, in which source, and what the recipient
 * should do. Plain text, no secrets (ids, names and the non-employee's contact data only).
 *
 * No value a client wrote can forge the structure of a mail: every single-line value (names,
 * account names, addresses, dates, the source name) is shown on its line whatever the row holds,
 * its control characters and Unicode line separators written as `\u` escapes (`\u000d`); a comment is quoted,
 * each of its lines beginning with `> `; the subject is one line.
 */
import { asOneLine } from '../../domain/text.js';
import type { OutboxEntry } from './model.js';

export const NOTIFICATION_KINDS = {
  /** To the approver(s) of the level that just became PENDING. */
  approvalRequested: 'APPROVAL_REQUESTED',
  /** To the requester: every level approved (or no approvers), the record exists. */
  requestApproved: 'REQUEST_APPROVED',
  /** To the requester: an approver rejected the request. */
  requestRejected: 'REQUEST_REJECTED',
  /** To the approver(s) of the open level: the request was withdrawn. */
  requestWithdrawn: 'REQUEST_WITHDRAWN',
  /** To a webhook endpoint's owner: the server disabled it. */
  webhookDisabled: 'WEBHOOK_DISABLED',
} as const;

export interface Person {
  id: string;
  alias: string;
  name: string | null;
}

/** What every message says about the request. */
export interface RequestFacts {
  requestId: string;
  requester: Person;
  firstName: string;
  lastName: string;
  accountName: string;
  email: string;
  startDate: string;
  endDate: string;
  source: { id: string; name: string };
}

export function display(person: Person | undefined, fallbackId = 'an unknown identity'): string {
  if (!person) return fallbackId;
  const alias = asOneLine(person.alias);
  return person.name && person.name !== person.alias ? `${asOneLine(person.name)} (${alias})` : alias;
}

/** The facts with every value a client wrote on one line (ids are the server's). */
function oneLine(f: RequestFacts): RequestFacts {
  return {
    requestId: f.requestId,
    requester: f.requester,
    firstName: asOneLine(f.firstName),
    lastName: asOneLine(f.lastName),
    accountName: asOneLine(f.accountName),
    email: asOneLine(f.email),
    startDate: asOneLine(f.startDate),
    endDate: asOneLine(f.endDate),
    source: { id: f.source.id, name: asOneLine(f.source.name) },
  };
}

/** A comment, quoted: each of its lines (LF, CR LF or CR ends one) begins with `> `, tabs kept. */
function quoted(comment: string): string[] {
  return comment.split(/\r\n|\r|\n/).map((line) => `> ${asOneLine(line, true)}`);
}

function who(f: RequestFacts): string {
  return `${f.firstName} ${f.lastName} (account name ${f.accountName}, ${f.email})`;
}

function summary(f: RequestFacts): string[] {
  return [
    `Requested by: ${display(f.requester)}`,
    `Non-employee: ${f.firstName} ${f.lastName}`,
    `Account name: ${f.accountName}`,
    `Email: ${f.email}`,
    `Employment: ${f.startDate.slice(0, 10)} to ${f.endDate.slice(0, 10)}`,
    `Source: ${f.source.name} (${f.source.id})`,
    `Request: ${f.requestId}`,
  ];
}

function entry(kind: string, recipientId: string, f: RequestFacts, subject: string, lines: string[]): OutboxEntry {
  return { kind, recipientId, requestId: f.requestId, subject: asOneLine(subject), body: `${lines.join('\n')}\n` };
}

export function approvalRequested(recipientId: string, facts: RequestFacts, item: { id: string; order: number; levels: number }): OutboxEntry {
  const f = oneLine(facts);
  return entry(NOTIFICATION_KINDS.approvalRequested, recipientId, f, `Approval needed: non-employee ${f.firstName} ${f.lastName} in ${f.source.name}`, [
    `${display(f.requester)} asked for a non-employee account for ${who(f)} in the source "${f.source.name}".`,
    `You are approver ${item.order} of ${item.levels}. Please approve or reject approval item ${item.id}:`,
    `  POST /v2024/non-employee-approvals/${item.id}/approve   (comment optional)`,
    `  POST /v2024/non-employee-approvals/${item.id}/reject    (comment required)`,
    '',
    ...summary(f),
  ]);
}

export function requestApproved(facts: RequestFacts, recordId: string, approvedBy: Person | undefined): OutboxEntry {
  const f = oneLine(facts);
  const how = approvedBy ? `was approved; the last approval was given by ${display(approvedBy)}` : 'was approved at once: the source has no approvers';
  return entry(NOTIFICATION_KINDS.requestApproved, f.requester.id, f, `Approved: non-employee ${f.firstName} ${f.lastName} in ${f.source.name}`, [
    `Your request for a non-employee account for ${who(f)} in the source "${f.source.name}" ${how}.`,
    `The non-employee record ${recordId} was created. Nothing more to do.`,
    '',
    ...summary(f),
  ]);
}

export function requestRejected(facts: RequestFacts, rejectedBy: Person | undefined, level: number, comment: string): OutboxEntry {
  const f = oneLine(facts);
  return entry(NOTIFICATION_KINDS.requestRejected, f.requester.id, f, `Rejected: non-employee ${f.firstName} ${f.lastName} in ${f.source.name}`, [
    `Your request for a non-employee account for ${who(f)} in the source "${f.source.name}" was rejected by ${display(rejectedBy)} (approval level ${level}).`,
    'Comment:',
    ...quoted(comment),
    'No record was created. You may correct the request and submit a new one.',
    '',
    ...summary(f),
  ]);
}

export function requestWithdrawn(recipientId: string, facts: RequestFacts, by: Person | undefined): OutboxEntry {
  const f = oneLine(facts);
  return entry(NOTIFICATION_KINDS.requestWithdrawn, recipientId, f, `Withdrawn: non-employee ${f.firstName} ${f.lastName} in ${f.source.name}`, [
    `The request of ${display(f.requester)} for a non-employee account for ${who(f)} in the source "${f.source.name}" was withdrawn by ${display(by)}.`,
    'Your approval is no longer needed. Nothing to do.',
    '',
    ...summary(f),
  ]);
}

/** To a webhook endpoint's owner: the server disabled it (410 Gone, or failing for days). */
export function webhookDisabled(ownerId: string, webhook: { id: string; url: string }, reason: string): OutboxEntry {
  const url = asOneLine(webhook.url);
  return {
    kind: NOTIFICATION_KINDS.webhookDisabled,
    recipientId: ownerId,
    subject: asOneLine(`Webhook disabled: ${url}`),
    body: [
      `The webhook endpoint ${url} (${webhook.id}) was disabled: ${asOneLine(reason)}.`,
      'Events are no longer sent to it; its deliveries not yet made wait until it is enabled again.',
      'Once the receiver works, enable it with:',
      `  PATCH /admin/v1/webhooks/${webhook.id}   {"enabled": true}`,
      `Its delivery log: GET /admin/v1/webhooks/${webhook.id}/deliveries`,
      '',
    ].join('\n'),
  };
}
