/**
 * Record lists as JSON text, ready to send (bench/records, docs/performance.md "Records").
 *
 * A 250-record page is 3,250 column values: turning them into JS objects, parsing each `data`,
 * mapping to the DTO and serializing again cost more than the page's index walk and row reads.
 * So no object is built per record, on either engine; each record's JSON is one string, in the
 * order and shape of the NonEmployeeRecord response schema:
 * - SQLite: the database writes it (`recordJsonSql`), dates included (they are stored as ISO text);
 * - PostgreSQL: building JSON in the database (json_build_object, row_to_json, to_json) cost three
 *   times the page's reads there, so the columns are read as they are (`data` as its JSON text)
 *   and written out by `recordJsonPg`.
 */
import { sql, type RawBuilder } from 'kysely';
import type { RecordTable } from '../../db/types.js';

/**
 * SQLite: a record's wire JSON from the `records` row, by json_object (about 12 % faster than
 * json_quote of each column joined with ||). Every column is NOT NULL and text; `data` is stored
 * as a JSON object (written by JSON.stringify or json_remove), `json()` re-checks and minifies it
 * and json_object embeds it as JSON. Same keys in the same order as `recordDto`.
 */
export function recordJsonSql(): RawBuilder<string> {
  const column = (name: string) => sql.ref(`records.${name}`);
  return sql<string>`json_object('id', ${column('id')}, 'accountName', ${column('account_name')}, 'firstName', ${column('first_name')},
    'lastName', ${column('last_name')}, 'email', ${column('email')}, 'phone', ${column('phone')}, 'manager', ${column('manager')},
    'sourceId', ${column('source_id')}, 'data', json(${column('data')}), 'startDate', ${column('start_date')}, 'endDate', ${column('end_date')},
    'modified', ${column('modified')}, 'created', ${column('created')})`;
}

/** PostgreSQL: the columns of a record's wire JSON, `data` as its JSON text (see `recordJsonPg`). */
export const PG_RECORD_JSON_COLUMNS = [
  'records.id',
  'records.account_name',
  'records.first_name',
  'records.last_name',
  'records.email',
  'records.phone',
  'records.manager',
  'records.source_id',
  sql<string>`records.data::text`.as('data'),
  'records.start_date',
  'records.end_date',
  'records.modified',
  'records.created',
] as const;

/** A row read with PG_RECORD_JSON_COLUMNS: `data` as its JSON text, dates ISO 8601 text (src/db/connect.ts). */
export type PgRecordJsonRow = Omit<RecordTable, 'tenant_id' | 'data'> & { data: string };

const q = JSON.stringify;

/**
 * The wire JSON of a PostgreSQL row: text columns quoted by JSON.stringify, `data` spliced in as
 * PostgreSQL wrote it (jsonb's text is JSON), dates as they are (digits and `-:.TZ`, nothing to
 * escape). No object is built or parsed per record.
 */
export function recordJsonPg(r: PgRecordJsonRow): string {
  return `{"id":${q(r.id)},"accountName":${q(r.account_name)},"firstName":${q(r.first_name)},"lastName":${q(r.last_name)},"email":${q(r.email)},"phone":${q(r.phone)},"manager":${q(r.manager)},"sourceId":${q(r.source_id)},"data":${r.data},"startDate":"${r.start_date}","endDate":"${r.end_date}","modified":"${r.modified}","created":"${r.created}"}`;
}

/** A JSON array of already serialized elements. */
export function jsonArray(items: readonly string[]): string {
  return `[${items.join(',')}]`;
}
