/**
 * `records.json`: each record's wire JSON (the NonEmployeeRecord response: its keys in order,
 * dates as ISO 8601 in UTC with milliseconds), kept by the database itself, never written by the
 * application. Dropped by migration 0006.
 * - SQLite: a VIRTUAL generated column, computed when read (the file stays its size; SQLite
 *   builds it as fast as it reads the columns).
 * - PostgreSQL: a STORED generated column, computed when a row is written: building the text when
 *   read cost the page's backend more than its reads, and the server as much again to write it
 *   out from 13 values. PostgreSQL accepts only an immutable expression there; `to_json(text)` and
 *   `to_char(timestamp, text)` are marked stable because they are for some types or patterns,
 *   not for text and this pattern of digits, so `record_json` wraps them as immutable.
 * Frozen once landed: change the schema with a new migration. Imports nothing from the application.
 */
import { type Kysely, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') {
    await sql`alter table records add column json text generated always as (json_object('id', id, 'accountName', account_name,
      'firstName', first_name, 'lastName', last_name, 'email', email, 'phone', phone, 'manager', manager, 'sourceId', source_id,
      'data', json(data), 'startDate', start_date, 'endDate', end_date, 'modified', modified, 'created', created)) virtual`.execute(db);
    return;
  }
  // JSON strings escaped as JSON.stringify escapes them (`"`, `\`, \b \f \n \r \t, other control
  // characters as \u00xx); jsonb's text is JSON; dates truncated to milliseconds, in UTC.
  await sql`create function record_json(id text, account_name text, first_name text, last_name text, email text, phone text,
      manager text, source_id text, data jsonb, start_date timestamptz, end_date timestamptz, modified timestamptz, created timestamptz)
    returns text language sql immutable parallel safe as $$
      select '{"id":' || to_json(id)::text || ',"accountName":' || to_json(account_name)::text || ',"firstName":' || to_json(first_name)::text
        || ',"lastName":' || to_json(last_name)::text || ',"email":' || to_json(email)::text || ',"phone":' || to_json(phone)::text
        || ',"manager":' || to_json(manager)::text || ',"sourceId":' || to_json(source_id)::text || ',"data":' || data::text
        || ',"startDate":"' || to_char(start_date at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        || '","endDate":"' || to_char(end_date at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        || '","modified":"' || to_char(modified at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        || '","created":"' || to_char(created at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"}'
    $$`.execute(db);
  await sql`alter table records add column json text not null generated always as (record_json(id, account_name, first_name, last_name,
      email, phone, manager, source_id, data, start_date, end_date, modified, created)) stored`.execute(db);
}

/**
 * PostgreSQL rewrote the table: its visibility map is empty until a VACUUM, and without it every
 * index-only scan (the seek of a deep list page: list.ts) visits the table once per entry (a page
 * at offset 5,000: 5,000 row reads; list pages at 1,000,000 records ran at a third of their speed).
 * Autovacuum would not come soon, as no row was inserted or deleted.
 */
export async function afterUp(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await sql`vacuum (analyze) records`.execute(db);
}

export async function down(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema.alterTable('records').dropColumn('json').execute();
  if (dialect === 'postgres') await sql`drop function record_json`.execute(db);
}
