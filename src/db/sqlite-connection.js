/**
 * A SQLite connection as both sides of src/db/sqlite.ts open it: the read connection on the main
 * thread and the write connection on its worker thread (sqlite-writer.js). Plain JavaScript: a
 * worker thread does not load TypeScript through the loader of the process that starts it.
 * Types: sqlite-connection.d.ts.
 */
import SqliteDatabase from 'better-sqlite3';

/** How much of the file is read through a memory map (the OS page cache) instead of SQLite's own 2 MB cache. */
const MMAP_BYTES = 4 * 1024 ** 3;
/** Prepared statements kept per connection: Kysely's SQLite driver would prepare each query anew. */
export const STATEMENTS_KEPT = 500;

/** Opens `file`: read-only (it must exist), or for writing (created if missing, in WAL mode). */
export function connect(file, readOnly) {
  const connection = new SqliteDatabase(file, { fileMustExist: readOnly });
  connection.pragma('busy_timeout = 5000');
  connection.pragma(`mmap_size = ${MMAP_BYTES}`);
  if (readOnly) {
    connection.pragma('query_only = ON');
  } else {
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = NORMAL');
    connection.pragma('foreign_keys = ON');
  }
  return connection;
}

/**
 * A connection's prepared statements, kept by SQL text, least recently used dropped past
 * `capacity` (an `in (…)` list of a new length is a new text). A statement still being iterated
 * (a stream) is never handed out twice: a busy one gets a fresh twin.
 */
export class StatementCache {
  #statements = new Map();

  constructor(connection, capacity = STATEMENTS_KEPT) {
    this.connection = connection;
    this.capacity = capacity;
  }

  get size() {
    return this.#statements.size;
  }

  prepare(text) {
    const cached = this.#statements.get(text);
    if (cached) {
      if (cached.busy) return this.connection.prepare(text);
      this.#statements.delete(text);
      this.#statements.set(text, cached);
      return cached;
    }
    const statement = this.connection.prepare(text);
    this.#statements.set(text, statement);
    if (this.#statements.size > this.capacity) this.#statements.delete(this.#statements.keys().next().value);
    return statement;
  }

  close() {
    this.#statements.clear();
    this.connection.close();
  }
}

/** Runs a statement: the rows of one that returns rows, else what it changed (Kysely's QueryResult). */
export function runStatement(statement, parameters) {
  if (statement.reader) return { rows: statement.all(...parameters) };
  const { changes, lastInsertRowid } = statement.run(...parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}
