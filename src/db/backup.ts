/**
 * The engine side of `nelm backup` and `nelm restore` (docs/operations.md#backup-and-restore): the
 * tables a backup holds, in an order that satisfies their foreign keys, each with the key that
 * orders its rows; the consistent read a backup runs in; how values are written to and read from
 * a backup so that both engines give and take the same text; the sequences PostgreSQL keeps.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Db } from './dialect.js';
import type { Database } from './types.js';

export interface BackupTable {
  name: string;
  /** The primary key: the order of the rows in a backup, and the key of the reads by page. */
  key: readonly string[];
}

/**
 * Every table the migrations create, parents before children. Left out: `sessions` (people sign
 * in again after a restore; a session names the process's cookies, not data), `rate_limits`
 * (counters of the current window, not data) and the migrator's own tables (`kysely_migration*`:
 * the backup names its migration level instead).
 */
export const BACKUP_TABLES: readonly BackupTable[] = [
  { name: 'tenants', key: ['id'] },
  { name: 'identities', key: ['tenant_id', 'id'] },
  { name: 'api_clients', key: ['tenant_id', 'client_id'] },
  { name: 'identity_passwords', key: ['tenant_id', 'identity_id'] },
  { name: 'identity_totp', key: ['tenant_id', 'identity_id'] },
  { name: 'signing_keys', key: ['kid'] },
  { name: 'workgroups', key: ['tenant_id', 'id'] },
  { name: 'workgroup_members', key: ['tenant_id', 'workgroup_id', 'identity_id'] },
  { name: 'sources', key: ['tenant_id', 'id'] },
  { name: 'source_members', key: ['tenant_id', 'source_id', 'role', 'position'] },
  { name: 'schema_attributes', key: ['tenant_id', 'id'] },
  { name: 'records', key: ['tenant_id', 'id'] },
  { name: 'requests', key: ['tenant_id', 'id'] },
  { name: 'approval_items', key: ['tenant_id', 'id'] },
  { name: 'notifications', key: ['tenant_id', 'id'] },
  { name: 'bulk_jobs', key: ['seq'] },
  { name: 'bulk_job_parts', key: ['job_seq', 'part'] },
  { name: 'bulk_job_errors', key: ['tenant_id', 'job_id', 'position'] },
  { name: 'events', key: ['tenant_id', 'seq'] },
  { name: 'event_chains', key: ['tenant_id'] },
  { name: 'event_consumers', key: ['name'] },
  { name: 'event_cursors', key: ['tenant_id', 'consumer'] },
  { name: 'webhooks', key: ['tenant_id', 'id'] },
  { name: 'webhook_deliveries', key: ['seq'] },
  { name: 'webhook_attempts', key: ['tenant_id', 'delivery_id', 'number'] },
  { name: 'lifecycle_policies', key: ['tenant_id', 'source_id'] },
  { name: 'lifecycle_due', key: ['tenant_id', 'kind', 'target_id'] },
  { name: 'lifecycle_done', key: ['tenant_id', 'kind', 'target_id', 'basis', 'step'] },
  { name: 'lifecycle_digests', key: ['tenant_id', 'recipient_id', 'day'] },
  { name: 'lifecycle_digest_lines', key: ['tenant_id', 'recipient_id', 'day', 'record_id', 'step'] },
  { name: 'export_ticks', key: ['tick'] },
  { name: 'export_tick_sources', key: ['tick', 'source_id'] },
];

/** Tables of a migrated database that a backup leaves out on purpose. */
export const TABLES_LEFT_OUT: readonly string[] = ['sessions', 'rate_limits'];

/** The tables of the database (the migrator's aside), for the check that the list above is whole. */
export async function databaseTables(db: Db): Promise<string[]> {
  const tables = await db.kysely.introspection.getTables();
  return tables.map((t) => t.name).filter((name) => !name.startsWith('kysely_migration'));
}

/**
 * Runs `work` in a transaction that reads one state of the database while others write: on
 * PostgreSQL `REPEATABLE READ READ ONLY` (one snapshot for every statement); on SQLite a deferred
 * transaction that only reads, which keeps the WAL snapshot its first read took and blocks no
 * writer (the server's, in another process).
 */
export async function inSnapshot<T>(db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  const begin = db.kysely.transaction();
  return db.engine === 'postgres' ? begin.setIsolationLevel('repeatable read').setAccessMode('read only').execute(work) : begin.execute(work);
}

/**
 * A stored value as a backup writes it: bytes (bytea, blob) as `{"base64": …}`; bigints as
 * numbers; everything else as the engine's shared shape gives it (src/db/postgres.ts): timestamps
 * and JSON columns as text, booleans as 0/1.
 */
export function backupValue(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') };
  if (typeof value === 'bigint') return Number(value);
  return value;
}

/** A value of a backup as the engine stores it (the inverse of `backupValue`). */
export function storedValue(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { base64?: unknown }).base64 === 'string') {
    return Buffer.from((value as { base64: string }).base64, 'base64');
  }
  return value;
}

/**
 * After a restore, in its transaction: PostgreSQL's sequences (the `bigserial` keys) continue
 * after the highest key restored. SQLite's AUTOINCREMENT keys follow the rows written already.
 */
export async function continueSequences(trx: Kysely<Database>, db: Db): Promise<void> {
  if (db.engine !== 'postgres') return;
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = current_schema() and column_default like 'nextval(%'`.execute(trx);
  for (const { table_name: table, column_name: column } of rows) {
    await sql`select setval(pg_get_serial_sequence(${table}, ${column}),
      coalesce((select max(${sql.ref(column)}) from ${sql.table(table)}), 0) + 1, false)`.execute(trx);
  }
}

/** The names of the migrations the database has applied, in order (none for a new database). */
export async function appliedMigrations(exec: Kysely<Database>, db: Db): Promise<string[]> {
  const tables = await databaseTablesOf(exec, db);
  if (!tables.includes('kysely_migration')) return [];
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(exec);
  return rows.map((r) => r.name);
}

async function databaseTablesOf(exec: Kysely<Database>, db: Db): Promise<string[]> {
  const { rows } =
    db.engine === 'postgres'
      ? await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(exec)
      : await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(exec);
  return rows.map((r) => r.name);
}
