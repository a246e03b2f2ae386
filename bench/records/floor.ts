/**
 * The floor server: the raw work of a record get and of a list page, and nothing else. The same
 * Fastify with the same response schema as NELM, the same driver with the same settings (SQLite:
 * better-sqlite3 on the same file, prepared statements kept; PostgreSQL: a pg pool of 10 with
 * NELM's type parsers, each SQL text a named prepared statement), and the same SQL NELM runs (compiled here once, at start, by
 * NELM's own query planner), but no authentication, no validation, no logging, no query building
 * per request. A record's row becomes the response as NELM maps it (`toRecord`).
 *
 * Run as a child process by index.ts: PORT, HOST, DATABASE_URL (a SQLite file or a postgres://
 * URL), NELM_DATABASE_SCHEMA; FLOOR_PAGES names the list pages to prepare (JSON: [sourceId,
 * offset][]), sorted by lastName, 250 records each.
 */
import { Type } from '@sinclair/typebox';
import SqliteDatabase from 'better-sqlite3';
import Fastify from 'fastify';
import {
  type CompiledQuery,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import pg from 'pg';
import { PG_TYPES } from '../../src/db/postgres.js';
import type { Database, RecordTable } from '../../src/db/types.js';
import { idSpellings } from '../../src/domain/ids.js';
import { recordSorters } from '../../src/modules/records/collection.js';
import { RecordLists } from '../../src/modules/records/list.js';
import { toRecord } from '../../src/modules/records/model.js';
import { NonEmployeeRecord } from '../../src/modules/records/schemas.js';

const TENANT = 'default';
const url = process.env.DATABASE_URL!;
const postgres = /^postgres(ql)?:\/\//.test(url);
const schema = process.env.NELM_DATABASE_SCHEMA;
const pages = JSON.parse(process.env.FLOOR_PAGES ?? '[]') as [string, number][];

/** Kysely only to compile NELM's SQL: it never connects. */
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => (postgres ? new PostgresAdapter() : new SqliteAdapter()),
    createDriver: () => new DummyDriver(),
    createQueryCompiler: () => (postgres ? new PostgresQueryCompiler() : new SqliteQueryCompiler()),
    createIntrospector: (db) => (postgres ? new PostgresIntrospector(db) : new SqliteIntrospector(db)),
  },
});
const getQuery = compiler.selectFrom('records').selectAll().where('tenant_id', '=', TENANT).where('id', 'in', ['', '']).compile();
const lists = new RecordLists(compiler, TENANT, async () => []);
const pageQueries = new Map<string, CompiledQuery>();
for (const [sourceId, offset] of pages) {
  const filter = { kind: 'compare', field: 'sourceId', op: 'eq', value: sourceId } as const;
  const query = await lists.page({ filter, sorters: recordSorters('lastName'), limit: 250, offset });
  pageQueries.set(`${sourceId}@${offset}`, query!.compile());
}

/** Runs a compiled query with other parameter values; its rows. */
let rows: (query: CompiledQuery, parameters: readonly unknown[]) => Promise<RecordTable[]>;
if (postgres) {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types: PG_TYPES,
    options: `-c TimeZone=UTC -c DateStyle=ISO${schema ? ` -c search_path=${schema}` : ''}`,
  });
  const names = new Map<string, string>();
  const nameOf = (text: string) => names.get(text) ?? names.set(text, `floor_${names.size + 1}`).get(text)!;
  rows = async (query, parameters) => {
    return (await pool.query<RecordTable>({ name: nameOf(query.sql), text: query.sql, values: [...parameters] })).rows;
  };
} else {
  const db = new SqliteDatabase(url, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma(`mmap_size = ${4 * 1024 ** 3}`);
  db.pragma('query_only = ON');
  const statements = new Map<string, SqliteDatabase.Statement>();
  rows = async (query, parameters) => {
    let statement = statements.get(query.sql);
    if (!statement) {
      statement = db.prepare(query.sql);
      statements.set(query.sql, statement);
    }
    return statement.all(...parameters) as RecordTable[];
  };
}

const app = Fastify({ logger: false });
app.get('/health', async () => ({ status: 'ok' }));
app.get<{ Params: { id: string } }>('/v2024/non-employee-records/:id', { schema: { response: { 200: NonEmployeeRecord } } }, async (request, reply) => {
  const [row] = await rows(getQuery, [TENANT, ...idSpellings(request.params.id)]);
  if (!row) return reply.code(404).send({});
  return toRecord(row);
});
app.get<{ Querystring: { filters: string; offset: string } }>(
  '/v2024/non-employee-records',
  { schema: { response: { 200: Type.Array(NonEmployeeRecord) } } },
  async (request, reply) => {
    const sourceId = /"([0-9a-f-]{32,36})"/.exec(request.query.filters)?.[1];
    const query = pageQueries.get(`${sourceId}@${request.query.offset}`);
    if (!query) return reply.code(404).send({});
    return (await rows(query, query.parameters)).map(toRecord);
  },
);

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)));
