/**
 * All SQL of the webhooks: the endpoints, their deliveries (one per endpoint and event, in commit
 * order by `seq`) and every attempt. A worker claims an endpoint with what is due to it: the
 * endpoint is leased to the worker (`lease_until`, `claimed_by`), so one request at a time goes
 * to it, whatever the number of processes; an endpoint whose lease ran out (its process stopped)
 * is claimed again, and what it was sending is sent again.
 */
import type { Dialect, Exec } from '../../db/dialect.js';
import type { WebhookAttemptTable, WebhookDeliveryStatus, WebhookDeliveryTable, WebhookTable } from '../../db/types.js';
import { idSpellings } from '../../domain/ids.js';
import { type Attempt, type ClaimedEndpoint, type Delivery, type Subscription, toAttempt, toDelivery } from './model.js';

/** Deliveries per INSERT: 10 parameters each, well under both engines' bounds. */
const INSERT_ROWS = 500;

export type NewDelivery = Omit<WebhookDeliveryTable, 'seq'>;

export interface Claim {
  now: string;
  leaseUntil: string;
  workerId: string;
  /** Endpoints claimed at most. */
  endpoints: number;
  /** Deliveries per endpoint at most. */
  batch: number;
}

/** What an attempt changes in its delivery. */
export interface DeliveryOutcome {
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: string;
  lastAttemptAt: string;
}

const DELIVERY_COLUMNS = [
  'id',
  'tenant_id',
  'webhook_id',
  'event_id',
  'event_type',
  'status',
  'attempts',
  'next_attempt_at',
  'last_attempt_at',
  'created',
] as const;

export class WebhookRepository {
  constructor(private readonly dialect: Dialect) {}

  async insert(trx: Exec, row: WebhookTable): Promise<void> {
    await trx.insertInto('webhooks').values(row).execute();
  }

  /** The endpoint `id` names, in either spelling; with `lock`, locked until the transaction ends. */
  async get(db: Exec, tenantId: string, id: string, lock = false): Promise<WebhookTable | undefined> {
    const query = db.selectFrom('webhooks').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', idSpellings(id));
    return (lock ? this.dialect.forUpdate(query) : query).executeTakeFirst();
  }

  list(db: Exec, tenantId: string, limit: number, offset: number): Promise<WebhookTable[]> {
    return db.selectFrom('webhooks').selectAll().where('tenant_id', '=', tenantId).orderBy('created').orderBy('id').limit(limit).offset(offset).execute();
  }

  async count(db: Exec, tenantId: string): Promise<number> {
    const row = await db
      .selectFrom('webhooks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(db: Exec, tenantId: string, id: string, changes: Partial<WebhookTable>): Promise<void> {
    await db.updateTable('webhooks').set(changes).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  /** Deletes the endpoint with its deliveries and their attempts. */
  async delete(trx: Exec, tenantId: string, id: string): Promise<void> {
    await trx.deleteFrom('webhook_attempts').where('tenant_id', '=', tenantId).where('webhook_id', '=', id).execute();
    await trx.deleteFrom('webhook_deliveries').where('tenant_id', '=', tenantId).where('webhook_id', '=', id).execute();
    await trx.deleteFrom('webhooks').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  /** Every endpoint's sealed secrets (to seal them again under a new key-encryption key). */
  secrets(db: Exec): Promise<Pick<WebhookTable, 'tenant_id' | 'id' | 'secret' | 'previous_secret'>[]> {
    return db.selectFrom('webhooks').select(['tenant_id', 'id', 'secret', 'previous_secret']).execute();
  }

  /** The tenant's enabled endpoints, as the event consumer matches events against them. */
  async subscriptions(db: Exec, tenantId: string): Promise<Subscription[]> {
    const rows = await db.selectFrom('webhooks').select(['id', 'events', 'from_seq']).where('tenant_id', '=', tenantId).where('enabled', '=', 1).execute();
    return rows.map((r) => ({ id: r.id, patterns: JSON.parse(r.events) as string[], fromSeq: Number(r.from_seq) }));
  }

  async insertDeliveries(trx: Exec, rows: readonly NewDelivery[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_ROWS)
      await trx
        .insertInto('webhook_deliveries')
        .values(rows.slice(i, i + INSERT_ROWS))
        .execute();
  }

  /**
   * Deletes up to `limit` deliveries that finished (succeeded, or failed for good) before `before`,
   * oldest first, with their attempts; the number deleted. Walks the deliveries in `seq` order, in
   * which the oldest come first.
   */
  async pruneFinished(trx: Exec, before: string, limit: number): Promise<number> {
    const rows = await trx
      .selectFrom('webhook_deliveries')
      .select(['seq', 'tenant_id', 'id'])
      .where('status', 'in', ['SUCCEEDED', 'FAILED'])
      .where('last_attempt_at', '<', before)
      .orderBy('seq')
      .limit(limit)
      .execute();
    if (rows.length === 0) return 0;
    for (const tenantId of new Set(rows.map((r) => r.tenant_id))) {
      const ids = rows.filter((r) => r.tenant_id === tenantId).map((r) => r.id);
      await trx.deleteFrom('webhook_attempts').where('tenant_id', '=', tenantId).where('delivery_id', 'in', ids).execute();
    }
    await trx
      .deleteFrom('webhook_deliveries')
      .where(
        'seq',
        'in',
        rows.map((r) => r.seq),
      )
      .execute();
    return rows.length;
  }

  /** An endpoint's deliveries, newest first, each with its attempts. */
  async deliveries(db: Exec, tenantId: string, webhookId: string, limit: number, offset: number): Promise<Delivery[]> {
    const rows = await db
      .selectFrom('webhook_deliveries')
      .select(DELIVERY_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('webhook_id', '=', webhookId)
      .orderBy('seq', 'desc')
      .limit(limit)
      .offset(offset)
      .execute();
    const attempts = await this.attemptsOf(
      db,
      tenantId,
      rows.map((r) => r.id),
    );
    return rows.map((r) => toDelivery(r, attempts.get(r.id) ?? []));
  }

  async countDeliveries(db: Exec, tenantId: string, webhookId: string): Promise<number> {
    const row = await db
      .selectFrom('webhook_deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('webhook_id', '=', webhookId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** One delivery of an endpoint, with its attempts. */
  async delivery(db: Exec, tenantId: string, webhookId: string, id: string): Promise<Delivery | undefined> {
    const row = await db
      .selectFrom('webhook_deliveries')
      .select(DELIVERY_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('webhook_id', '=', webhookId)
      .where('id', 'in', idSpellings(id))
      .executeTakeFirst();
    if (!row) return undefined;
    return toDelivery(row, (await this.attemptsOf(db, tenantId, [row.id])).get(row.id) ?? []);
  }

  private async attemptsOf(db: Exec, tenantId: string, ids: readonly string[]): Promise<Map<string, Attempt[]>> {
    const out = new Map<string, Attempt[]>();
    if (ids.length === 0) return out;
    const rows = await db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('delivery_id', 'in', ids)
      .orderBy('number')
      .execute();
    for (const row of rows) {
      const list = out.get(row.delivery_id) ?? [];
      list.push(toAttempt(row));
      out.set(row.delivery_id, list);
    }
    return out;
  }

  /** Makes a delivery due now (a retry asked for by hand), whatever its status. */
  async redeliver(db: Exec, tenantId: string, webhookId: string, id: string, now: string): Promise<boolean> {
    const result = await db
      .updateTable('webhook_deliveries')
      .set({ status: 'PENDING', next_attempt_at: now })
      .where('tenant_id', '=', tenantId)
      .where('webhook_id', '=', webhookId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Claims up to `endpoints` enabled endpoints that have something due and no worker, oldest claim
   * first, each with its first `batch` due deliveries in commit order: PENDING ones (never tried,
   * or retried by hand) and RETRYING ones whose time has come. Endpoints another transaction is
   * claiming are skipped (PostgreSQL: FOR UPDATE SKIP LOCKED).
   */
  async claim(trx: Exec, claim: Claim): Promise<ClaimedEndpoint[]> {
    const { now } = claim;
    const candidates = trx
      .selectFrom('webhooks as w')
      .selectAll('w')
      .where('w.enabled', '=', 1)
      .where((eb) => eb.or([eb('w.lease_until', 'is', null), eb('w.lease_until', '<', now)]))
      .where((eb) => {
        const deliveries = () =>
          eb.selectFrom('webhook_deliveries as d').select('d.seq').whereRef('d.tenant_id', '=', 'w.tenant_id').whereRef('d.webhook_id', '=', 'w.id');
        return eb.or([
          eb.exists(deliveries().where('d.status', '=', 'PENDING')),
          eb.exists(deliveries().where('d.status', '=', 'RETRYING').where('d.next_attempt_at', '<=', now)),
        ]);
      })
      .orderBy('w.claimed_at')
      .limit(claim.endpoints);
    const endpoints = await this.dialect.forUpdate(candidates, true).execute();
    const claimed: ClaimedEndpoint[] = [];
    for (const w of endpoints) {
      // The first PENDING ones by the pending index, the RETRYING ones due by the due index: each
      // query reads what it returns, whatever the number of deliveries already made.
      const deliveries = () =>
        trx
          .selectFrom('webhook_deliveries')
          .select(['seq', 'id', 'event_id', 'payload', 'attempts'])
          .where('tenant_id', '=', w.tenant_id)
          .where('webhook_id', '=', w.id);
      const pending = await deliveries().where('status', '=', 'PENDING').orderBy('seq').limit(claim.batch).execute();
      const retrying = await deliveries().where('status', '=', 'RETRYING').where('next_attempt_at', '<=', now).orderBy('seq').limit(claim.batch).execute();
      const due = [...pending, ...retrying].sort((a, b) => Number(a.seq) - Number(b.seq)).slice(0, claim.batch);
      if (due.length === 0) continue;
      await this.update(trx, w.tenant_id, w.id, { lease_until: claim.leaseUntil, claimed_by: claim.workerId, claimed_at: now });
      claimed.push({
        tenantId: w.tenant_id,
        id: w.id,
        url: w.url,
        events: JSON.parse(w.events) as string[],
        ownerId: w.owner_id,
        secret: w.secret,
        previousSecret: w.previous_secret,
        previousSecretUntil: w.previous_secret_until,
        failingSince: w.failing_since,
        deliveries: due.map((d) => ({ seq: Number(d.seq), id: d.id, eventId: d.event_id, payload: d.payload, attempts: Number(d.attempts) })),
      });
    }
    return claimed;
  }

  /**
   * Records an attempt and its delivery's new state, unless the delivery is gone (its endpoint
   * was deleted meanwhile); whether it was recorded.
   */
  async recordAttempt(trx: Exec, attempt: WebhookAttemptTable, outcome: DeliveryOutcome): Promise<boolean> {
    const result = await trx
      .updateTable('webhook_deliveries')
      .set({ status: outcome.status, attempts: outcome.attempts, next_attempt_at: outcome.nextAttemptAt, last_attempt_at: outcome.lastAttemptAt })
      .where('tenant_id', '=', attempt.tenant_id)
      .where('id', '=', attempt.delivery_id)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    await trx
      .insertInto('webhook_attempts')
      .values(attempt)
      .onConflict((oc) => oc.columns(['tenant_id', 'delivery_id', 'number']).doNothing())
      .execute();
    return true;
  }

  /** Ends a worker's claim of an endpoint, with `changes`; false when the claim was no longer its own. */
  async release(trx: Exec, tenantId: string, id: string, workerId: string, changes: Partial<WebhookTable> = {}): Promise<boolean> {
    const result = await trx
      .updateTable('webhooks')
      .set({ ...changes, lease_until: null, claimed_by: null })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('claimed_by', '=', workerId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Disables an enabled endpoint, saying why; false when it was not enabled. */
  async disable(trx: Exec, tenantId: string, id: string, reason: string, now: string): Promise<boolean> {
    const result = await trx
      .updateTable('webhooks')
      .set({ enabled: 0, disabled_reason: reason, modified: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('enabled', '=', 1)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Ends every claim: their workers are known to be gone (a SQLite file's one process starting). */
  async endLeases(db: Exec): Promise<void> {
    await db.updateTable('webhooks').set({ lease_until: null, claimed_by: null }).where('claimed_by', 'is not', null).execute();
  }
}
