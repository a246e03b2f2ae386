/**
 * All SQL of the lifecycle: the policies, what is due next (`lifecycle_due`, read through its
 * index on `due_at`), what was done (`lifecycle_done`), and the reminder digests.
 */
import { type Dialect, type Exec, insertRows } from '../../db/dialect.js';
import type { LifecycleDigestLineTable, LifecycleDigestTable, LifecycleDoneTable, LifecycleDueTable } from '../../db/lifecycle-types.js';

export type DueKind = 'record' | 'approval';

/** Due rows per statement (7 values each). */
const DUE_ROWS = 500;
const DUE_COLUMNS = ['tenant_id', 'kind', 'target_id', 'source_id', 'basis', 'step', 'due_at'] as const satisfies readonly (keyof LifecycleDueTable)[];
/** A target's row, when it has one, takes the new step. */
const DUE_REPLACES =
  'on conflict (tenant_id, kind, target_id) do update set source_id = excluded.source_id, basis = excluded.basis, step = excluded.step, due_at = excluded.due_at';

/** The policy rows' `source_id` of the tenant-wide policy. */
export const TENANT_WIDE = '';

export class LifecycleRepository {
  constructor(private readonly dialect: Dialect) {}

  // Policies ----------------------------------------------------------------------------------

  /** The tenant's stored policy documents by source id (`TENANT_WIDE` for the tenant's own). */
  async policies(db: Exec, tenantId: string): Promise<Map<string, Record<string, unknown>>> {
    const rows = await db.selectFrom('lifecycle_policies').select(['source_id', 'settings']).where('tenant_id', '=', tenantId).execute();
    return new Map(rows.map((r) => [r.source_id, JSON.parse(r.settings) as Record<string, unknown>]));
  }

  async savePolicy(db: Exec, tenantId: string, sourceId: string, settings: object, now: string): Promise<void> {
    await db
      .insertInto('lifecycle_policies')
      .values({ tenant_id: tenantId, source_id: sourceId, settings: JSON.stringify(settings), modified: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'source_id']).doUpdateSet({ settings: JSON.stringify(settings), modified: now }))
      .execute();
  }

  async deletePolicy(db: Exec, tenantId: string, sourceId: string): Promise<boolean> {
    const result = await db.deleteFrom('lifecycle_policies').where('tenant_id', '=', tenantId).where('source_id', '=', sourceId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // What is due -------------------------------------------------------------------------------

  /** The planned steps of these targets, locked until the caller's transaction ends. */
  async dueOf(db: Exec, tenantId: string, kind: DueKind, ids: readonly string[]): Promise<Map<string, LifecycleDueTable>> {
    if (ids.length === 0) return new Map();
    const query = db
      .selectFrom('lifecycle_due')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', kind)
      .where('target_id', 'in', [...ids].sort())
      .orderBy('target_id');
    // Locked until the caller's transaction ends, in one order: a sweep in the middle of doing one
    // of these steps is waited for, and one that comes later skips them (SKIP LOCKED).
    const rows = await this.dialect.forUpdate(query).execute();
    return new Map(rows.map((r) => [r.target_id, r]));
  }

  /** Writes each target's next step, replacing the one it had. */
  async setDue(db: Exec, rows: readonly LifecycleDueTable[]): Promise<void> {
    for (let i = 0; i < rows.length; i += DUE_ROWS) {
      const values = rows.slice(i, i + DUE_ROWS).map((row) => DUE_COLUMNS.map((column) => row[column]));
      await insertRows(db, this.dialect, 'lifecycle_due', DUE_COLUMNS, values, DUE_REPLACES);
    }
  }

  async deleteDue(db: Exec, tenantId: string, kind: DueKind, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await db.deleteFrom('lifecycle_due').where('tenant_id', '=', tenantId).where('kind', '=', kind).where('target_id', 'in', ids).execute();
  }

  /**
   * Up to `limit` rows due at `now`, earliest first, locked until `trx` ends; rows another process
   * holds are skipped (PostgreSQL: FOR UPDATE SKIP LOCKED; a SQLite file has one process).
   */
  async claimDue(trx: Exec, now: string, limit: number): Promise<LifecycleDueTable[]> {
    const query = trx.selectFrom('lifecycle_due').selectAll().where('due_at', '<=', now).orderBy('due_at').limit(limit);
    return this.dialect.forUpdate(query, true).execute();
  }

  /** Makes the steps of a source's targets (every source's, without one) due now: the policy changed. */
  async replan(db: Exec, tenantId: string, sourceId: string | undefined, now: string): Promise<void> {
    let query = db.updateTable('lifecycle_due').set({ due_at: now }).where('tenant_id', '=', tenantId).where('due_at', '>', now);
    if (sourceId !== undefined) query = query.where('source_id', '=', sourceId);
    await query.execute();
  }

  // What was done -----------------------------------------------------------------------------

  /** The steps done for these targets, as `basis|step` per target. */
  async doneOf(db: Exec, tenantId: string, kind: DueKind, ids: readonly string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    if (ids.length === 0) return out;
    const rows = await db
      .selectFrom('lifecycle_done')
      .select(['target_id', 'basis', 'step'])
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', kind)
      .where('target_id', 'in', ids)
      .execute();
    for (const r of rows) {
      const set = out.get(r.target_id) ?? new Set<string>();
      set.add(`${r.basis}|${r.step}`);
      out.set(r.target_id, set);
    }
    return out;
  }

  /** Records steps as done; those that were not done before (the others are left as they are). */
  async markDone(db: Exec, rows: readonly LifecycleDoneTable[]): Promise<LifecycleDoneTable[]> {
    const inserted: LifecycleDoneTable[] = [];
    for (let i = 0; i < rows.length; i += 500) {
      const added = await db
        .insertInto('lifecycle_done')
        .values(rows.slice(i, i + 500))
        .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'target_id', 'basis', 'step']).doNothing())
        .returningAll()
        .execute();
      inserted.push(...added);
    }
    return inserted;
  }

  /** True when the step was done for the target, for any basis. */
  async wasDone(db: Exec, tenantId: string, kind: DueKind, id: string, step: string): Promise<boolean> {
    const row = await db
      .selectFrom('lifecycle_done')
      .select('step')
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', kind)
      .where('target_id', '=', id)
      .where('step', '=', step)
      .executeTakeFirst();
    return row !== undefined;
  }

  // Digests -----------------------------------------------------------------------------------

  /** Adds lines to people's digests (each digest made when it is the first line of its day). */
  async addToDigests(db: Exec, digests: readonly LifecycleDigestTable[], lines: readonly LifecycleDigestLineTable[]): Promise<void> {
    if (digests.length > 0)
      await db
        .insertInto('lifecycle_digests')
        .values([...digests])
        .onConflict((oc) => oc.columns(['tenant_id', 'recipient_id', 'day']).doNothing())
        .execute();
    if (lines.length > 0)
      await db
        .insertInto('lifecycle_digest_lines')
        .values([...lines])
        .onConflict((oc) => oc.columns(['tenant_id', 'recipient_id', 'day', 'record_id', 'step']).doNothing())
        .execute();
  }

  /** Up to `limit` digests due at `now`, locked until `trx` ends (others' skipped), with their lines. */
  async claimDigests(trx: Exec, now: string, limit: number): Promise<{ digest: LifecycleDigestTable; lines: LifecycleDigestLineTable[] }[]> {
    const query = trx.selectFrom('lifecycle_digests').selectAll().where('due_at', '<=', now).orderBy('due_at').limit(limit);
    const digests = await this.dialect.forUpdate(query, true).execute();
    const out = [];
    for (const digest of digests) {
      const lines = await trx
        .selectFrom('lifecycle_digest_lines')
        .selectAll()
        .where('tenant_id', '=', digest.tenant_id)
        .where('recipient_id', '=', digest.recipient_id)
        .where('day', '=', digest.day)
        .orderBy('record_id')
        .orderBy('step')
        .execute();
      out.push({ digest, lines });
    }
    return out;
  }

  async deleteDigest(trx: Exec, digest: LifecycleDigestTable): Promise<void> {
    const { tenant_id, recipient_id, day } = digest;
    await trx.deleteFrom('lifecycle_digest_lines').where('tenant_id', '=', tenant_id).where('recipient_id', '=', recipient_id).where('day', '=', day).execute();
    await trx.deleteFrom('lifecycle_digests').where('tenant_id', '=', tenant_id).where('recipient_id', '=', recipient_id).where('day', '=', day).execute();
  }
}
