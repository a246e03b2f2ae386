/**
 * A record's and a request's `data` keep their keys in the order of the source's schema
 * attributes, on both engines:
 * - PostgreSQL: `data` becomes `json` (text as written; `jsonb` orders keys by length);
 * - both: every stored object with more than one key is rewritten in attribute order (the server
 *   writes new ones in that order).
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  for (const table of ['records', 'requests']) {
    const t = sql.table(table);
    const position = sql`schema_attributes.tenant_id = ${t}.tenant_id and schema_attributes.source_id = ${t}.source_id and schema_attributes.technical_name = e.key`;
    if (dialect === 'postgres') {
      await sql`alter table ${t} alter column data type json using data::json`.execute(db);
      await sql`update ${t} set data = (
          select json_object_agg(e.key, e.value order by schema_attributes.position nulls last, e.key)
          from json_each(${t}.data) e left join schema_attributes on ${position})
        where (select count(*) from json_each(${t}.data)) > 1`.execute(db);
    } else {
      await sql`update ${t} set data = (
          select json_group_object(key, value) from (
            select e.key, e.value from json_each(${t}.data) e left join schema_attributes on ${position}
            order by schema_attributes.position is null, schema_attributes.position, e.key))
        where (select count(*) from json_each(${t}.data)) > 1`.execute(db);
    }
  }
}

export async function down(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  for (const table of ['records', 'requests']) await sql`alter table ${sql.table(table)} alter column data type jsonb using data::jsonb`.execute(db);
}
