/**
 * Record lists as JSON text, ready to send (bench/records, docs/performance.md "Records").
 *
 * A 250-record page is 3,250 column values: turning them into JS objects, parsing each `data`,
 * mapping to the DTO and serializing again cost more than the page's index walk and row reads.
 * So no object is built per record, on either engine; each record's JSON is one string, in the
 * order and shape of the NonEmployeeRecord response schema:
 * - SQLite: the database writes it (`recordJsonSql`), dates included (they are stored as ISO text);
 * - PostgreSQL: building JSON in the database (json_build_object, row_to_json, to_json) cost three
 *   times the page's reads there, so the columns are read as text (`data` as its JSON text, the
 *   columns that need no escaping joined into one value: `PG_RECORD_JSON_COLUMNS`), as arrays,
 *   one row at a time, and written out by `recordJsonPg`, a list page straight into UTF-8 bytes
 *   (`JsonArrayBytes`).
 */
import { sql, type RawBuilder } from 'kysely';
import { pgTimestampToIso } from '../../db/connect.js';

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

/** Joins the fixed-shape columns of a PostgreSQL record read (`PG_RECORD_JSON_COLUMNS`). */
const SEP = '\x01';

/**
 * PostgreSQL: what a record's wire JSON is read from, as 7 text values instead of 13 (pg turns
 * every value into a string of its own, a native call each: a page of 250 records was 3,250 of
 * them). The columns that cannot hold U+0001 travel joined by it: the ids (hex), the four dates
 * (PostgreSQL's UTC text of a timestamptz, digits and `-: .+`) and `data` last (jsonb's text is
 * JSON, whose strings escape every control character). The six columns of free text, which may
 * hold any character but NUL, travel as they are.
 */
export const PG_RECORD_JSON_COLUMNS = [
  sql<string>`concat_ws(chr(1), records.id, records.source_id, records.start_date, records.end_date, records.modified, records.created, records.data)`.as('fixed'),
  'records.account_name',
  'records.first_name',
  'records.last_name',
  'records.email',
  'records.phone',
  'records.manager',
] as const;

/** A row of PG_RECORD_JSON_COLUMNS as its values, in that order. */
export type PgRecordValues = readonly [fixed: string, accountName: string, firstName: string, lastName: string, email: string, phone: string, manager: string];

/** The record id of a PG_RECORD_JSON_COLUMNS row. */
export function pgRecordId(v: PgRecordValues): string {
  return v[0].slice(0, v[0].indexOf(SEP));
}

/** The source id of a PG_RECORD_JSON_COLUMNS row. */
export function pgRecordSourceId(v: PgRecordValues): string {
  const from = v[0].indexOf(SEP) + 1;
  return v[0].slice(from, v[0].indexOf(SEP, from));
}

/** What JSON escapes in a string: the quote, the backslash and control characters. */
const NEEDS_ESCAPING = /["\\\u0000-\u001f]/;

/**
 * A stored text as a JSON string: in quotes as it is when there is nothing to escape (most text;
 * a page of records' JSON is a quarter faster than with JSON.stringify), else JSON.stringify.
 * Stored text has no unpaired surrogate (src/domain/text.ts), the one other thing JSON.stringify
 * escapes.
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPING.test(text) ? JSON.stringify(text) : `"${text}"`;
}

const q = jsonString;

/**
 * The wire JSON of a PostgreSQL row: text columns quoted by `jsonString`, `data` spliced in as
 * PostgreSQL wrote it (jsonb's text is JSON), dates rewritten as ISO 8601 (`pgTimestampToIso`:
 * digits and `-:.TZ`, nothing to escape). No object is built or parsed per record.
 */
export function recordJsonPg(v: PgRecordValues): string {
  const fixed = v[0].split(SEP);
  if (fixed.length !== 7) throw new Error(`a record read from PostgreSQL has ${fixed.length} fixed-shape values, not 7`);
  const [id, sourceId, startDate, endDate, modified, created, data] = fixed as [string, string, string, string, string, string, string];
  return `{"id":${q(id)},"accountName":${q(v[1])},"firstName":${q(v[2])},"lastName":${q(v[3])},"email":${q(v[4])},"phone":${q(v[5])},"manager":${q(v[6])},"sourceId":${q(sourceId)},"data":${data},"startDate":"${pgTimestampToIso(startDate)}","endDate":"${pgTimestampToIso(endDate)}","modified":"${pgTimestampToIso(modified)}","created":"${pgTimestampToIso(created)}"}`;
}

/**
 * SQLite: a page's JSON array from a subquery's `json` column (`recordJsonSql`), as one BLOB, so
 * one Buffer, UTF-8 as sent. The elements come in the subquery's order: an aggregate reads a
 * FROM subquery holding ORDER BY and LIMIT as a co-routine, row by row in that order (an ORDER BY
 * inside group_concat sorted the page again: +25 % per page). SQLite keeps no promise about this
 * order, so the bundled SQLite's behaviour is pinned by the paging tests (test/http/records-*),
 * which check every sorter, direction and plan. One value instead of 250 rows: each row's object
 * and string, decoded from UTF-8 and encoded back to send, cost 40 % more per page.
 */
export function jsonArraySql(json: RawBuilder<string> | ReturnType<typeof sql.ref>): RawBuilder<Buffer> {
  return sql<Buffer>`cast('[' || coalesce(group_concat(${json}, ','), '') || ']' as blob)`;
}

/**
 * A JSON array written as UTF-8 bytes element by element, as rows arrive: each element's string
 * dies at once instead of living (with the rest of the page) until the page is joined.
 */
export class JsonArrayBytes {
  private buffer: Buffer;
  private length = 1;
  private count = 0;

  /**
   * @param capacity the bytes to start with: a page's expected size, so that it is written
   *   without growing (each growth copies the page and allocates memory the collector then counts).
   */
  constructor(capacity = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(Math.max(16, capacity));
    this.buffer[0] = 0x5b; // [
  }

  push(json: string): void {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, 2 units, takes 4).
    this.reserve(1 + 3 * json.length);
    if (this.count++ > 0) this.buffer[this.length++] = 0x2c; // ,
    this.length += this.buffer.write(json, this.length, 'utf8');
  }

  /** The array's bytes (the writer is done). */
  end(): Buffer {
    this.reserve(1);
    this.buffer[this.length++] = 0x5d; // ]
    return this.buffer.subarray(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
