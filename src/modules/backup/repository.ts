/** All SQL of backup and restore: any table's columns, rows by pages of its key, counts, inserts. */
import { sql } from 'kysely';
import type { Exec } from '../../db/dialect.js';

/** Parameters per INSERT: under SQLite's 32,766 and PostgreSQL's 65,535. */
const INSERT_PARAMETERS = 10_000;

type Row = Record<string, unknown>;

const refs = (columns: readonly string[]) => sql.join(columns.map((c) => sql.ref(c)));

export class BackupRepository {
  /** The columns of each table of the database, in their stored order. */
  async columns(db: Exec): Promise<Map<string, string[]>> {
    const tables = await db.introspection.getTables();
    return new Map(tables.map((t) => [t.name, t.columns.map((c) => c.name)]));
  }

  async count(db: Exec, table: string): Promise<number> {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Up to `limit` rows of `table` after the key `after` (from the first without it), in key order:
   * a row-value comparison that both engines answer from the primary key's index.
   */
  async page(
    db: Exec,
    table: string,
    columns: readonly string[],
    key: readonly string[],
    after: readonly unknown[] | undefined,
    limit: number,
  ): Promise<Row[]> {
    const where = after ? sql`where (${refs(key)}) > (${sql.join(after.map((v) => sql`${v}`))})` : sql``;
    const { rows } = await sql<Row>`select ${refs(columns)} from ${sql.table(table)} ${where} order by ${refs(key)} limit ${limit}`.execute(db);
    return rows;
  }

  /** Inserts `rows` (values in the order of `columns`) into `table`, in statements of a bounded size. */
  async insert(db: Exec, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    const perStatement = Math.max(1, Math.floor(INSERT_PARAMETERS / Math.max(1, columns.length)));
    for (let i = 0; i < rows.length; i += perStatement) {
      const values = rows.slice(i, i + perStatement).map((row) => sql`(${sql.join(row.map((v) => sql`${v}`))})`);
      await sql`insert into ${sql.table(table)} (${refs(columns)}) values ${sql.join(values)}`.execute(db);
    }
  }
}
