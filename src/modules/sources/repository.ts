/** All SQL of non-employee sources: their rows, approvers and account managers, and their limit counters. */
import { applySorters, type Sorter } from '../../collections/query.js';
import type { Exec } from '../../db/dialect.js';
import { idSpellings } from '../../domain/ids.js';
import type { SourceRole, SourceTable } from '../../db/types.js';
import type { Member } from '../directory/model.js';
import { type Source, toSource } from './model.js';

export interface SourceListQuery {
  /** Only the sources with one of these ids as account manager; all sources when undefined. */
  /** Only the sources one of these identities or groups owns or is an account manager of. */
  keptBy?: readonly string[] | undefined;
  sorters: readonly Sorter[];
  limit: number;
  offset: number;
}

/** The counters of a source row that limits are taken from. */
export type SourceCounter = 'record_count' | 'custom_attribute_count';

const orNone = (ids: readonly string[]) => (ids.length > 0 ? ids : ['']);

export class SourceRepository {
  private async members(db: Exec, tenantId: string, ids: readonly string[]): Promise<Map<string, { approvers: Member[]; accountManagers: Member[] }>> {
    const out = new Map(ids.map((id) => [id, { approvers: [] as Member[], accountManagers: [] as Member[] }]));
    if (ids.length === 0) return out;
    const rows = await db
      .selectFrom('source_members')
      .select(['source_id', 'role', 'principal_type', 'principal_id'])
      .where('tenant_id', '=', tenantId)
      .where('source_id', 'in', ids)
      .orderBy('source_id')
      .orderBy('role')
      .orderBy('position')
      .execute();
    for (const row of rows) {
      const entry = out.get(row.source_id);
      (row.role === 'APPROVER' ? entry?.approvers : entry?.accountManagers)?.push({ type: row.principal_type, id: row.principal_id });
    }
    return out;
  }

  private async withMembers(db: Exec, tenantId: string, rows: SourceTable[]): Promise<Source[]> {
    const members = await this.members(
      db,
      tenantId,
      rows.map((r) => r.id),
    );
    return rows.map((row) => toSource(row, members.get(row.id)!));
  }

  /** The source `id` names, in either spelling. */
  async byId(db: Exec, tenantId: string, id: string): Promise<Source | undefined> {
    const row = await db.selectFrom('sources').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', idSpellings(id)).executeTakeFirst();
    return row && (await this.withMembers(db, tenantId, [row]))[0];
  }

  /** The source whose id is `value` or, failing that, whose `sourceId` (ISC source id) is. */
  async byIdOrSourceId(db: Exec, tenantId: string, value: string): Promise<Source | undefined> {
    const spellings = idSpellings(value);
    const rows = await db
      .selectFrom('sources')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('id', 'in', spellings), eb('isc_source_id', 'in', spellings)]))
      .limit(2)
      .execute();
    const row = rows.find((r) => spellings.includes(r.id)) ?? rows[0];
    return row && (await this.withMembers(db, tenantId, [row]))[0];
  }

  /** The stored ids of the sources `values` name by id or `sourceId`; values that name none are left out. */
  async idsNamed(db: Exec, tenantId: string, values: readonly string[]): Promise<Map<string, string>> {
    const spellings = values.flatMap(idSpellings);
    const rows = await db
      .selectFrom('sources')
      .select(['id', 'isc_source_id'])
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('id', 'in', spellings), eb('isc_source_id', 'in', spellings)]))
      .execute();
    const out = new Map<string, string>();
    for (const value of values) {
      const names = idSpellings(value);
      const row = rows.find((r) => names.includes(r.id)) ?? rows.find((r) => names.includes(r.isc_source_id));
      if (row) out.set(value, row.id);
    }
    return out;
  }

  /** The tenant's sources; with `keptBy`, those one of them owns or is an account manager of. */
  private listBase(db: Exec, tenantId: string, keptBy: readonly string[] | undefined) {
    let qb = db.selectFrom('sources').where('sources.tenant_id', '=', tenantId);
    if (keptBy) {
      qb = qb.where((eb) =>
        eb.or([
          eb('sources.owner_id', 'in', orNone(keptBy)),
          eb(
            'sources.id',
            'in',
            eb
              .selectFrom('source_members')
              .select('source_members.source_id')
              .where('source_members.tenant_id', '=', tenantId)
              .where('source_members.role', '=', 'ACCOUNT_MANAGER')
              .where('source_members.principal_id', 'in', orNone(keptBy)),
          ),
        ]),
      );
    }
    return qb;
  }

  async list(db: Exec, tenantId: string, query: SourceListQuery): Promise<Source[]> {
    const rows = await applySorters(this.listBase(db, tenantId, query.keptBy).selectAll('sources'), query.sorters)
      .limit(query.limit)
      .offset(query.offset)
      .execute();
    return this.withMembers(db, tenantId, rows);
  }

  async count(db: Exec, tenantId: string, keptBy: readonly string[] | undefined): Promise<number> {
    const row = await this.listBase(db, tenantId, keptBy)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The ids of the tenant's sources (those one of `keptBy` owns or is an account manager of, when given), in id order. */
  async ids(db: Exec, tenantId: string, keptBy?: readonly string[]): Promise<string[]> {
    const rows = await this.listBase(db, tenantId, keptBy).select('sources.id').orderBy('sources.id').execute();
    return rows.map((r) => r.id);
  }

  /** The sources that name `principalId` as an approver or account manager. */
  async naming(db: Exec, tenantId: string, principalId: string): Promise<string[]> {
    const rows = await db
      .selectFrom('source_members')
      .select('source_id')
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('principal_id', '=', principalId)
      .orderBy('source_id')
      .execute();
    return rows.map((r) => r.source_id);
  }

  /** True when one of `actorIds` owns the source or is an account manager of it. */
  async isKeptBy(db: Exec, tenantId: string, sourceId: string, actorIds: readonly string[]): Promise<boolean> {
    const row = await this.listBase(db, tenantId, actorIds).select('sources.id').where('sources.id', '=', sourceId).executeTakeFirst();
    return row !== undefined;
  }

  /** Takes one of the tenant's source slots; false when all `max` are used. */
  async takeSourceSlot(db: Exec, tenantId: string, max: number): Promise<boolean> {
    const result = await db
      .updateTable('tenants')
      .set((eb) => ({ source_count: eb('source_count', '+', 1) }))
      .where('id', '=', tenantId)
      .where('source_count', '<', max)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Adds `n` (which may be 0 or negative) to a counter of the source, unless that takes it past
   * `max`; false when it would, or the source is gone. The row lock this takes orders the writers
   * of the source's records and attributes.
   */
  async addToCounter(db: Exec, tenantId: string, sourceId: string, counter: SourceCounter, n: number, max: number): Promise<boolean> {
    const result = await db
      .updateTable('sources')
      .set((eb) => ({ [counter]: eb(counter, '+', n) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', sourceId)
      .where((eb) => eb(eb(counter, '+', n), '<=', max))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async insert(db: Exec, tenantId: string, source: Source): Promise<void> {
    await db
      .insertInto('sources')
      .values({
        tenant_id: tenantId,
        id: source.id,
        isc_source_id: source.iscSourceId,
        name: source.name,
        description: source.description,
        owner_id: source.ownerId,
        management_workgroup: source.managementWorkgroup,
        cloud_external_id: source.cloudExternalId,
        record_count: 0,
        custom_attribute_count: 0,
        created: source.created,
        modified: source.modified,
      })
      .execute();
    await this.replaceMembers(db, tenantId, source.id, 'APPROVER', source.approvers);
    await this.replaceMembers(db, tenantId, source.id, 'ACCOUNT_MANAGER', source.accountManagers);
  }

  private async replaceMembers(db: Exec, tenantId: string, sourceId: string, role: SourceRole, members: readonly Member[]): Promise<void> {
    await db.deleteFrom('source_members').where('tenant_id', '=', tenantId).where('source_id', '=', sourceId).where('role', '=', role).execute();
    if (members.length === 0) return;
    await db
      .insertInto('source_members')
      .values(members.map((m, position) => ({ tenant_id: tenantId, source_id: sourceId, role, position, principal_type: m.type, principal_id: m.id })))
      .execute();
  }

  /**
   * Writes name, description and both member lists; false when the source is gone or was
   * modified since `expectedModified` (someone else wrote first).
   */
  async update(db: Exec, tenantId: string, source: Source, expectedModified: string): Promise<boolean> {
    const result = await db
      .updateTable('sources')
      .set({ name: source.name, description: source.description, modified: source.modified })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', source.id)
      .where('modified', '=', expectedModified)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    await this.replaceMembers(db, tenantId, source.id, 'APPROVER', source.approvers);
    await this.replaceMembers(db, tenantId, source.id, 'ACCOUNT_MANAGER', source.accountManagers);
    return true;
  }

  /** Deletes the source and, by cascade, everything that belongs to it; gives its slot back. */
  async delete(db: Exec, tenantId: string, id: string): Promise<boolean> {
    const result = await db.deleteFrom('sources').where('tenant_id', '=', tenantId).where('id', 'in', idSpellings(id)).executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) return false;
    await db
      .updateTable('tenants')
      .set((eb) => ({ source_count: eb('source_count', '-', 1) }))
      .where('id', '=', tenantId)
      .execute();
    return true;
  }
}
