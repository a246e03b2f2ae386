/** All SQL of schema attributes. */
import type { Exec } from '../../db/dialect.js';
import { idSpellings } from '../../domain/ids.js';
import { type SchemaAttribute, toAttribute, toAttributeRow } from './model.js';

export class SchemaAttributeRepository {
  /** The source's attributes, system ones first (by position). */
  async list(db: Exec, tenantId: string, sourceId: string, limit = 1000, offset = 0): Promise<SchemaAttribute[]> {
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

  async byId(db: Exec, tenantId: string, sourceId: string, id: string): Promise<SchemaAttribute | undefined> {
    const row = await db
      .selectFrom('schema_attributes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .where('id', 'in', idSpellings(id))
      .executeTakeFirst();
    return row && toAttribute(row);
  }

  async nextPosition(db: Exec, tenantId: string, sourceId: string): Promise<number> {
    const row = await db
      .selectFrom('schema_attributes')
      .select((eb) => eb.fn.max('position').as('max'))
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', sourceId)
      .executeTakeFirst();
    return Number(row?.max ?? -1) + 1;
  }

  async insert(db: Exec, tenantId: string, attributes: readonly SchemaAttribute[]): Promise<void> {
    await db
      .insertInto('schema_attributes')
      .values(attributes.map((a) => toAttributeRow(tenantId, a)))
      .execute();
  }

  /** False when the attribute is gone or was modified since `expectedModified` (someone else wrote first). */
  async update(db: Exec, tenantId: string, a: SchemaAttribute, expectedModified: string): Promise<boolean> {
    const result = await db
      .updateTable('schema_attributes')
      .set({ label: a.label, help_text: a.helpText, placeholder: a.placeholder, required: a.required ? 1 : 0, modified: a.modified })
      .where('tenant_id', '=', tenantId)
      .where('source_id', '=', a.sourceId)
      .where('id', '=', a.id)
      .where('modified', '=', expectedModified)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Writes the attributes' positions and modification times. */
  async setPositions(db: Exec, tenantId: string, attributes: readonly SchemaAttribute[]): Promise<void> {
    for (const a of attributes) {
      await db
        .updateTable('schema_attributes')
        .set({ position: a.position, modified: a.modified })
        .where('tenant_id', '=', tenantId)
        .where('source_id', '=', a.sourceId)
        .where('id', '=', a.id)
        .execute();
    }
  }

  /** Deletes custom attributes (one, or all when `id` is undefined); the technical names of those deleted. */
  async deleteCustom(db: Exec, tenantId: string, sourceId: string, id?: string): Promise<SchemaAttribute[]> {
    let query = db.deleteFrom('schema_attributes').where('tenant_id', '=', tenantId).where('source_id', '=', sourceId).where('system', '=', 0);
    if (id !== undefined) query = query.where('id', '=', id);
    return (await query.returningAll().execute()).map(toAttribute).sort((a, b) => a.position - b.position);
  }
}
