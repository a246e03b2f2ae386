/** All SQL of non-employee records (list planning is list.ts's). */
import { idSpellings } from '../../domain/ids.js';
import { CompiledQuery, sql } from 'kysely';
import { type Dialect, type Exec, insertRows } from '../../db/dialect.js';
import type { RecordTable } from '../../db/types.js';
import { RecordLists, type RecordListQuery, type SourceIds } from './list.js';
import { type NonEmployeeRecord, toRecord, toRow } from './model.js';

/** Rows per INSERT or UPDATE statement: 16 parameters each stays under both engines' limits. */
const CHUNK = 500;
const COLUMNS = [
  'tenant_id',
  'id',
  'source_id',
  'account_name',
  'first_name',
  'last_name',
  'email',
  'phone',
  'manager',
  'start_date',
  'end_date',
  'start_zone',
  'end_zone',
  'data',
  'created',
  'modified',
] as const satisfies readonly (keyof RecordTable)[];

/** A record's id and source. */
export interface RecordPlace {
  id: string;
  sourceId: string;
}

export class RecordRepository {
  /** The SQL of `byId`, the hottest query, built once (parameters: tenant id, both spellings of the id). */
  private byIdSql: string | undefined;

  constructor(private readonly dialect: Dialect) {}

  /** The records of these stored ids that exist. */
  async byIds(db: Exec, tenantId: string, ids: readonly string[]): Promise<NonEmployeeRecord[]> {
    if (ids.length === 0) return [];
    const rows = await db.selectFrom('records').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    return rows.map(toRecord);
  }

  /** The record `id` names, in either spelling. */
  async byId(db: Exec, tenantId: string, id: string): Promise<NonEmployeeRecord | undefined> {
    this.byIdSql ??= db.selectFrom('records').selectAll().where('tenant_id', '=', '').where('id', 'in', ['', '']).compile().sql;
    const [row] = (await db.executeQuery<RecordTable>(CompiledQuery.raw(this.byIdSql, [tenantId, ...idSpellings(id)]))).rows;
    return row && toRecord(row);
  }

  /** A page of a list, in order; `sourceIds` gives the tenant's sources when the plan needs them. */
  async page(db: Exec, tenantId: string, query: RecordListQuery, sourceIds: SourceIds): Promise<NonEmployeeRecord[]> {
    const page = await new RecordLists(db, tenantId, sourceIds).page(query);
    return page ? ((await page.execute()) as RecordTable[]).map(toRecord) : [];
  }

  count(db: Exec, tenantId: string, query: Pick<RecordListQuery, 'within' | 'filter'>, sourceIds: SourceIds): Promise<number> {
    return new RecordLists(db, tenantId, sourceIds).count(query);
  }

  /** The records of `sourceIds` (none when empty). */
  async countInSources(db: Exec, tenantId: string, sourceIds: readonly string[]): Promise<number> {
    if (sourceIds.length === 0) return 0;
    const row = await db
      .selectFrom('records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('source_id', 'in', sourceIds)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** True when a record of the source has this accountName, regardless of case. */
  async accountNameTaken(db: Exec, tenantId: string, sourceId: string, accountName: string): Promise<boolean> {
    const row = await db
      .selectFrom('records')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where(sql`lower(account_name)`, '=', sql`lower(${accountName})`)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Up to `limit` accountNames of a source, in order, after `after`. */
  async accountNames(db: Exec, tenantId: string, sourceId: string, after: string | undefined, limit: number): Promise<string[]> {
    let qb = db.selectFrom('records').select('account_name').where('tenant_id', '=', tenantId).where('source_id', '=', sourceId);
    if (after !== undefined) qb = qb.where('account_name', '>', after);
    return (await qb.orderBy('account_name').limit(limit).execute()).map((r) => r.account_name);
  }

  /** Up to `limit` records of a source by accountName, after `after`. */
  async byAccountName(db: Exec, tenantId: string, sourceId: string, after: string | undefined, limit: number): Promise<NonEmployeeRecord[]> {
    let qb = db.selectFrom('records').selectAll().where('tenant_id', '=', tenantId).where('source_id', '=', sourceId);
    if (after !== undefined) qb = qb.where('account_name', '>', after);
    return (await qb.orderBy('account_name').limit(limit).execute()).map(toRecord);
  }

  /** The ids and sources of the records among `ids` that exist. */
  async locate(db: Exec, tenantId: string, ids: readonly string[]): Promise<RecordPlace[]> {
    if (ids.length === 0) return [];
    const rows = await db.selectFrom('records').select(['id', 'source_id']).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    return rows.map((r) => ({ id: r.id, sourceId: r.source_id }));
  }

  /** Inserts records in multi-row INSERTs; `between` runs between two of them. */
  async insert(db: Exec, tenantId: string, records: readonly NonEmployeeRecord[], between?: () => Promise<void>): Promise<void> {
    for (let i = 0; i < records.length; i += CHUNK) {
      if (i > 0) await between?.();
      const values = records.slice(i, i + CHUNK).map((r) => {
        const row = toRow(tenantId, r);
        return COLUMNS.map((column) => row[column]);
      });
      await insertRows(db, this.dialect, 'records', COLUMNS, values);
    }
  }

  /** Writes every field but id, sourceId and created; false when the record is gone. */
  async update(db: Exec, tenantId: string, record: NonEmployeeRecord): Promise<boolean> {
    const { id: _id, source_id: _source, tenant_id: _tenant, created: _created, ...changes } = toRow(tenantId, record);
    const result = await db.updateTable('records').set(changes).where('tenant_id', '=', tenantId).where('id', '=', record.id).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Writes every field but id, sourceId and created of many records, one UPDATE … FROM (VALUES …)
   * per chunk; the number of rows updated. `between` runs between two chunks.
   */
  async updateMany(db: Exec, tenantId: string, records: readonly NonEmployeeRecord[], between?: () => Promise<void>): Promise<number> {
    const { typed } = this.dialect;
    const v = (column: keyof RecordTable) => sql.ref(`v.${column}`);
    let updated = 0;
    for (let i = 0; i < records.length; i += CHUNK) {
      if (i > 0) await between?.();
      const values = records.slice(i, i + CHUNK).map((r) => {
        const w = toRow(tenantId, r);
        return sql`(${w.id}, ${w.account_name}, ${w.first_name}, ${w.last_name}, ${w.email}, ${w.phone}, ${w.manager}, ${w.start_date}, ${w.end_date}, ${w.start_zone}, ${w.end_zone}, ${w.data}, ${w.modified})`;
      });
      const result = await sql`
        with v (id, account_name, first_name, last_name, email, phone, manager, start_date, end_date, start_zone, end_zone, data, modified) as (values ${sql.join(values)})
        update records set account_name = v.account_name, first_name = v.first_name, last_name = v.last_name, email = v.email, phone = v.phone,
          manager = v.manager, start_date = ${typed(v('start_date'), 'timestamp')}, end_date = ${typed(v('end_date'), 'timestamp')},
          start_zone = v.start_zone, end_zone = v.end_zone,
          data = ${typed(v('data'), 'json')}, modified = ${typed(v('modified'), 'timestamp')}
        from v where records.tenant_id = ${tenantId} and records.id = v.id`.execute(db);
      updated += Number(result.numAffectedRows ?? 0);
    }
    return updated;
  }

  /** Deletes the records; those that existed, as they were. */
  async delete(db: Exec, tenantId: string, ids: readonly string[]): Promise<NonEmployeeRecord[]> {
    if (ids.length === 0) return [];
    const rows = await db.deleteFrom('records').where('tenant_id', '=', tenantId).where('id', 'in', ids).returningAll().execute();
    return rows.map(toRecord);
  }

  /** Removes `keys` from the `data` of every record of a source that has one of them. */
  async removeDataKeys(db: Exec, tenantId: string, sourceId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await db
      .updateTable('records')
      .set({ data: this.dialect.jsonWithout('data', keys) })
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where(this.dialect.jsonHasAny('data', keys))
      .execute();
  }
}
