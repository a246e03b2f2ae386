/**
 * The queries behind the metrics that are read at scrape time, never per request. Each is bounded
 * and goes through an index: the cursors (a row per tenant and consumer) with the first event past
 * each (the events' primary key), the unfinished bulk jobs (the status index), and the oldest due
 * lifecycle step (the due-time index). They read other modules' tables for counting only.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/types.js';

export interface ConsumerBacklog {
  consumer: string;
  /** Events committed past the consumer's cursors, all tenants. */
  backlog: number;
  /** The time of the oldest of them; null when there are none. */
  oldest: string | null;
}

export class MetricsRepository {
  async backlog(db: Kysely<Database>): Promise<ConsumerBacklog[]> {
    const rows = await db
      .selectFrom('event_cursors as k')
      .innerJoin('event_chains as c', 'c.tenant_id', 'k.tenant_id')
      .select((eb) => [
        'k.consumer',
        sql<number | string>`sum(${eb.ref('c.head_seq')} - ${eb.ref('k.position')})`.as('backlog'),
        eb.fn
          .min(
            eb
              .selectFrom('events as e')
              .select('e.time')
              .whereRef('e.tenant_id', '=', 'k.tenant_id')
              .whereRef('e.seq', '>', 'k.position')
              .orderBy('e.seq')
              .limit(1),
          )
          .as('oldest'),
      ])
      .groupBy('k.consumer')
      .execute();
    return rows.map((r) => ({ consumer: r.consumer, backlog: Number(r.backlog ?? 0), oldest: (r.oldest as string | null) ?? null }));
  }

  /** Unfinished bulk jobs by state. */
  async queuedJobs(db: Kysely<Database>): Promise<Map<string, number>> {
    const rows = await db
      .selectFrom('bulk_jobs')
      .select((eb) => ['status', eb.fn.countAll<number | string>().as('count')])
      .where('status', 'in', ['PENDING', 'IN_PROGRESS'])
      .groupBy('status')
      .execute();
    return new Map(rows.map((r) => [r.status, Number(r.count)]));
  }

  /** The due time of the oldest lifecycle step due at `now` and not done yet; null when none is. */
  async oldestDue(db: Kysely<Database>, now: string): Promise<string | null> {
    const row = await db.selectFrom('lifecycle_due').select('due_at').where('due_at', '<=', now).orderBy('due_at').limit(1).executeTakeFirst();
    return row?.due_at ?? null;
  }
}
