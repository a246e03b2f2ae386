/**
 * Record gets and lists as JSON text, ready to send (bench/records, docs/performance.md "Records").
 *
 * A 250-record page is 3,250 column values: turning them into JS objects, parsing each `data`,
 * mapping to the DTO and serializing again cost more than the page's index walk and row reads.
 * So no object is built per record, on either engine: each record's JSON is the generated column
 * `records.json` (migration 0004), in the order and shape of the NonEmployeeRecord response
 * schema, which the database keeps:
 * - SQLite computes it when read (json_object), and a page leaves the database as one value
 *   (`jsonArraySql`);
 * - PostgreSQL stores it when a row is written (building it when read cost the backend more than
 *   the page's reads, and the server as much again to write it from 13 values); a page's rows are
 *   written into UTF-8 bytes one by one as they arrive (`JsonArrayBytes`).
 * test/http/records-wire.test.ts holds both to what the response serializer writes.
 */
import { sql, type RawBuilder } from 'kysely';

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
