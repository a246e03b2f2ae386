import type SqliteDatabase from 'better-sqlite3';
import type { QueryResult } from 'kysely';

export declare const STATEMENTS_KEPT: number;

export declare function connect(file: string, readOnly: boolean): SqliteDatabase.Database;

export declare class StatementCache {
  readonly connection: SqliteDatabase.Database;
  constructor(connection: SqliteDatabase.Database, capacity?: number);
  get size(): number;
  prepare(text: string): SqliteDatabase.Statement;
  close(): void;
}

export declare function runStatement<R>(statement: SqliteDatabase.Statement, parameters: readonly unknown[]): QueryResult<R>;
