/**
 * The embedded database: one SQLite file in WAL mode, opened twice by this process.
 *
 * - The write connection runs every transaction and every statement that changes the file, one
 *   at a time (a connection has one transaction at a time), on a worker thread of its own
 *   (sqlite-writes.ts): better-sqlite3 is synchronous, and a statement writing thousands of rows
 *   or the commit of a bulk import (100–250 ms) would otherwise hold the event loop as long.
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
 * write connection: a transaction of 20 MiB would otherwise hold other writes ~150 ms at its
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
import { connect, runStatement, STATEMENTS_KEPT, StatementCache } from './sqlite-connection.js';
import { WriterThread } from './sqlite-writes.js';
import type { Database } from './types.js';

export { StatementCache };
export { TransactionLostError } from './sqlite-writes.js';

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

/** What Kysely calls a connection: here a session that knows whether it holds a transaction. */
class Session implements DatabaseConnection {
  /** Set while this session holds the write connection for a transaction. */
  endTurn: (() => void) | undefined;

  constructor(private readonly driver: TwoConnectionDriver) {}

  async executeQuery<R>({ sql: text, parameters }: CompiledQuery): Promise<QueryResult<R>> {
    const { writer, reader, turns } = this.driver;
    if (this.endTurn) return this.driver.timed(() => writer.run<R>(text, parameters, true));
    if (this.driver.readsOnly(text)) return this.driver.timed(async () => runStatement<R>(reader.prepare(text), parameters));
    const end = await turns.take();
    try {
      return await this.driver.timed(() => writer.run<R>(text, parameters, false));
    } finally {
      end();
      this.driver.checkpoints.wrote();
    }
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(compiled.query)) throw new Error('SQLite streams SELECT queries only');
    if (this.endTurn) {
      // In a transaction the rows come from the writer's thread, all at once.
      for (const row of (await this.executeQuery<R>(compiled)).rows) yield { rows: [row] };
      return;
    }
    for (const row of this.driver.reader.prepare(compiled.sql).iterate(...compiled.parameters)) yield { rows: [row as R] };
  }
}

class TwoConnectionDriver implements Driver {
  readonly turns = new Turns();
  readonly queryTiming: QueryTiming = { listener: undefined };
  /** Whether a SQL text only reads (SQLite says so of a statement), by text. */
  private readonly readOnly = new Map<string, boolean>();

  constructor(
    readonly writer: WriterThread,
    readonly reader: StatementCache,
    readonly checkpoints: Checkpoints,
    private readonly onDestroy: () => Promise<void>,
  ) {}

  async init(): Promise<void> {}

  /** Runs a statement, timed while someone listens (the metrics). */
  async timed<R>(statement: () => Promise<QueryResult<R>>): Promise<QueryResult<R>> {
    const listener = this.queryTiming.listener;
    if (listener === undefined) return statement();
    const start = performance.now();
    let failed = true;
    try {
      const result = await statement();
      failed = false;
      return result;
    } finally {
      listener((performance.now() - start) / 1000, failed);
    }
  }

  readsOnly(text: string): boolean {
    let readOnly = this.readOnly.get(text);
    if (readOnly === undefined) {
      readOnly = this.judge(text);
      // Not kept: a statement that cannot be prepared (yet) goes to the writer, whose error the caller gets.
      if (readOnly === undefined) return false;
      if (this.readOnly.size >= STATEMENTS_KEPT) this.readOnly.clear();
      this.readOnly.set(text, readOnly);
    }
    return readOnly;
  }

  /**
   * Prepared on the read connection, which knows the schema as of its last read: a statement on a
   * table or column created since fails to prepare there until it reads again.
   */
  private judge(text: string): boolean | undefined {
    try {
      return this.reader.prepare(text).readonly;
    } catch {
      return undefined;
    }
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
      await this.writer.begin();
    } catch (error) {
      end();
      throw error;
    }
    session.endTurn = end;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const session = connection as Session;
    await this.writer.commit();
    session.endTurn?.();
    session.endTurn = undefined;
    this.checkpoints.wrote();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const session = connection as Session;
    try {
      await this.writer.rollback();
    } finally {
      session.endTurn?.();
      session.endTurn = undefined;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    this.idle.push(connection as Session);
  }

  async destroy(): Promise<void> {
    await this.onDestroy();
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
  let writer: WriterThread | undefined;
  try {
    // Created (and put in WAL mode) here, so that a file that cannot be opened fails the open.
    connect(file, false).close();
    const reader = new StatementCache(connect(file, true));
    writer = new WriterThread(file);
    const checkpoints = new Checkpoints(file, (pages) => writer!.autocheckpoint(pages));
    let closed: Promise<void> | undefined;
    // Kysely destroys a driver it has used; a database closed before its first query is closed here.
    const close = () => {
      closed ??= (async () => {
        checkpoints.stop();
        reader.close();
        await writer!.close();
        lock?.close();
        if (temporary) rmSync(temporary, { recursive: true, force: true });
      })();
      return closed;
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
      ping: async () => {
        await sql`select 1`.execute(kysely);
        await writer!.ping();
      },
      queryTiming: driver.queryTiming,
      exclusively: (work) => work(),
      close: async () => {
        await kysely.destroy();
        await close();
      },
    };
  } catch (error) {
    writer?.terminate();
    lock?.close();
    if (temporary) rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}
