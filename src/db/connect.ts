/**
 * Opens the database named by the configuration: an embedded SQLite file (default) or PostgreSQL.
 * Engine differences in what rows look like are normalised here, once:
 * - PostgreSQL timestamptz values arrive as ISO 8601 strings, like the TEXT timestamps of SQLite;
 * - PostgreSQL bigint counts arrive as numbers.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Config, Engine } from '../config/config.js';
import type { Database } from './types.js';
import { SqliteReads, type ReadCounts, type ReadFirst } from './sqlite-reads.js';
import { endsTransaction, RecordCache, writesRecords, type Renewal } from './record-cache.js';

export interface Db {
  kysely: Kysely<Database>;
  engine: Engine;
  /** The PostgreSQL schema in use, when not the default one. */
  schema?: string | undefined;
  /** PostgreSQL only: a query's rows handed over one at a time (see `EachRow`). */
  eachRow?: EachRow | undefined;
  /** SQLite only: the first row of a read-only statement, read at once or by the read thread (sqlite-reads.ts). */
  readFirst?: ReadFirst | undefined;
  /** SQLite only: where `readFirst` ran its reads. */
  readCounts?: ReadCounts | undefined;
  /**
   * PostgreSQL only: `listener` hears of every pooled connection that broke (the server restarted
   * or terminated its backend, the network dropped it). The pool has already discarded it; the
   * next query opens a new one. Without listeners such errors are dropped, never thrown.
   * Returns what removes the listener.
   */
  onConnectionLost?(listener: (error: Error) => void): () => void;
  /**
   * PostgreSQL, unless turned off: record gets kept in memory under a lease the database fences
   * (record-cache.ts). Started by the server (`start`), not by the `nelm` commands; closing the
   * database stops it.
   */
  recordCache?: RecordCache | undefined;
  close(): Promise<void>;
}

/**
 * Runs a compiled query outside any transaction and hands each row to `onRow` as soon as it is
 * read, as an array of its columns' text in select order (null for NULL), keeping none: a caller
 * that turns rows into bytes as they come keeps the JavaScript heap small. With pg's default, a
 * whole result lives as objects until its last row, and a few pages of 250 records in flight
 * outlived several young-generation collections: copying them was a fifth of a list page's CPU
 * (docs/performance.md, Records).
 *
 * No type parser runs (the statement is not described, see `TextRowsQuery`): select text columns,
 * or cast (`n::text`); a timestamptz comes as PostgreSQL writes it, not as `pgTimestampToIso` would.
 */
export type EachRow = (query: CompiledQuery, onRow: (values: (string | null)[]) => void) => Promise<void>;

/** What `TextRowsQuery` uses of pg's connection (the interface pg's own Query and pg-cursor use). */
interface PgConnection {
  stream: { cork?(): void; uncork?(): void };
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements: Record<string, string | undefined>;
  parse(message: { text: string; name: string; types: number[] }): void;
  bind(message: { statement: string; values: readonly unknown[]; valueMapper: (value: unknown) => unknown }): void;
  execute(message: { portal: string; rows: number }): void;
  sync(): void;
  sendCopyFail(message: string): void;
}

/** pg's own mapping of parameter values to their text (arrays to array literals, Dates, Buffers…). */
const prepareValue = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils.prepareValue;

/**
 * A query submitted to a pg client as a "submittable" (node-postgres' extension point for query
 * objects, as pg-cursor's): Parse when the connection has not prepared the statement yet, then
 * Bind, Execute, Sync, corked into one write. Unlike pg's Query it sends no Describe, so the
 * server sends no RowDescription, and each DataRow's fields (text) go straight to `onRow`: no
 * Result, no type parsers, no events. Per batch of gets this was ~30 µs less of the server's CPU
 * than a pg Query with `rowMode: 'array'` (docs/performance.md, Records).
 */
class TextRowsQuery {
  readonly promise: Promise<void>;
  private settle!: (error?: unknown) => void;
  private thrown: unknown;
  private settled = false;

  /** `name` and `text` are read by pg's client to track prepared statements. */
  constructor(
    readonly name: string,
    readonly text: string,
    private readonly values: readonly unknown[],
    private readonly onRow: (values: (string | null)[]) => void,
  ) {
    this.promise = new Promise<void>((resolve, reject) => {
      this.settle = (error?: unknown) => (error === undefined ? resolve() : reject(error));
    });
  }

  submit(connection: PgConnection): null {
    connection.stream.cork?.();
    try {
      const prepared =
        this.name !== '' && (connection.parsedStatements[this.name] !== undefined || connection.submittedNamedStatements[this.name] !== undefined);
      if (!prepared) {
        connection.parse({ text: this.text, name: this.name, types: [] });
        if (this.name !== '') connection.submittedNamedStatements[this.name] = this.text;
      }
      connection.bind({ statement: this.name, values: this.values, valueMapper: prepareValue });
      connection.execute({ portal: '', rows: 0 });
      connection.sync();
    } catch (error) {
      // A value pg cannot write: the statement stays parsed, the portal is never made.
      connection.sync();
      this.handleError(error);
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    if (this.thrown !== undefined || this.settled) return;
    try {
      this.onRow(message.fields);
    } catch (error) {
      this.thrown = error;
    }
  }

  /** A database error (ReadyForQuery follows, but pg's client no longer hands it to this query) or a broken connection. */
  handleError(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(error);
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(this.thrown);
  }

  handleRowDescription(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('No source stream defined');
  }
  handleCopyData(): void {}
}

/**
 * A PostgreSQL error after which the server ends the session (FATAL or PANIC: the backend was
 * terminated, the server is shutting down). The connection is still open for a moment; given back
 * to the pool as it is, it would be handed to the next query, which would then fail too.
 */
function endsSession(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | null | undefined)?.severity;
  return severity === 'FATAL' || severity === 'PANIC';
}

/** `EachRow` over a pg pool; `nameOf` names the statement to prepare (PreparingPool). */
export function pgEachRow(pool: pg.Pool, nameOf: (text: string) => string | undefined = () => undefined): EachRow {
  return async (query, onRow) => {
    const client = await pool.connect();
    let ended: Error | undefined;
    try {
      const submitted = new TextRowsQuery(nameOf(query.sql) ?? '', query.sql, query.parameters, onRow);
      void client.query(submitted as never);
      await submitted.promise;
    } catch (error) {
      if (endsSession(error)) ended = error as Error;
      throw error;
    } finally {
      // The pool drops a client whose connection broke, or that is given back with an error.
      client.release(ended);
    }
  };
}

const PG_TIMESTAMPTZ = 1184;
const PG_TIMESTAMP = 1114;
const PG_INT8 = 20;

/** PostgreSQL's text of a UTC timestamp in the ISO date style: `2026-11-23 16:05:00.123456+00`. */
const PG_UTC_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(?:\+00)?$/;

/**
 * A PostgreSQL timestamp(tz) text as `Date.prototype.toISOString` writes it. The session runs in
 * UTC, so the text is rewritten without a Date (a third of a list page's CPU went to Date parsing);
 * anything else (another offset) goes through Date. Stored dates fall within the years 1900 to
 * 9999 (src/domain/records/dates.ts, and `now` for created/modified).
 */
export function pgTimestampToIso(text: string): string {
  // The common shape by position (`YYYY-MM-DD HH:MM:SS[.f{1,6}]+00`), four per record read.
  const n = text.length;
  if (n >= 22 && n <= 29 && n !== 23 && text.charCodeAt(4) === 45 && text.charCodeAt(10) === 32 && text.charCodeAt(13) === 58 && text.endsWith('+00')) {
    if (n === 22) return `${text.slice(0, 10)}T${text.slice(11, 19)}.000Z`;
    if (text.charCodeAt(19) === 46)
      return `${text.slice(0, 10)}T${text.slice(11, 19)}.${text
        .slice(20, n - 3)
        .padEnd(3, '0')
        .slice(0, 3)}Z`;
  }
  const m = PG_UTC_TIMESTAMP.exec(text);
  if (m) return `${m[1]}T${m[2]}.${m[3] === undefined ? '000' : m[3].length >= 3 ? m[3].slice(0, 3) : m[3].padEnd(3, '0')}Z`;
  const iso = text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
  return new Date(/[+-]\d\d:\d\d$|Z$/.test(iso) ? iso : `${iso}Z`).toISOString();
}

function pgTypes(): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === PG_TIMESTAMPTZ || oid === PG_TIMESTAMP) return pgTimestampToIso;
      if (oid === PG_INT8) return (v: string) => Number(v);
      return pg.types.getTypeParser(oid, format);
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

/** How much of a SQLite file is read through a memory map (SQLite caps it at its own maximum). */
const SQLITE_MMAP_BYTES = 4 * 1024 ** 3;
/** Prepared statements kept per SQLite connection. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * The SQLite database as Kysely sees it, keeping prepared statements by SQL text: Kysely's
 * SQLite driver prepares every query anew, which costs more than running a small one. A statement
 * still being iterated (a stream) is never handed out twice: a busy one gets a fresh twin. The
 * least recently used statement is dropped past the capacity (the texts Kysely builds are few,
 * but an `in (…)` list of a new length is a new text).
 */
export class StatementCache {
  private readonly statements = new Map<string, SqliteDatabase.Statement>();

  constructor(
    private readonly database: SqliteDatabase.Database,
    private readonly capacity = STATEMENT_CACHE_SIZE,
  ) {}

  get size(): number {
    return this.statements.size;
  }

  prepare(sql: string): SqliteDatabase.Statement {
    const cached = this.statements.get(sql);
    if (cached) {
      if (cached.busy) return this.database.prepare(sql);
      // Most recently used last.
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return cached;
    }
    const statement = this.database.prepare(sql);
    this.statements.set(sql, statement);
    if (this.statements.size > this.capacity) this.statements.delete(this.statements.keys().next().value!);
    return statement;
  }

  close(): void {
    this.statements.clear();
    this.database.close();
  }
}

/** Distinct SQL texts prepared as named statements per process, and the longest one. */
const PG_STATEMENTS = 500;
const PG_STATEMENT_MAX_LENGTH = 4096;
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;

/**
 * The pg pool as Kysely sees it, running each query as a named prepared statement: PostgreSQL
 * then parses and plans a text once per connection instead of every time, which on a primary-key
 * read is most of the database's work (pgbench here: 13,000 → 31,000 reads/s). The same text
 * always gets the same name; past PG_STATEMENTS texts (or for a text longer than
 * PG_STATEMENT_MAX_LENGTH, e.g. a multi-row INSERT) queries run unnamed, as before. PostgreSQL
 * itself keeps a custom plan for a statement whose parameters change its plan (plan_cache_mode
 * auto), and re-plans after DDL. A connection whose session the server ended while a query ran
 * (`endsSession`) is dropped when Kysely gives it back, not handed to the next query.
 */
export class PreparingPool implements PostgresPool {
  private readonly names = new Map<string, string>();
  private readonly clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  /** Clients whose session the server ended (see `endsSession`): dropped when given back. */
  private readonly ended = new WeakSet<pg.PoolClient>();

  /** Clients in a transaction that wrote records or sources (see `onRecordsWrite`). */
  private readonly dirty = new WeakSet<pg.PoolClient>();

  /**
   * @param prepare false: every query runs unnamed (NELM_PG_PREPARED_STATEMENTS=off)
   * @param onRecordsWrite called before a statement that may change records is sent, and again
   *   when it has ended or, inside a transaction, when the transaction has (record-cache.ts)
   */
  constructor(
    readonly pool: pg.Pool,
    private readonly prepare = true,
    private readonly onRecordsWrite?: () => void,
  ) {}

  /** The statement name of a SQL text, or undefined to run it unnamed. */
  nameOf(text: string): string | undefined {
    if (!this.prepare) return undefined;
    let name = this.names.get(text);
    if (name === undefined && this.names.size < PG_STATEMENTS && text.length <= PG_STATEMENT_MAX_LENGTH && PREPARABLE.test(text)) {
      name = `nelm_${this.names.size + 1}`;
      this.names.set(text, name);
    }
    return name;
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    let wrapped = this.clients.get(client);
    if (!wrapped) {
      const query = (textOrCursor: unknown, values?: readonly unknown[]) => {
        const text = typeof textOrCursor === 'string' ? textOrCursor : undefined;
        const name = text === undefined ? undefined : this.nameOf(text);
        const changes = this.changesRecords(client, text);
        const result: unknown =
          name === undefined
            ? client.query(textOrCursor as never, values as never)
            : client.query({ name, text: textOrCursor as string, values: values as unknown[] });
        // A promise (a cursor comes back as itself); the caller still sees the rejection.
        if (result instanceof Promise) {
          result.catch((error: unknown) => endsSession(error) && this.ended.add(client));
          if (changes) void result.finally(this.onRecordsWrite).catch(() => {});
        }
        return result;
      };
      const release = () => client.release(this.ended.has(client) || undefined);
      wrapped = { query: query as unknown as PostgresPoolClient['query'], release };
      this.clients.set(client, wrapped);
    }
    return wrapped;
  }

  /**
   * Whether the statement `text` may change records, or ends a transaction that did: if so,
   * `onRecordsWrite` has been called, and is to be called again when it ends.
   */
  private changesRecords(client: pg.PoolClient, text: string | undefined): boolean {
    if (!this.onRecordsWrite || text === undefined) return false;
    if (writesRecords(text)) {
      this.dirty.add(client);
      this.onRecordsWrite();
      return true;
    }
    if (this.dirty.has(client) && endsTransaction(text)) {
      this.dirty.delete(client);
      return true;
    }
    return false;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

/** A random positive 63-bit id naming this process's connections to the record cache's fence. */
function newProcessId(): string {
  return (randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn || 1n).toString();
}

async function ensurePgSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  // A connection that breaks rejects the query awaited below; the event must not go unheard.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await client.end();
  }
}

export async function openDatabase(
  config: Pick<Config, 'engine' | 'databaseUrl' | 'databaseSchema'> & Partial<Pick<Config, 'pgPreparedStatements' | 'sqliteReadThread' | 'recordCacheBytes'>>,
): Promise<Db> {
  if (config.engine === 'postgres') {
    if (config.databaseSchema) await ensurePgSchema(config.databaseUrl, config.databaseSchema);
    const searchPath = config.databaseSchema ? ` -c search_path=${config.databaseSchema}` : '';
    // Every connection of this pool is this process to the record cache's fence (record-cache.ts).
    const processId = newProcessId();
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: 10,
      types: pgTypes(),
      // Timestamps come back as UTC text in the ISO style whatever the server's defaults
      // (pgTimestampToIso, and records' wire JSON, read that shape).
      options: `-c TimeZone=UTC -c DateStyle=ISO -c nelm.process_id=${processId}${searchPath}`,
    });
    // A connection that breaks emits `error`: on the pool when it was idle (the pool has dropped
    // it), on the client itself when it was checked out (the pool drops it when it comes back,
    // its query having failed). An `error` event with no listener throws and ends the process:
    // a restart of PostgreSQL, or a backend it terminated, took the server down. Both are heard
    // here, each connection reported once.
    const lost = new Set<(error: Error) => void>();
    const reported = new WeakSet<object>();
    const report = (client: object, error: Error) => {
      if (reported.has(client)) return;
      reported.add(client);
      for (const listener of lost) listener(error);
    };
    pool.on('connect', (client) => client.on('error', (error) => report(client, error)));
    pool.on('error', (error, client) => report(client, error));
    let recordCache: RecordCache | undefined;
    const preparing = new PreparingPool(pool, config.pgPreparedStatements !== false, () => recordCache?.invalidate());
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparing }) });
    const eachRow = pgEachRow(pool, (text) => preparing.nameOf(text));
    if ((config.recordCacheBytes ?? 0) > 0) {
      recordCache = new RecordCache({
        budgetBytes: config.recordCacheBytes!,
        renew: async () => (await sql<{ outcome: Renewal }>`select record_cache_renew(${processId}::bigint) as outcome`.execute(kysely)).rows[0]!.outcome,
        // A renewal that fails (the database is away) only leaves memory untrusted.
        release: async () => void (await sql`select record_cache_release(${processId}::bigint)`.execute(kysely)),
      });
    }
    return {
      kysely,
      engine: 'postgres',
      schema: config.databaseSchema,
      eachRow,
      onConnectionLost: (listener) => {
        lost.add(listener);
        return () => void lost.delete(listener);
      },
      recordCache,
      close: async () => {
        // The lease is given up while the pool is still open; a database that cannot be reached
        // any more lets it run out instead.
        await recordCache?.stop().catch(() => {});
        await kysely.destroy();
      },
    };
  }

  const file = config.databaseUrl;
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new SqliteDatabase(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  // Reads through a memory map instead of a pread per page into SQLite's own 2 MB cache: the OS
  // page cache serves them (docs/performance.md, Records). Writes still go through the WAL.
  database.pragma(`mmap_size = ${SQLITE_MMAP_BYTES}`);
  const statements = new StatementCache(database);
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
  const reads = new SqliteReads({
    database,
    prepare: (text) => statements.prepare(text),
    viaConnection: async <R>(text: string, parameters: readonly unknown[]) => (await kysely.executeQuery<R>(CompiledQuery.raw(text, [...parameters]))).rows,
    file: file === ':memory:' || config.sqliteReadThread === false ? undefined : path.resolve(file),
    mmapBytes: SQLITE_MMAP_BYTES,
  });
  return {
    kysely,
    engine: 'sqlite',
    readFirst: reads.first,
    readCounts: reads.counts,
    close: async () => {
      await reads.close();
      await kysely.destroy();
    },
  };
}

/** A JSON column as an object: TEXT in SQLite, already parsed jsonb in PostgreSQL. */
export function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
