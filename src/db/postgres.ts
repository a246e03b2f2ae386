/**
 * PostgreSQL (DATABASE_URL=postgres://…): a pg pool behind Kysely. Rows reach the application in
 * the same shapes as SQLite's:
 * - timestamps (timestamptz) as ISO 8601 strings in UTC, like SQLite's TEXT timestamps;
 * - bigint counts as numbers;
 * - JSON (json, and jsonb) as its text, like SQLite's TEXT JSON columns.
 * Each SQL text runs as a named prepared statement (pg's `name`), so PostgreSQL parses and plans it
 * once per connection instead of at every run.
 */
import pg from 'pg';
import {
  type DatabaseIntrospector,
  type DatabaseMetadata,
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type SchemaMetadata,
  sql,
  type TableMetadata,
} from 'kysely';
import type { Db, Dialect, QueryTiming } from './dialect.js';
import type { Database } from './types.js';

/** Connections per process. */
const POOL_SIZE = 10;
/** Distinct SQL texts run as named statements per process, and the longest such text. */
const NAMED_STATEMENTS = 500;
const NAMED_STATEMENT_MAX_LENGTH = 4096;
const NAMEABLE = /^\s*(select|insert|update|delete|with)\b/i;

const OID = { int8: 20, json: 114, jsonb: 3802, timestamp: 1114, timestamptz: 1184 } as const;

/** PostgreSQL's text of a UTC timestamp in the ISO date style: `2026-11-23 16:05:00.123456+00`. */
const PG_UTC_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(?:\+00)?$/;

/**
 * A PostgreSQL timestamp's text as `Date.prototype.toISOString` writes it. The session runs in
 * UTC with the ISO date style, so the text is rewritten without a Date; any other offset goes
 * through Date.
 */
export function pgTimestampToIso(text: string): string {
  const m = PG_UTC_TIMESTAMP.exec(text);
  if (m) return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
  const iso = text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
  return new Date(/[+-]\d\d:\d\d$|Z$/.test(iso) ? iso : `${iso}Z`).toISOString();
}

/** The type parsers of every connection (the module comment says why). */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === OID.timestamptz || oid === OID.timestamp) return pgTimestampToIso;
    if (oid === OID.int8) return Number;
    if (oid === OID.json || oid === OID.jsonb) return (text: string) => text;
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * An error after which PostgreSQL ends the session (FATAL or PANIC: the backend was terminated,
 * the server is shutting down). Given back to the pool as it is, the connection would be handed
 * to the next query, which would fail too.
 */
function endsSession(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | null | undefined)?.severity;
  return severity === 'FATAL' || severity === 'PANIC';
}

/**
 * The pg pool as Kysely sees it, running each SQL text as a named prepared statement: the same
 * text always gets the same name. Past NAMED_STATEMENTS texts, and for longer texts (multi-row
 * INSERTs) or other commands, queries run unnamed. PostgreSQL keeps a custom plan for a statement
 * whose parameters change its plan, and re-plans after DDL. A connection whose session the
 * server ended is dropped when it is given back.
 */
export class NamingPool implements PostgresPool {
  private readonly names = new Map<string, string>();
  private readonly wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  private readonly ended = new WeakSet<pg.PoolClient>();

  /**
   * @param prepare false: every query runs unnamed (NELM_PG_PREPARED_STATEMENTS=off)
   * @param timing hears each query's time, from its submission to its answer (the metrics)
   */
  constructor(
    readonly pool: pg.Pool,
    private readonly prepare = true,
    readonly timing: QueryTiming = { listener: undefined },
  ) {}

  /** The statement name of a SQL text, or undefined to run it unnamed. */
  nameOf(text: string): string | undefined {
    if (!this.prepare) return undefined;
    let name = this.names.get(text);
    if (name === undefined && this.names.size < NAMED_STATEMENTS && text.length <= NAMED_STATEMENT_MAX_LENGTH && NAMEABLE.test(text)) {
      name = `nelm_${this.names.size + 1}`;
      this.names.set(text, name);
    }
    return name;
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    let wrapped = this.wrapped.get(client);
    if (!wrapped) {
      const query = (textOrCursor: unknown, values?: unknown[]) => {
        // A cursor (a stream's) is submitted as itself and comes back as itself.
        if (typeof textOrCursor !== 'string') return client.query(textOrCursor as never, values as never);
        const name = this.nameOf(textOrCursor);
        const config = { ...(name === undefined ? {} : { name }), text: textOrCursor, values: values ?? [] };
        // pg is given a callback rather than asked for its promise: with the promise, what a query
        // leaves behind outlived young-generation collections under load and was promoted, which
        // tripled the pauses of every collection (measured with --trace-gc-nvp).
        const listener = this.timing.listener;
        const start = listener === undefined ? 0 : performance.now();
        return new Promise((resolve, reject) =>
          client.query(config, (error: Error | undefined, result: unknown) => {
            listener?.((performance.now() - start) / 1000, error !== undefined && error !== null);
            if (!error) return resolve(result);
            if (endsSession(error)) this.ended.add(client);
            reject(error);
          }),
        );
      };
      wrapped = { query: query as PostgresPoolClient['query'], release: () => client.release(this.ended.has(client) || undefined) };
      this.wrapped.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

export const postgresDialect: Dialect = {
  engine: 'postgres',
  // JSON columns are `json`, which keeps the keys in the order written: removal keeps the others' order.
  jsonWithout: (column, keys) =>
    sql<string>`(select coalesce(json_object_agg(e.key, e.value order by e.n), '{}'::json)
      from json_each(${sql.ref(column)}) with ordinality as e(key, value, n) where e.key <> all(cast(${[...keys]} as text[])))`,
  jsonHasAny: (column, keys) => sql<boolean>`jsonb_exists_any(cast(${sql.ref(column)} as jsonb), cast(${[...keys]} as text[]))`,
  typed: (value, type) => sql`cast(${value} as ${sql.raw(type === 'timestamp' ? 'timestamptz' : 'json')})`,
  forUpdate: (query, skipLocked = false) => (skipLocked ? query.forUpdate().skipLocked() : query.forUpdate()),
  insertSql: (table, columns, rows, tail) => {
    const width = columns.length;
    const tuples = Array.from({ length: rows }, (_, r) => `(${columns.map((_, c) => `$${r * width + c + 1}`).join(', ')})`);
    return `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${tuples.join(', ')}${tail ? ` ${tail}` : ''}`;
  },
  planEachStatement: async (trx) => {
    await sql`set local plan_cache_mode = force_custom_plan`.execute(trx);
  },
  analyze: async (trx, table, columns) => {
    await sql`analyze ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})`.execute(trx);
  },
};

/** The server and database of a URL, without its user or password. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `PostgreSQL at ${parsed.host || 'localhost'}${parsed.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

/** Why a connection failed, in words, for the codes Node and PostgreSQL give. */
const CONNECTION_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused (ECONNREFUSED)',
  ENOTFOUND: 'the host name is unknown (ENOTFOUND)',
  EAI_AGAIN: 'the host name could not be looked up (EAI_AGAIN)',
  ETIMEDOUT: 'the connection timed out (ETIMEDOUT)',
  EHOSTUNREACH: 'the host cannot be reached (EHOSTUNREACH)',
  ECONNRESET: 'the server closed the connection (ECONNRESET)',
};
/** PostgreSQL's own refusals of a connection: authentication, an unknown database. */
const REFUSALS = ['28P01', '28000', '3D000'];

export class DatabaseUnreachableError extends Error {
  constructor(where: string, cause: Error) {
    const code = (cause as { code?: string }).code ?? '';
    super(`Could not connect to ${where}: ${CONNECTION_FAILURES[code] ?? cause.message}. Is the server running, and is DATABASE_URL right?`, { cause });
    this.name = 'DatabaseUnreachableError';
  }
}

/** A connection failure (refused, unknown host, timed out, authentication), not an error of a query. */
function isConnectionFailure(error: unknown): error is Error {
  const code = (error as { code?: string } | null)?.code ?? '';
  return Object.hasOwn(CONNECTION_FAILURES, code) || REFUSALS.includes(code);
}

export interface PostgresOptions {
  /** Use this schema (created if missing) instead of the default one. */
  schema?: string | undefined;
  /** Run queries as named prepared statements (default true). */
  prepared?: boolean | undefined;
}

function ignoreDuplicate(error: unknown): void {
  if ((error as { code?: string }).code !== '23505') throw error;
}

/** Connects to `url`; fails with a DatabaseUnreachableError when the server cannot be reached. */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Db> {
  const where = describeUrl(url);
  const { schema } = options;
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    types: PG_TYPES,
    // Timestamps come back as UTC text in the ISO style whatever the server's defaults.
    options: `-c TimeZone=UTC -c DateStyle=ISO${schema ? ` -c search_path=${schema}` : ''}`,
  });
  // A connection that breaks emits `error`: on the pool when it was idle (the pool has dropped
  // it), on the client when it was checked out (the pool drops it when it comes back, its query
  // having failed). An `error` event nobody hears ends the process, so both are heard, each
  // connection reported once.
  const lost = new Set<(error: Error) => void>();
  const reported = new WeakSet<object>();
  const report = (client: object, error: Error) => {
    if (reported.has(client)) return;
    reported.add(client);
    for (const listener of lost) listener(error);
  };
  pool.on('connect', (client) => client.on('error', (error) => report(client, error)));
  pool.on('error', (error, client) => report(client, error));
  try {
    const client = await pool.connect();
    try {
      // Processes creating it at once: all but one fail on the catalogue's unique index, and it exists.
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`).catch((error) => ignoreDuplicate(error));
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw isConnectionFailure(error) ? new DatabaseUnreachableError(where, error) : error;
  }
  const queryTiming: QueryTiming = { listener: undefined };
  const kysely = new Kysely<Database>({ dialect: new SearchPathDialect({ pool: new NamingPool(pool, options.prepared !== false, queryTiming) }) });
  return {
    kysely,
    dialect: postgresDialect,
    engine: 'postgres',
    schema,
    description: `${where}${schema ? `, schema ${schema}` : ''}`,
    shared: true,
    onConnectionLost: (listener) => {
      lost.add(listener);
      return () => void lost.delete(listener);
    },
    poolUse: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    ping: async () => {
      await sql`select 1`.execute(kysely);
    },
    queryTiming,
    exclusively: async (work) => {
      const client = await pool.connect();
      const key = `hashtext('nelm:start:' || current_schema())`;
      try {
        await client.query(`select pg_advisory_lock(${key})`);
        try {
          return await work();
        } finally {
          await client.query(`select pg_advisory_unlock(${key})`);
        }
      } finally {
        client.release();
      }
    },
    close: async () => {
      await kysely.destroy();
      // Kysely ends only a pool it has used.
      if (!pool.ended) await pool.end();
    },
  };
}

/**
 * Kysely's PostgreSQL dialect, its introspection limited to the schemas of the search path.
 * Kysely's own looks at every schema of the database by name, and fails when another process
 * drops a schema meanwhile; its migrator introspects at every start.
 */
class SearchPathDialect extends PostgresDialect {
  // biome-ignore lint/suspicious/noExplicitAny: the signature Kysely's dialect declares
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SearchPathIntrospector(db);
  }
}

interface CatalogColumn {
  schema: string;
  table: string;
  kind: string;
  column: string;
  type: string;
  type_schema: string;
  not_null: boolean;
  has_default: boolean;
  serial: string | null;
}

class SearchPathIntrospector implements DatabaseIntrospector {
  // biome-ignore lint/suspicious/noExplicitAny: introspection reads catalogs of any database
  constructor(private readonly db: Kysely<any>) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`select unnest(current_schemas(false)) as name`.execute(this.db);
    return rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<CatalogColumn>`
      select ns.nspname as schema, c.relname as table, c.relkind as kind, a.attname as column,
        typ.typname as type, tns.nspname as type_schema, a.attnotnull as not_null, a.atthasdef as has_default,
        pg_get_serial_sequence(format('%I.%I', ns.nspname, c.relname), a.attname) as serial
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_class c on c.oid = a.attrelid
      join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
      join pg_catalog.pg_type typ on typ.oid = a.atttypid
      join pg_catalog.pg_namespace tns on tns.oid = typ.typnamespace
      where ns.nspname = any(current_schemas(false)) and c.relkind in ('r', 'v', 'p') and a.attnum > 0 and not a.attisdropped
      order by ns.nspname, c.relname, a.attnum`.execute(this.db);
    const tables = new Map<string, TableMetadata>();
    for (const row of rows) {
      const key = `${row.schema}.${row.table}`;
      let table = tables.get(key);
      if (!table) {
        table = { name: row.table, schema: row.schema, isView: row.kind === 'v', columns: [] };
        tables.set(key, table);
      }
      table.columns.push({
        name: row.column,
        dataType: row.type,
        dataTypeSchema: row.type_schema,
        isNullable: !row.not_null,
        hasDefaultValue: row.has_default,
        isAutoIncrementing: row.serial !== null,
      });
    }
    return [...tables.values()];
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}
