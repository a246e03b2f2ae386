/** All SQL of the event consumers: who they are, and how far each has read each tenant's chain. */
import type { Dialect, Exec } from '../../db/dialect.js';

/** A tenant whose chain a consumer has not read to its head; `position` null when it has no cursor yet. */
export interface Behind {
  tenantId: string;
  position: number | null;
  /** The chain's last committed event. */
  head: number;
}

export class CursorRepository {
  constructor(private readonly dialect: Dialect) {}

  /**
   * Records the consumer `name` on its first start; true when this call did. `atHead`: its
   * cursors then begin at every existing chain's head (a chain begun later is read from its start).
   */
  async register(trx: Exec, name: string, atHead: boolean, now: string): Promise<boolean> {
    const added = await trx
      .insertInto('event_consumers')
      .values({ name, created: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning('name')
      .execute();
    if (added.length === 0) return false;
    if (atHead) {
      const chains = await trx.selectFrom('event_chains').select(['tenant_id', 'head_seq']).execute();
      for (const chain of chains) await this.create(trx, chain.tenant_id, name, Number(chain.head_seq), now);
    }
    return true;
  }

  /** Adds the consumer's cursor of a tenant at `position`, unless it has one. */
  async create(db: Exec, tenantId: string, consumer: string, position: number, now: string): Promise<void> {
    await db
      .insertInto('event_cursors')
      .values({ tenant_id: tenantId, consumer, position, modified: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'consumer']).doNothing())
      .execute();
  }

  /** The tenants whose chain has events past the consumer's cursor (or that it has no cursor of). */
  async behind(db: Exec, consumer: string): Promise<Behind[]> {
    const rows = await db
      .selectFrom('event_chains as c')
      .leftJoin('event_cursors as k', (join) => join.onRef('k.tenant_id', '=', 'c.tenant_id').on('k.consumer', '=', consumer))
      .select(['c.tenant_id', 'k.position', 'c.head_seq'])
      .where((eb) => eb.or([eb('k.position', 'is', null), eb('k.position', '<', eb.ref('c.head_seq'))]))
      .orderBy('c.tenant_id')
      .execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, position: r.position === null ? null : Number(r.position), head: Number(r.head_seq) }));
  }

  /**
   * The consumer's cursor of a tenant, locked until `trx` ends; undefined when another process
   * holds it (PostgreSQL: FOR UPDATE SKIP LOCKED; a SQLite file has one process) or it is missing.
   */
  async lock(trx: Exec, tenantId: string, consumer: string): Promise<number | undefined> {
    const query = trx.selectFrom('event_cursors').select('position').where('tenant_id', '=', tenantId).where('consumer', '=', consumer);
    const row = await this.dialect.forUpdate(query, true).executeTakeFirst();
    return row === undefined ? undefined : Number(row.position);
  }

  async advance(trx: Exec, tenantId: string, consumer: string, position: number, now: string): Promise<void> {
    await trx.updateTable('event_cursors').set({ position, modified: now }).where('tenant_id', '=', tenantId).where('consumer', '=', consumer).execute();
  }

  /** Every cursor of the consumer, by tenant (the CLI and the tests). */
  async positions(db: Exec, consumer: string): Promise<Map<string, number>> {
    const rows = await db.selectFrom('event_cursors').select(['tenant_id', 'position']).where('consumer', '=', consumer).execute();
    return new Map(rows.map((r) => [r.tenant_id, Number(r.position)]));
  }
}
