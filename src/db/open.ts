/** Opens the database the configuration names: the SQLite file (default) or PostgreSQL. */
import type { Config } from '../config/config.js';
import type { Db } from './dialect.js';
import { openPostgres } from './postgres.js';
import { openSqlite, type SqliteOptions } from './sqlite.js';

export type DatabaseConfig = Pick<Config, 'engine' | 'databaseUrl' | 'databaseSchema'> & Partial<Pick<Config, 'pgPreparedStatements'>>;

/**
 * @param options SQLite only: `exclusive` for the server (one server process owns a file),
 *   `mustExist` for commands that only read (they do not create a database)
 */
export async function openDatabase(config: DatabaseConfig, options: SqliteOptions = {}): Promise<Db> {
  if (config.engine === 'postgres') return openPostgres(config.databaseUrl, { schema: config.databaseSchema, prepared: config.pgPreparedStatements });
  return openSqlite(config.databaseUrl, options);
}
