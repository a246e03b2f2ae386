/**
 * Opens the database named by the configuration: an embedded SQLite file (default) or PostgreSQL.
 * Engine differences in what rows look like are normalised here, once:
 * - PostgreSQL timestamptz values arrive as ISO 8601 strings, like the TEXT timestamps of SQLite;
 * - PostgreSQL bigint counts arrive as numbers.
 */
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Config, Engine } from '../config/config.js';
import type { Database } from './types.js';

export interface Db {
  kysely: Kysely<Database>;
  engine: Engine;
  /** The PostgreSQL schema in use, when not the default one. */
  schema?: string | undefined;
  close(): Promise<void>;
}

const PG_TIMESTAMPTZ = 1184;
const PG_TIMESTAMP = 1114;
const PG_INT8 = 20;

function pgTypes(): pg.CustomTypesConfig {
  const toIso = (text: string) => new Date(text.includes('+') || text.endsWith('Z') ? text : `${text}Z`).toISOString();
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === PG_TIMESTAMPTZ || oid === PG_TIMESTAMP) return (v: string) => toIso(v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
      if (oid === PG_INT8) return (v: string) => Number(v);
      return pg.types.getTypeParser(oid, format);
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

async function ensurePgSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await client.end();
  }
}

export async function openDatabase(config: Pick<Config, 'engine' | 'databaseUrl' | 'databaseSchema'>): Promise<Db> {
  if (config.engine === 'postgres') {
    if (config.databaseSchema) await ensurePgSchema(config.databaseUrl, config.databaseSchema);
    const searchPath = config.databaseSchema ? ` -c search_path=${config.databaseSchema}` : '';
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: 10,
      types: pgTypes(),
      options: `-c TimeZone=UTC${searchPath}`,
    });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { kysely, engine: 'postgres', schema: config.databaseSchema, close: () => kysely.destroy() };
  }

  const file = config.databaseUrl;
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new SqliteDatabase(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return { kysely, engine: 'sqlite', close: () => kysely.destroy() };
}

/** A JSON column as an object: TEXT in SQLite, already parsed jsonb in PostgreSQL. */
export function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
