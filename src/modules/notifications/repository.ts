/**
 * All SQL of the notification outbox. Notifications are written by `enqueue` inside the
 * transaction of the change they tell about, so a change and its notifications commit together or
 * not at all; the sender claims due rows, delivers them and marks them.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Engine } from '../../config/config.js';
import type { Database, NotificationStatus, PrincipalType } from '../../db/types.js';
import { newId } from '../../auth/secrets.js';

type Exec = Kysely<Database> | Transaction<Database>;

export interface OutboxEntry {
  kind: string;
  recipientId: string;
  requestId?: string | undefined;
  subject: string;
  body: string;
}

export interface ClaimedNotification {
  tenantId: string;
  id: string;
  kind: string;
  recipientId: string;
  /** The recipient's address now; null when the identity has none or is gone. */
  email: string | null;
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

export class NotificationRepository {
  constructor(
    readonly db: Kysely<Database>,
    private readonly engine: Engine,
  ) {}

  async enqueue(db: Exec, tenantId: string, entries: readonly OutboxEntry[], now: string): Promise<number> {
    if (entries.length === 0) return 0;
    await db
      .insertInto('notifications')
      .values(
        entries.map((e) => ({
          tenant_id: tenantId,
          id: newId(),
          kind: e.kind,
          recipient_id: e.recipientId,
          request_id: e.requestId ?? null,
          subject: e.subject,
          body: e.body,
          status: 'PENDING' as const,
          attempts: 0,
          next_attempt_at: now,
          sent_at: null,
          last_error: null,
          created: now,
        })),
      )
      .execute();
    return entries.length;
  }

  /** The identities a principal stands for: itself, or the members of a governance group. */
  async identitiesOf(db: Exec, tenantId: string, principal: { type: PrincipalType; id: string }): Promise<string[]> {
    if (principal.type === 'IDENTITY') return [principal.id];
    const rows = await db
      .selectFrom('workgroup_members')
      .select('identity_id')
      .where('tenant_id', '=', tenantId)
      .where('workgroup_id', '=', principal.id)
      .orderBy('identity_id')
      .execute();
    return rows.map((r) => r.identity_id);
  }

  /**
   * Claims up to `batch` due notifications: each gets one more attempt and is leased until
   * `leaseUntil`, so no other sender takes it meanwhile. On PostgreSQL the rows are picked with
   * FOR UPDATE SKIP LOCKED, so several processes claim disjoint rows; SQLite has one process.
   */
  async claim(now: string, leaseUntil: string, batch: number): Promise<ClaimedNotification[]> {
    const claimed = await this.db.transaction().execute(async (trx) => {
      let due = trx
        .selectFrom('notifications')
        .select('id')
        .where('status', '=', 'PENDING')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(batch);
      if (this.engine === 'postgres') due = due.forUpdate().skipLocked();
      const ids = (await due.execute()).map((r) => r.id);
      if (ids.length === 0) return [];
      return trx
        .updateTable('notifications')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: leaseUntil }))
        .where('id', 'in', ids)
        .where('status', '=', 'PENDING')
        .where('next_attempt_at', '<=', now)
        .returning(['tenant_id', 'id', 'kind', 'recipient_id', 'subject', 'body', 'attempts'])
        .execute();
    });
    if (claimed.length === 0) return [];
    const emails = new Map<string, string | null>();
    for (const tenantId of new Set(claimed.map((c) => c.tenant_id))) {
      const recipients = [...new Set(claimed.filter((c) => c.tenant_id === tenantId).map((c) => c.recipient_id))];
      const rows = await this.db.selectFrom('identities').select(['id', 'email']).where('tenant_id', '=', tenantId).where('id', 'in', recipients).execute();
      for (const row of rows) emails.set(`${tenantId}/${row.id}`, row.email && row.email.trim() !== '' ? row.email.trim() : null);
    }
    return claimed
      .map((c) => ({
        tenantId: c.tenant_id,
        id: c.id,
        kind: c.kind,
        recipientId: c.recipient_id,
        email: emails.get(`${c.tenant_id}/${c.recipient_id}`) ?? null,
        subject: c.subject,
        body: c.body,
        attempts: Number(c.attempts),
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  private async finish(
    tenantId: string,
    id: string,
    changes: { status: NotificationStatus; sent_at?: string; last_error?: string | null; next_attempt_at?: string },
  ): Promise<void> {
    await this.db.updateTable('notifications').set(changes).where('tenant_id', '=', tenantId).where('id', '=', id).where('status', '=', 'PENDING').execute();
  }

  markSent(tenantId: string, id: string, now: string): Promise<void> {
    return this.finish(tenantId, id, { status: 'SENT', sent_at: now, last_error: null });
  }

  markUndeliverable(tenantId: string, id: string, reason: string): Promise<void> {
    return this.finish(tenantId, id, { status: 'UNDELIVERABLE', last_error: reason });
  }

  markFailed(tenantId: string, id: string, error: string): Promise<void> {
    return this.finish(tenantId, id, { status: 'FAILED', last_error: error });
  }

  retryLater(tenantId: string, id: string, nextAttemptAt: string, error: string): Promise<void> {
    return this.finish(tenantId, id, { status: 'PENDING', next_attempt_at: nextAttemptAt, last_error: error });
  }

  /** The notifications about a request, oldest first (tests, the CLI). */
  async forRequest(tenantId: string, requestId: string): Promise<StoredNotification[]> {
    const rows = await this.db
      .selectFrom('notifications')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('request_id', '=', requestId)
      .orderBy('created')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
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
    }));
  }
}
