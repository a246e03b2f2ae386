/**
 * All SQL of the notification outbox. Notifications are written inside the transaction of the
 * change they tell about, so a change and its notifications commit together or not at all; the
 * sender claims due rows, delivers them and marks them.
 */
import { newId } from '../../auth/secrets.js';
import type { Dialect, Exec } from '../../db/dialect.js';
import { transaction } from '../../db/dialect.js';
import type { Database, NotificationStatus } from '../../db/types.js';
import type { Kysely } from 'kysely';
import { type ClaimedNotification, type OutboxEntry, type StoredNotification, toStoredNotification } from './model.js';

export class NotificationRepository {
  constructor(private readonly dialect: Dialect) {}

  async enqueue(db: Exec, tenantId: string, entries: readonly OutboxEntry[], now: string): Promise<void> {
    if (entries.length === 0) return;
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
  }

  /**
   * Claims up to `batch` due notifications, in id order: each gets one more attempt and is leased
   * until `leaseUntil`, so no other sender takes it meanwhile. Rows another process is claiming
   * are skipped (the dialect's forUpdate), so several processes claim disjoint rows.
   */
  async claim(db: Kysely<Database>, now: string, leaseUntil: string, batch: number): Promise<ClaimedNotification[]> {
    const rows = await transaction(db, async (trx) => {
      const due = trx
        .selectFrom('notifications')
        .select('id')
        .where('status', '=', 'PENDING')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(batch);
      const ids = (await this.dialect.forUpdate(due, true).execute()).map((r) => r.id);
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
    return rows
      .map((c) => ({
        tenantId: c.tenant_id,
        id: c.id,
        kind: c.kind,
        recipientId: c.recipient_id,
        subject: c.subject,
        body: c.body,
        attempts: Number(c.attempts),
      }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Records the outcome of a claimed notification. */
  async finish(
    db: Exec,
    tenantId: string,
    id: string,
    changes: { status: NotificationStatus; sent_at?: string; last_error?: string | null; next_attempt_at?: string },
  ): Promise<void> {
    await db.updateTable('notifications').set(changes).where('tenant_id', '=', tenantId).where('id', '=', id).where('status', '=', 'PENDING').execute();
  }

  /**
   * Deletes the notifications of one kind about a request that no sender has tried yet; their
   * recipients. One that a sender has claimed is left to be delivered.
   */
  async dropUnsent(db: Exec, tenantId: string, requestId: string, kind: string): Promise<string[]> {
    const rows = await db
      .deleteFrom('notifications')
      .where('tenant_id', '=', tenantId)
      .where('request_id', '=', requestId)
      .where('kind', '=', kind)
      .where('status', '=', 'PENDING')
      .where('attempts', '=', 0)
      .returning('recipient_id')
      .execute();
    return rows.map((r) => r.recipient_id);
  }

  /** The notifications about a request, oldest first. */
  async forRequest(db: Exec, tenantId: string, requestId: string): Promise<StoredNotification[]> {
    const rows = await db
      .selectFrom('notifications')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('request_id', '=', requestId)
      .orderBy('created')
      .orderBy('id')
      .execute();
    return rows.map(toStoredNotification);
  }
}
