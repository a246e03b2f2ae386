/**
 * The embedded database: one SQLite file in WAL mode, opened twice by this process.
 *
 * - The write connection runs every transaction and every statement that changes the file, one
 *   at a time (better-sqlite3 is synchronous, and a connection has one transaction at a time).
 * - A read-only connection runs every read that is not part of a transaction. In WAL mode it reads
 *   the last committed state without waiting for the writer, so record gets, list pages and token
 *   checks are answered while a bulk import holds the write connection in its transaction.
 *
 * A write outside a transaction waits for the transaction in progress to end, as it must: run on
 * the write connection meanwhile, it would become part of that transaction. `:memory:` is a
 * temporary file, deleted when the database closes, so that it has both connections too.
 *
 * Checkpoints (copying the write-ahead log back into the file, with an fsync) run on a worker
 * thread with a connection of its own (sqlite-checkpoints.ts), soon after a write, never on the
 * write connection: a transaction of 20 MiB would otherwise hold the event loop ~150 ms at its
 * commit copying it. Should the worker fail, the write connection checkpoints as SQLite does by
 * default (every 1,000 pages of log, at a commit).
 *
 * One server process owns a file: `openSqlite` with `exclusive` takes a lock beside it (an
 * exclusive transaction held on `<file>-lock`, which the operating system releases when the
 * process ends, however it ends), and a second server on the same file refuses to start.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type QueryResult,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
  type Dialect as KyselyDialect,
} from 'kysely';
import type { Db, Dialect, QueryTiming } from './dialect.js';
import { Checkpoints } from './sqlite-checkpoints.js';
import type { Database } from './types.js';

/** How much of the file is read through a memory map (the OS page cache) instead of SQLite's own 2 MB cache. */
const MMAP_BYTES = 4 * 1024 ** 3;
/** Prepared statements kept per connection: Kysely's SQLite driver would prepare each query anew. */
const STATEMENTS_KEPT = 500;
export class DatabaseLockedError extends Error {
  constructor(readonly file: string) {
    super(`Another nelm server is using the database ${file}; one server process owns a SQLite file (use PostgreSQL to run several).`);
    this.name = 'DatabaseLockedError';
  }
}

export class DatabaseMissingError extends Error {
  constructor(readonly file: string) {
    super(`There is no database at ${file}. Start the server (nelm serve) or run nelm migrate to create it, or set DATABASE_URL.`);
    this.name = 'DatabaseMissingError';
  }
}

/**
 * A connection's prepared statements, kept by SQL text, least recently used dropped past
 * `capacity` (an `in (…)` list of a new length is a new text). A statement still being iterated
 * (a stream) is never handed out twice: a busy one gets a fresh twin.
 */
export class StatementCache {
  private readonly statements = new Map<string, SqliteDatabase.Statement>();

  constructor(
    readonly connection: SqliteDatabase.Database,
    private readonly capacity = STATEMENTS_KEPT,
  ) {}

  get size(): number {
    return this.statements.size;
  }

  prepare(text: string): SqliteDatabase.Statement {
    const cached = this.statements.get(text);
    if (cached) {
      if (cached.busy) return this.connection.prepare(text);
      this.statements.delete(text);
      this.statements.set(text, cached);
      return cached;
    }
    const statement = this.connection.prepare(text);
    this.statements.set(text, statement);
    if (this.statements.size > this.capacity) this.statements.delete(this.statements.keys().next().value!);
    return statement;
  }

  close(): void {
    this.statements.clear();
    this.connection.close();
  }
}

/** A statement of a transaction that SQLite already rolled back after an error of an earlier statement. */
export class TransactionLostError extends Error {
  readonly code = 'SQLITE_ABORT';
  constructor() {
    super('SQLite rolled the transaction back after an earlier statement failed (see that error); nothing of it was written');
    this.name = 'TransactionLostError';
  }
}

/** One turn at the write connection at a time: a transaction, or a write outside one. */
class Turns {
  private queue: Promise<void> = Promise.resolve();
  /** Turns asked for and not begun; whether one is under way (the metrics). */
  waiting = 0;
  held = false;

  /** Resolves when it is the caller's turn, with the function that ends it. */
  take(): Promise<() => void> {
    let resolve!: () => void;
    const ended = new Promise<void>((r) => {
      resolve = r;
    });
    const end = () => {
      this.held = false;
      resolve();
    };
    this.waiting++;
    const turn = this.queue.then(() => {
      this.waiting--;
      this.held = true;
      return end;
    });
    this.queue = this.queue.then(() => ended);
    return turn;
  }
}

function run<R>(statement: SqliteDatabase.Statement, parameters: readonly unknown[]): QueryResult<R> {
  if (statement.reader) return { rows: statement.all(...parameters) as R[] };
  const { changes, lastInsertRowid } = statement.run(...parameters);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

/** What Kysely calls a connection: here a session that knows whether it holds a transaction. */
class Session implements DatabaseConnection {
  /** Set while this session holds the write connection for a transaction. */
  endTurn: (() => void) | undefined;

  constructor(private readonly driver: TwoConnectionDriver) {}

  async executeQuery<R>({ sql: text, parameters }: CompiledQuery): Promise<QueryResult<R>> {
    const { writer, reader, turns } = this.driver;
    if (this.endTurn) {
      // SQLite ends a transaction by itself on some errors (SQLITE_FULL, SQLITE_IOERR, …): a
      // statement run after that would commit on its own, outside the transaction the caller holds.
      if (!writer.connection.inTransaction) throw new TransactionLostError();
      return this.driver.run<R>(writer.prepare(text), parameters);
    }
    if (this.driver.readsOnly(text)) return this.driver.run<R>(reader.prepare(text), parameters);
    const end = await turns.take();
    try {
      return this.driver.run<R>(writer.prepare(text), parameters);
    } finally {
      end();
      this.driver.checkpoints.wrote();
    }
  }

  async *streamQuery<R>({ sql: text, parameters, query }: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query)) throw new Error('SQLite streams SELECT queries only');
    const cache = this.endTurn ? this.driver.writer : this.driver.reader;
    for (const row of cache.prepare(text).iterate(...parameters)) yield { rows: [row as R] };
  }
}

class TwoConnectionDriver implements Driver {
  readonly turns = new Turns();
  readonly queryTiming: QueryTiming = { listener: undefined };
  /** Whether a SQL text only reads (SQLite says so of a statement), by text. */
  private readonly readOnly = new Map<string, boolean>();

  constructor(
    readonly writer: StatementCache,
    readonly reader: StatementCache,
    readonly checkpoints: Checkpoints,
    private readonly onDestroy: () => void,
  ) {}

  async init(): Promise<void> {}

  /** Runs a statement, timed while someone listens (the metrics). */
  run<R>(statement: SqliteDatabase.Statement, parameters: readonly unknown[]): QueryResult<R> {
    const listener = this.queryTiming.listener;
    if (listener === undefined) return run<R>(statement, parameters);
    const start = performance.now();
    let failed = true;
    try {
      const result = run<R>(statement, parameters);
      failed = false;
      return result;
    } finally {
      listener((performance.now() - start) / 1000, failed);
    }
  }

  readsOnly(text: string): boolean {
    let readOnly = this.readOnly.get(text);
    if (readOnly === undefined) {
      readOnly = this.writer.prepare(text).readonly;
      if (this.readOnly.size >= STATEMENTS_KEPT) this.readOnly.clear();
      this.readOnly.set(text, readOnly);
    }
    return readOnly;
  }

  /**
   * Sessions are kept for reuse: Kysely remembers every connection a driver hands out (to destroy
   * them at the end), so a new one per query would be a Set that only grows.
   */
  private readonly idle: Session[] = [];

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.idle.pop() ?? new Session(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const session = connection as Session;
    const end = await this.turns.take();
    try {
      this.writer.connection.exec('begin');
    } catch (error) {
      end();
      throw error;
    }
    session.endTurn = end;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const session = connection as Session;
    this.writer.connection.exec('commit');
    session.endTurn?.();
    session.endTurn = undefined;
    this.checkpoints.wrote();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const session = connection as Session;
    try {
      if (this.writer.connection.inTransaction) this.writer.connection.exec('rollback');
    } finally {
      session.endTurn?.();
      session.endTurn = undefined;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    this.idle.push(connection as Session);
  }

  async destroy(): Promise<void> {
    this.onDestroy();
  }
}

class TwoConnectionDialect implements KyselyDialect {
  constructor(private readonly driver: TwoConnectionDriver) {}
  createAdapter() {
    return new SqliteAdapter();
  }
  createDriver() {
    return this.driver;
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
}

const jsonPaths = (keys: readonly string[]) => sql.join(keys.map((k) => `$."${k}"`));

export const sqliteDialect: Dialect = {
  engine: 'sqlite',
  jsonWithout: (column, keys) => sql<string>`json_remove(${sql.ref(column)}, ${jsonPaths(keys)})`,
  jsonHasAny: (column, keys) =>
    sql<boolean>`(${sql.join(
      keys.map((k) => sql`json_type(${sql.ref(column)}, ${`$."${k}"`}) is not null`),
      sql` or `,
    )})`,
  typed: (value) => sql`${value}`,
  forUpdate: (query) => query,
  insertSql: (table, columns, rows, tail) => {
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    return `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${Array(rows).fill(tuple).join(', ')}${tail ? ` ${tail}` : ''}`;
  },
  planEachStatement: async () => {},
  analyze: async () => {},
};

function connect(file: string, readOnly: boolean): SqliteDatabase.Database {
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

/** Holds `<file>-lock` for this process: an exclusive transaction the OS releases with the process. */
function lockFile(file: string): SqliteDatabase.Database {
  const lock = new SqliteDatabase(`${file}-lock`);
  try {
    lock.pragma('busy_timeout = 0');
    lock.exec('begin exclusive');
    return lock;
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') throw new DatabaseLockedError(file);
    throw error;
  }
}

export interface SqliteOptions {
  /** Refuse to start when another process holds the file (the server). */
  exclusive?: boolean | undefined;
  /** Refuse to create the file when it does not exist (commands that only read). */
  mustExist?: boolean | undefined;
}

/** Opens the SQLite file `location` (`:memory:` for a temporary one). */
export function openSqlite(location: string, options: SqliteOptions = {}): Db {
  const temporary = location === ':memory:' ? mkdtempSync(path.join(tmpdir(), 'nelm-')) : undefined;
  const file = temporary ? path.join(temporary, 'nelm.sqlite') : path.resolve(location);
  if (!temporary && !existsSync(file)) {
    if (options.mustExist) throw new DatabaseMissingError(file);
    mkdirSync(path.dirname(file), { recursive: true });
  }
  const lock = options.exclusive && !temporary ? lockFile(file) : undefined;
  let writer: StatementCache | undefined;
  try {
    writer = new StatementCache(connect(file, false));
    const reader = new StatementCache(connect(file, true));
    const checkpoints = new Checkpoints(file, writer.connection);
    let closed = false;
    // Kysely destroys a driver it has used; a database closed before its first query is closed here.
    const close = () => {
      if (closed) return;
      closed = true;
      checkpoints.stop();
      reader.close();
      writer!.close();
      lock?.close();
      if (temporary) rmSync(temporary, { recursive: true, force: true });
    };
    const driver = new TwoConnectionDriver(writer, reader, checkpoints, close);
    const kysely = new Kysely<Database>({ dialect: new TwoConnectionDialect(driver) });
    return {
      kysely,
      dialect: sqliteDialect,
      engine: 'sqlite',
      description: temporary ? 'a temporary SQLite database' : `the SQLite file ${file}`,
      shared: false,
      onConnectionLost: () => () => {},
      // The reader and the writer; the writer is in use while a transaction holds it.
      poolUse: () => ({ total: 2, idle: driver.turns.held ? 1 : 2, waiting: driver.turns.waiting }),
      queryTiming: driver.queryTiming,
      exclusively: (work) => work(),
      close: async () => {
        await kysely.destroy();
        close();
      },
    };
  } catch (error) {
    writer?.close();
    lock?.close();
    if (temporary) rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}
