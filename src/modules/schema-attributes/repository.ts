/** All SQL of schema attributes. */
import type { Kysely, Transaction } from 'kysely';
import type { Database, SchemaAttributeTable } from '../../db/types.js';
import { removeDataKeys } from '../records/repository.js';

export interface SchemaAttribute {
  id: string;
  sourceId: string;
  position: number;
  system: boolean;
  type: string;
  label: string;
  technicalName: string;
  helpText: string | null;
  placeholder: string | null;
  required: boolean;
  created: string;
  modified: string;
}

function toAttribute(row: SchemaAttributeTable): SchemaAttribute {
  return {
    id: row.id,
    sourceId: row.source_id,
    position: Number(row.position),
    system: Number(row.system) === 1,
    type: row.type,
    label: row.label,
    technicalName: row.technical_name,
    helpText: row.help_text,
    placeholder: row.placeholder,
    required: Number(row.required) === 1,
    created: row.created,
    modified: row.modified,
  };
}

type Exec = Kysely<Database> | Transaction<Database>;

export class SchemaAttributeRepository {
  constructor(readonly db: Kysely<Database>) {}

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /** The source's attributes, system ones first (by position). */
  async list(tenantId: string, sourceId: string, limit = 1000, offset = 0, db: Exec = this.db): Promise<SchemaAttribute[]> {
    const rows = await db
      .selectFrom('schema_attributes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .orderBy('position')
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map(toAttribute);
  }

  async byId(tenantId: string, sourceId: string, id: string): Promise<SchemaAttribute | undefined> {
    const row = await this.db
      .selectFrom('schema_attributes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toAttribute(row);
  }

  /** Takes one of the source's custom-attribute slots; false when all are used or the source is gone. */
  async reserveCustomSlot(trx: Transaction<Database>, tenantId: string, sourceId: string, max: number): Promise<boolean> {
    const result = await trx
      .updateTable('sources')
      .set((eb) => ({ custom_attribute_count: eb('custom_attribute_count', '+', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', sourceId)
      .where('custom_attribute_count', '<', max)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async sourceExists(trx: Transaction<Database>, tenantId: string, sourceId: string): Promise<boolean> {
    const row = await trx.selectFrom('sources').select('id').where('tenant_id', '=', tenantId).where('id', '=', sourceId).executeTakeFirst();
    return row !== undefined;
  }

  async nextPosition(trx: Transaction<Database>, tenantId: string, sourceId: string): Promise<number> {
    const row = await trx
      .selectFrom('schema_attributes')
      .select((eb) => eb.fn.max('position').as('max'))
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .executeTakeFirst();
    return Number(row?.max ?? -1) + 1;
  }

  async insert(trx: Transaction<Database>, tenantId: string, a: SchemaAttribute): Promise<void> {
    await trx
      .insertInto('schema_attributes')
      .values({
        tenant_id: tenantId,
        id: a.id,
        source_id: a.sourceId,
        position: a.position,
        system: a.system ? 1 : 0,
        type: a.type,
        label: a.label,
        technical_name: a.technicalName,
        help_text: a.helpText,
        placeholder: a.placeholder,
        required: a.required ? 1 : 0,
        created: a.created,
        modified: a.modified,
      })
      .execute();
  }

  /** False when the attribute is gone or, with `expectedModified`, was modified since (someone else wrote first). */
  async update(tenantId: string, a: SchemaAttribute, expectedModified?: string): Promise<boolean> {
    let query = this.db
      .updateTable('schema_attributes')
      .set({ label: a.label, help_text: a.helpText, placeholder: a.placeholder, required: a.required ? 1 : 0, modified: a.modified })
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', a.sourceId)
      .where('id', '=', a.id);
    if (expectedModified !== undefined) query = query.where('modified', '=', expectedModified);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Deletes custom attributes (one, or all when `id` is undefined) and gives their slots back, in
   * one transaction. Returns how many were deleted.
   */
  async deleteCustom(tenantId: string, sourceId: string, id?: string): Promise<number> {
    return this.transaction(async (trx) => {
      let q = trx.deleteFrom('schema_attributes').where('tenant_id', '=', tenantId).where('source_id', '=', sourceId).where('system', '=', 0);
      if (id !== undefined) q = q.where('id', '=', id);
      const names = (await q.returning('technical_name').execute()).map((r) => r.technical_name);
      const deleted = names.length;
      // Records keep no value of a deleted attribute.
      await removeDataKeys(trx, tenantId, sourceId, names);
      if (deleted > 0) {
        await trx
          .updateTable('sources')
          .set((eb) => ({ custom_attribute_count: eb('custom_attribute_count', '-', deleted) }))
          .where('tenant_id', '=', tenantId)
          .where('id', '=', sourceId)
          .execute();
      }
      return deleted;
    });
  }
}
