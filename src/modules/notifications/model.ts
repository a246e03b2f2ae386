/** Notifications: what the outbox holds, and the mapping of its rows. */
import type { NotificationStatus, NotificationTable } from '../../db/types.js';

/** A notification to write: its kind, its recipient, and its text. */
export interface OutboxEntry {
  kind: string;
  recipientId: string;
  requestId?: string | undefined;
  subject: string;
  body: string;
}

/** A notification claimed for delivery. */
export interface ClaimedNotification {
  tenantId: string;
  id: string;
  kind: string;
  recipientId: string;
  subject: string;
  body: string;
  /** Including this one. */
  attempts: number;
}

export interface StoredNotification {
  id: string;
  kind: string;
  recipientId: string;
  requestId: string | null;
  subject: string;
  body: string;
  status: NotificationStatus;
  attempts: number;
  nextAttemptAt: string;
  sentAt: string | null;
  lastError: string | null;
  created: string;
}

export function toStoredNotification(r: NotificationTable): StoredNotification {
  return {
    id: r.id,
    kind: r.kind,
    recipientId: r.recipient_id,
    requestId: r.request_id,
    subject: r.subject,
    body: r.body,
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    sentAt: r.sent_at,
    lastError: r.last_error,
    created: r.created,
  };
}
