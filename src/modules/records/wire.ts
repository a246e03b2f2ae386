/**
 * Record lists as JSON text, ready to send (bench/records, docs/performance.md "Records").
 *
 * A 250-record page is 3,500 column values: on SQLite, turning them into JS strings and objects,
 * parsing each `data`, mapping to the DTO and serializing again cost about twice what the page's
 * index walk and row reads do. So on SQLite the database writes each record's JSON itself
 * (`recordJsonSql`), one string per row, in the order and shape of the NonEmployeeRecord
 * response schema. On PostgreSQL the rows are mapped and stringified here (`recordJson`): its
 * text functions (to_char for dates) cost more in the database than this does in Node.
 */
import { sql, type RawBuilder } from 'kysely';
import type { NonEmployeeRecord } from './repository.js';

/**
 * SQLite: a record's wire JSON from the `records` row. Every column is NOT NULL; `data` is
 * stored as a JSON object (written by JSON.stringify or json_remove), `json()` re-checks and
 * minifies it. Same keys in the same order as `recordDto`.
 */
export function recordJsonSql(): RawBuilder<string> {
  const text = (column: string) => sql`json_quote(${sql.ref(`records.${column}`)})`;
  return sql<string>`'{"id":' || ${text('id')} || ',"accountName":' || ${text('account_name')} || ',"firstName":' || ${text('first_name')}
    || ',"lastName":' || ${text('last_name')} || ',"email":' || ${text('email')} || ',"phone":' || ${text('phone')}
    || ',"manager":' || ${text('manager')} || ',"sourceId":' || ${text('source_id')} || ',"data":' || json(${sql.ref('records.data')})
    || ',"startDate":' || ${text('start_date')} || ',"endDate":' || ${text('end_date')} || ',"modified":' || ${text('modified')}
    || ',"created":' || ${text('created')} || '}'`;
}

/** A record's wire JSON, built in JS (same keys, same order as `recordDto`). */
export function recordJson(r: NonEmployeeRecord): string {
  return JSON.stringify({
    id: r.id,
    accountName: r.accountName,
    firstName: r.firstName,
    lastName: r.lastName,
    email: r.email,
    phone: r.phone,
    manager: r.manager,
    sourceId: r.sourceId,
    data: r.data,
    startDate: r.startDate,
    endDate: r.endDate,
    modified: r.modified,
    created: r.created,
  });
}

/** A JSON array of already serialized elements. */
export function jsonArray(items: readonly string[]): string {
  return `[${items.join(',')}]`;
}
