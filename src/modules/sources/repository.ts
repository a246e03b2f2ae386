/** All SQL of non-employee sources, their approvers and account managers. */
import type { Kysely, Transaction } from 'kysely';
import type { Database, PrincipalType, SourceRole, SourceTable } from '../../db/types.js';
import { applySorters, type parseSorters } from '../../collections/query.js';

type Exec = Kysely<Database> | Transaction<Database>;

export interface SourceMember {
  type: PrincipalType;
  id: string;
}

export interface Source {
  id: string;
  iscSourceId: string;
  name: string;
  description: string;
  ownerId: string;
  managementWorkgroup: string | null;
  cloudExternalId: string;
  recordCount: number;
  approvers: SourceMember[];
  accountManagers: SourceMember[];
  created: string;
  modified: string;
}

export interface SourceListQuery {
  /** Only sources one of these ids manages (account manager); all sources when undefined. */
  managedBy?: readonly string[];
  sorters: ReturnType<typeof parseSorters>;
  limit: number;
  offset: number;
}

export interface NewAttributeRow {
  id: string;
  position: number;
  system: boolean;
  type: string;
  label: string;
  technicalName: string;
  helpText: string | null;
  placeholder: string | null;
  required: boolean;
}

export class SourceRepository {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  private async members(
    tenantId: string,
    ids: readonly string[],
    db: Exec,
  ): Promise<Map<string, { approvers: SourceMember[]; accountManagers: SourceMember[] }>> {
    const out = new Map(ids.map((id) => [id, { approvers: [] as SourceMember[], accountManagers: [] as SourceMember[] }]));
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
      if (!entry) continue;
      (row.role === 'APPROVER' ? entry.approvers : entry.accountManagers).push({ type: row.principal_type, id: row.principal_id });
    }
    return out;
  }

  private async withMembers(tenantId: string, rows: SourceTable[], db: Exec): Promise<Source[]> {
    const members = await this.members(
      tenantId,
      rows.map((r) => r.id),
      db,
    );
    return rows.map((row) => ({
      id: row.id,
      iscSourceId: row.isc_source_id,
      name: row.name,
      description: row.description,
      ownerId: row.owner_id,
      managementWorkgroup: row.management_workgroup,
      cloudExternalId: row.cloud_external_id,
      recordCount: Number(row.record_count),
      approvers: members.get(row.id)?.approvers ?? [],
      accountManagers: members.get(row.id)?.accountManagers ?? [],
      created: row.created,
      modified: row.modified,
    }));
  }

  async byId(tenantId: string, id: string, db: Exec = this.db): Promise<Source | undefined> {
    const row = await db.selectFrom('sources').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return (await this.withMembers(tenantId, [row], db))[0];
  }

  private listBase(tenantId: string, managedBy: readonly string[] | undefined) {
    let qb = this.db.selectFrom('sources').where('sources.tenant_id', '=', tenantId);
    if (managedBy) {
      qb = qb.where('sources.id', 'in', (eb) =>
        eb
          .selectFrom('source_members')
          .select('source_members.source_id')
          .where('source_members.tenant_id', '=', tenantId)
          .where('source_members.role', '=', 'ACCOUNT_MANAGER')
          .where('source_members.principal_id', 'in', managedBy.length > 0 ? managedBy : ['']),
      );
    }
    return qb;
  }

  async list(tenantId: string, query: SourceListQuery): Promise<Source[]> {
    const qb = applySorters(this.listBase(tenantId, query.managedBy).selectAll('sources'), query.sorters).limit(query.limit).offset(query.offset);
    return this.withMembers(tenantId, await qb.execute(), this.db);
  }

  async count(tenantId: string, managedBy: readonly string[] | undefined): Promise<number> {
    const row = await this.listBase(tenantId, managedBy)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Takes one of the tenant's source slots; false when all `max` are used. */
  async reserveSourceSlot(trx: Transaction<Database>, tenantId: string, max: number): Promise<boolean> {
    const result = await trx
      .updateTable('tenants')
      .set((eb) => ({ source_count: eb('source_count', '+', 1) }))
      .where('id', '=', tenantId)
      .where('source_count', '<', max)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async insert(trx: Transaction<Database>, tenantId: string, source: Source): Promise<void> {
    await trx
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
    await this.replaceMembers(trx, tenantId, source.id, 'APPROVER', source.approvers);
    await this.replaceMembers(trx, tenantId, source.id, 'ACCOUNT_MANAGER', source.accountManagers);
  }

  async insertAttributes(trx: Transaction<Database>, tenantId: string, sourceId: string, attributes: readonly NewAttributeRow[], now: string): Promise<void> {
    await trx
      .insertInto('schema_attributes')
      .values(
        attributes.map((a) => ({
          tenant_id: tenantId,
          id: a.id,
          source_id: sourceId,
          position: a.position,
          system: a.system ? (1 as const) : (0 as const),
          type: a.type,
          label: a.label,
          technical_name: a.technicalName,
          help_text: a.helpText,
          placeholder: a.placeholder,
          required: a.required ? (1 as const) : (0 as const),
          created: now,
          modified: now,
        })),
      )
      .execute();
  }

  async replaceMembers(trx: Transaction<Database>, tenantId: string, sourceId: string, role: SourceRole, members: readonly SourceMember[]): Promise<void> {
    await trx.deleteFrom('source_members').where('tenant_id', '=', tenantId).where('source_id', '=', sourceId).where('role', '=', role).execute();
    if (members.length === 0) return;
    await trx
      .insertInto('source_members')
      .values(members.map((m, position) => ({ tenant_id: tenantId, source_id: sourceId, role, position, principal_type: m.type, principal_id: m.id })))
      .execute();
  }

  /**
   * Writes name, description and both member lists; false when the source is gone or, with
   * `expectedModified`, when it was modified since (someone else wrote first).
   */
  async update(trx: Transaction<Database>, tenantId: string, source: Source, expectedModified?: string): Promise<boolean> {
    let query = trx
      .updateTable('sources')
      .set({ name: source.name, description: source.description, modified: source.modified })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', source.id);
    if (expectedModified !== undefined) query = query.where('modified', '=', expectedModified);
    const result = await query.executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    await this.replaceMembers(trx, tenantId, source.id, 'APPROVER', source.approvers);
    await this.replaceMembers(trx, tenantId, source.id, 'ACCOUNT_MANAGER', source.accountManagers);
    return true;
  }

  /** Deletes the source and, by cascade, everything that belongs to it; gives its slot back. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    return this.transaction(async (trx) => {
      const result = await trx.deleteFrom('sources').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) !== 1) return false;
      await trx
        .updateTable('tenants')
        .set((eb) => ({ source_count: eb('source_count', '-', 1) }))
        .where('id', '=', tenantId)
        .execute();
      return true;
    });
  }

  /** True when one of `actorIds` is an account manager of the source. */
  async isAccountManager(tenantId: string, sourceId: string, actorIds: readonly string[], db: Exec = this.db): Promise<boolean> {
    const row = await db
      .selectFrom('source_members')
      .select('source_id')
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where('role', '=', 'ACCOUNT_MANAGER')
      .where('principal_id', 'in', actorIds.length > 0 ? actorIds : [''])
      .executeTakeFirst();
    return row !== undefined;
  }
}
