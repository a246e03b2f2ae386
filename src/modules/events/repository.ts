/** All SQL of the event log: its events, and each tenant's chain head and checkpoint. */
import type { FilterNode } from '../../collections/filter.js';
import { applySorters, filterExpression, type Sorter } from '../../collections/query.js';
import { type Dialect, type Exec, insertRows } from '../../db/dialect.js';
import type { EventChainTable, EventTable } from '../../db/types.js';
import { idSpellings } from '../../domain/ids.js';
import { EVENT_FILTERS } from './collection.js';
import { GENESIS_HASH } from './model.js';

/** Events per INSERT: 13 values each, well under SQLite's 32,766 and PostgreSQL's 65,535. */
const INSERT_ROWS = 500;
const COLUMNS = [
  'tenant_id',
  'seq',
  'id',
  'type',
  'time',
  'actor_id',
  'actor_alias',
  'target_type',
  'target_id',
  'source_id',
  'data',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof EventTable)[];

export interface EventListQuery {
  filter: FilterNode | undefined;
  sorters: readonly Sorter[];
  limit: number;
  offset: number;
}

export class EventRepository {
  constructor(private readonly dialect: Dialect) {}

  private filtered(db: Exec, tenantId: string, filter: FilterNode | undefined) {
    const qb = db.selectFrom('events').where('events.tenant_id', '=', tenantId);
    return filter ? qb.where((eb) => filterExpression(eb, filter, EVENT_FILTERS)) : qb;
  }

  /**
   * The tenant's chain, locked until the transaction ends (PostgreSQL: FOR UPDATE; SQLite's
   * writer is already alone); created, empty, on the tenant's first event.
   */
  async lockChain(trx: Exec, tenantId: string): Promise<EventChainTable> {
    const select = () => this.dialect.forUpdate(trx.selectFrom('event_chains').selectAll().where('tenant_id', '=', tenantId)).executeTakeFirst();
    const chain = await select();
    if (chain) return chain;
    await trx
      .insertInto('event_chains')
      .values({ tenant_id: tenantId, head_seq: 0, head_hash: GENESIS_HASH, checkpoint_seq: 0, checkpoint_hash: GENESIS_HASH })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    return (await select())!;
  }

  /** The tenant's chain as committed, without a lock; undefined before its first event. */
  chain(db: Exec, tenantId: string): Promise<EventChainTable | undefined> {
    return db.selectFrom('event_chains').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  }

  /** The tenants that have a chain. */
  async tenants(db: Exec): Promise<string[]> {
    return (await db.selectFrom('event_chains').select('tenant_id').orderBy('tenant_id').execute()).map((r) => r.tenant_id);
  }

  async insert(trx: Exec, rows: readonly EventTable[]): Promise<void> {
    // In statements of INSERT_ROWS rows: both engines bound the parameters of one statement.
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      const values = rows.slice(i, i + INSERT_ROWS).map((row) => COLUMNS.map((column) => row[column]));
      await insertRows(trx, this.dialect, 'events', COLUMNS, values);
    }
  }

  async moveHead(trx: Exec, tenantId: string, seq: number, hash: string): Promise<void> {
    await trx.updateTable('event_chains').set({ head_seq: seq, head_hash: hash }).where('tenant_id', '=', tenantId).execute();
  }

  /** Up to `limit` events after `afterSeq`, in chain order; with a filter, only those it selects. */
  chainPage(db: Exec, tenantId: string, afterSeq: number, limit: number, filter?: FilterNode): Promise<EventTable[]> {
    return this.filtered(db, tenantId, filter).selectAll('events').where('events.seq', '>', afterSeq).orderBy('events.seq').limit(limit).execute();
  }

  /** Up to `limit` events of `types` after `afterSeq` and up to `upTo`, in chain order. */
  typedPage(db: Exec, tenantId: string, afterSeq: number, upTo: number, types: readonly string[], limit: number): Promise<EventTable[]> {
    return db
      .selectFrom('events')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('seq', '>', afterSeq)
      .where('seq', '<=', upTo)
      .where('type', 'in', types)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  list(db: Exec, tenantId: string, query: EventListQuery): Promise<EventTable[]> {
    return applySorters(this.filtered(db, tenantId, query.filter).selectAll('events'), query.sorters)
      .limit(query.limit)
      .offset(query.offset)
      .execute();
  }

  async count(db: Exec, tenantId: string, filter: FilterNode | undefined): Promise<number> {
    const row = await this.filtered(db, tenantId, filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The event `id` names, in either spelling. */
  byId(db: Exec, tenantId: string, id: string): Promise<EventTable | undefined> {
    return db.selectFrom('events').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', idSpellings(id)).executeTakeFirst();
  }

  /** The last event older than `before`; undefined when none is. */
  async lastBefore(db: Exec, tenantId: string, before: string): Promise<Pick<EventTable, 'seq' | 'hash'> | undefined> {
    const last = await db
      .selectFrom('events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('tenant_id', '=', tenantId)
      .where('time', '<', before)
      .executeTakeFirst();
    if (last?.seq === null || last?.seq === undefined) return undefined;
    return db.selectFrom('events').select(['seq', 'hash']).where('tenant_id', '=', tenantId).where('seq', '=', Number(last.seq)).executeTakeFirst();
  }

  /** Deletes the events up to `seq` and makes the last of them the checkpoint; the number deleted. */
  async pruneTo(trx: Exec, tenantId: string, seq: number, hash: string): Promise<number> {
    const result = await trx.deleteFrom('events').where('tenant_id', '=', tenantId).where('seq', '<=', seq).executeTakeFirst();
    await trx.updateTable('event_chains').set({ checkpoint_seq: seq, checkpoint_hash: hash }).where('tenant_id', '=', tenantId).execute();
    return Number(result.numDeletedRows);
  }
}
