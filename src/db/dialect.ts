/**
 * What the rest of the application knows of the database: a Kysely instance, and a small dialect
 * object for the few things SQLite and PostgreSQL write differently. Every engine difference lives
 * under src/db/ (sqlite.ts, postgres.ts); nothing outside it asks which engine runs.
 */
import { CompiledQuery, type Expression, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Engine } from '../config/config.js';
import { isRetryable } from './errors.js';
import type { Database } from './types.js';

/** Where a repository runs its SQL: the database, or a transaction a service opened on it. */
export type Exec = Kysely<Database> | Transaction<Database>;

/** A stored type a text value is cast to where the engine needs it said (see `Dialect.typed`). */
export type StoredType = 'timestamp' | 'json';

/** A SELECT that can lock its rows (Kysely's SelectQueryBuilder). */
export interface Lockable<QB> {
  forUpdate(): QB;
  skipLocked(): QB;
}

export interface Dialect {
  readonly engine: Engine;
  /** `column`, a JSON object, without the keys `keys`. */
  jsonWithout(column: string, keys: readonly string[]): RawBuilder<string>;
  /** True where `column`, a JSON object, has at least one of `keys`. */
  jsonHasAny(column: string, keys: readonly string[]): RawBuilder<boolean>;
  /**
   * `value` (text, e.g. a column of a VALUES list) as a column of `type` stores it. PostgreSQL
   * types a VALUES column as text and does not cast it on assignment; SQLite stores text as is.
   */
  typed(value: Expression<unknown>, type: StoredType): RawBuilder<unknown>;
  /**
   * Locks the rows `query` selects until the transaction ends; with `skipLocked`, rows another
   * transaction holds are left out instead of waited for. PostgreSQL: FOR UPDATE [SKIP LOCKED].
   * SQLite needs nothing: a transaction that writes holds the only write lock of the file.
   */
  forUpdate<QB extends Lockable<QB>>(query: QB, skipLocked?: boolean): QB;
  /**
   * The SQL of an INSERT of `rows` rows into `table`, each row's values bound in `columns` order
   * (`?` on SQLite, `$1, $2…` on PostgreSQL), followed by `tail` (an ON CONFLICT clause). See
   * `insertRows`.
   */
  insertSql(table: string, columns: readonly string[], rows: number, tail: string): string;
  /**
   * From now to the end of the transaction `trx`, every statement is planned for the values it
   * runs with. PostgreSQL otherwise runs a prepared statement with a plan made once for any values,
   * and one made when a table was small (before a long transaction such as a bulk import filled it)
   * scans what the transaction wrote at every run. SQLite plans each statement as it runs.
   */
  planEachStatement(trx: Exec): Promise<void>;
  /**
   * Brings the planner's statistics of `table` (its size, the distribution of `columns`) up to
   * date after a bulk write, in the writer's transaction `trx` (its own rows counted). PostgreSQL
   * plans from statistics that its autovacuum refreshes about a minute after a commit: until then
   * a table that grew by thousands of rows is planned as it was (a sort of every record of a
   * source per page of its export). SQLite plans without them: nothing.
   */
  analyze(trx: Exec, table: string, columns: readonly string[]): Promise<void>;
}

/** Connections of an open database (the metrics): PostgreSQL's pool, SQLite's write connection. */
export interface PoolUse {
  /** Connections open. */
  total: number;
  /** Connections open and not in use. */
  idle: number;
  /** Queries or transactions waiting for a connection. */
  waiting: number;
}

/**
 * Hears how long each query took to run, in seconds, and whether it failed (the metrics'
 * histogram). The drivers read the clock before and after each query while a listener is set, and
 * do nothing more: no listener, no clock read.
 */
export interface QueryTiming {
  listener: ((seconds: number, failed: boolean) => void) | undefined;
}

/** An open database: the Kysely instance, its dialect, and how to close it. */
export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  readonly engine: Engine;
  /** PostgreSQL: the schema in use, when not the default one. */
  readonly schema?: string | undefined;
  /** What the database is, for people: the SQLite file's path, or the PostgreSQL server and database. */
  readonly description: string;
  /**
   * Whether other server processes may work on the database at the same time (PostgreSQL). A
   * SQLite file has one server process, so work another process left claimed is this one's.
   */
  readonly shared: boolean;
  /**
   * PostgreSQL: `listener` hears of every pooled connection that broke (the server restarted or
   * ended its backend, the network dropped it); the pool has already dropped it and opens a new
   * one when needed. SQLite has no such connections. Returns what removes the listener.
   */
  onConnectionLost(listener: (error: Error) => void): () => void;
  /** How the connections are used now. */
  poolUse(): PoolUse;
  /**
   * Whether the database answers (readiness): `select 1`, and on SQLite a round trip to the write
   * connection's thread too (behind the statement it runs, if any).
   */
  ping(): Promise<void>;
  /** Where each query's duration goes. */
  readonly queryTiming: QueryTiming;
  /**
   * Runs `work` while no other process runs its own on this database (PostgreSQL: a session-level
   * advisory lock per schema, released if the process dies; SQLite: one server owns a file).
   */
  exclusively<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** SQL texts of `insertRows` by engine, table, columns, row count and tail (one process may open both engines). */
const insertTexts = new Map<string, string>();
const INSERT_TEXTS_KEPT = 200;

/**
 * Inserts `rows` into `table` in one statement, each row its values in `columns` order, then
 * `tail` (an ON CONFLICT clause, or nothing). Without a query builder: building and compiling a
 * multi-row INSERT costs more than running it, and a bulk import runs hundreds. The caller keeps a
 * statement's rows × columns under both engines' limits on bound values (SQLite 32,766).
 */
export async function insertRows(
  db: Exec,
  dialect: Dialect,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  tail = '',
): Promise<void> {
  if (rows.length === 0) return;
  const key = `${dialect.engine}|${table}|${columns.join(',')}|${rows.length}|${tail}`;
  let text = insertTexts.get(key);
  if (text === undefined) {
    text = dialect.insertSql(table, columns, rows.length, tail);
    if (insertTexts.size >= INSERT_TEXTS_KEPT) insertTexts.clear();
    insertTexts.set(key, text);
  }
  const values: unknown[] = [];
  for (const row of rows) for (const value of row) values.push(value);
  await db.executeQuery(CompiledQuery.raw(text, values));
}

/** Attempts at a transaction PostgreSQL aborted as a deadlock or serialization victim. */
const ATTEMPTS = 3;

/**
 * Runs `work` in a transaction and commits it, or rolls it back when `work` throws. A transaction
 * the database aborted as a deadlock or serialization victim runs again (at most three times in
 * all), so `work` must do nothing but database work that it can repeat.
 */
export async function transaction<T>(db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const hooks: (() => void)[] = [];
    try {
      const result = await db.transaction().execute((trx) => {
        commitHooks.set(trx, hooks);
        return work(trx);
      });
      for (const hook of hooks) {
        try {
          hook();
        } catch {
          // The transaction committed: a hook's failure is not the transaction's.
        }
      }
      return result;
    } catch (error) {
      if (attempt >= ATTEMPTS || !isRetryable(error)) throw error;
    }
  }
}

/** What to run once each transaction opened by `transaction` has committed. */
const commitHooks = new WeakMap<object, (() => void)[]>();

/**
 * Runs `hook` once `exec` has committed: after the transaction `transaction` opened commits
 * (never, if it rolls back), or at once when `exec` is anything else (the database itself, whose
 * statements commit as they run). For cheap signals such as waking a worker; the same hook added
 * twice to one transaction runs once.
 */
export function afterCommit(exec: Exec, hook: () => void): void {
  const hooks = commitHooks.get(exec);
  if (!hooks) hook();
  else if (!hooks.includes(hook)) hooks.push(hook);
}
