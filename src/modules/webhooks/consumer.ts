/**
 * The webhooks' event consumer: each event of the log becomes one delivery per enabled endpoint
 * that asked for its type, written in the transaction that moves the consumer's cursor (so once,
 * whatever crashes). An endpoint gets the events from its own `webhook.created` on; one that is
 * disabled when an event is consumed does not get it.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../../db/types.js';
import { newUuid, nowIso } from '../../domain/ids.js';
import type { EventConsumer } from '../events/consumers.js';
import type { AuditEvent } from '../events/model.js';
import { envelope, matches } from './model.js';
import type { NewDelivery, WebhookRepository } from './repository.js';

export const WEBHOOK_CONSUMER = 'webhooks';

export function webhookConsumer(repo: WebhookRepository, delivered: () => void): EventConsumer {
  return {
    name: WEBHOOK_CONSUMER,
    // No enabled endpoint: the tenant's events are passed over unread (an import's thousands).
    async idle(trx: Transaction<Database>, tenantId: string): Promise<boolean> {
      return (await repo.subscriptions(trx, tenantId)).length === 0;
    },
    async consume(trx: Transaction<Database>, tenantId: string, events: readonly AuditEvent[]): Promise<void> {
      const subscriptions = await repo.subscriptions(trx, tenantId);
      if (subscriptions.length === 0) return;
      const now = nowIso();
      const rows: NewDelivery[] = [];
      for (const event of events) {
        let payload: string | undefined;
        for (const s of subscriptions) {
          if (event.seq < s.fromSeq || !matches(s.patterns, event.type)) continue;
          payload ??= envelope(event);
          rows.push({
            tenant_id: tenantId,
            id: newUuid(),
            webhook_id: s.id,
            event_id: event.id,
            event_type: event.type,
            payload,
            status: 'PENDING',
            attempts: 0,
            next_attempt_at: now,
            last_attempt_at: null,
            created: now,
          });
        }
      }
      await repo.insertDeliveries(trx, rows);
    },
    committed: delivered,
  };
}
