/**
 * `nelm backup` and `nelm restore` (docs/operations.md#backup-and-restore). A backup reads every
 * table in one snapshot (src/db/backup.ts: `inSnapshot`), a page of rows at a time by the table's
 * key, and streams them through gzip to a temporary file renamed when complete: memory stays flat
 * whatever the size of the database. A restore checks that the database holds no data, migrates
 * it to the backup's migration level, loads every row in one transaction (nothing is written
 * unless all of it is), then applies the migrations that came after: all of it alone on the
 * database, as a server's start is (PostgreSQL: the start's advisory lock, `Db.exclusively`;
 * SQLite: the caller opens the file as its owner, the lock a server takes).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { access, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { appliedMigrations, BACKUP_TABLES, backupValue, continueSequences, inSnapshot, storedValue, TABLES_LEFT_OUT } from '../../db/backup.js';
import type { Db } from '../../db/dialect.js';
import { migrateToLatest, migrationNames, migrator } from '../../db/migrate.js';
import { nowIso } from '../../domain/ids.js';
import { BACKUP_FORMAT, BACKUP_VERSION, type BackupHeader, BackupFileError, parseHeader, type TableHeader } from './format.js';
import { BackupRepository } from './repository.js';

/** Rows read at once by a backup. */
const PAGE = 1000;
/** Rows inserted at once by a restore. */
const BATCH = 1000;

export interface BackupSummary {
  migration: string;
  tables: number;
  rows: number;
}

const repo = new BackupRepository();

/** Writes a backup of `db` to `file` (replaced only once the backup is complete). */
export async function writeBackup(db: Db, file: string): Promise<BackupSummary> {
  const temporary = `${file}.${process.pid}.partial`;
  try {
    const summary = await inSnapshot(db, async (trx) => {
      const applied = await appliedMigrations(trx, db);
      const migration = applied.at(-1);
      if (!migration) throw new BackupFileError('the database has no schema yet: nothing to back up');
      const columnsOf = await repo.columns(trx);
      const tables: TableHeader[] = [];
      for (const { name } of BACKUP_TABLES) {
        const columns = columnsOf.get(name);
        if (columns) tables.push({ name, columns, rows: await repo.count(trx, name) });
      }
      const header: BackupHeader = { format: BACKUP_FORMAT, version: BACKUP_VERSION, migration, engine: db.engine, created: nowIso(), tables };
      let total = 0;
      async function* lines(): AsyncGenerator<string> {
        yield `${JSON.stringify(header)}\n`;
        for (const table of tables) {
          yield `${JSON.stringify({ table: table.name })}\n`;
          const key = BACKUP_TABLES.find((t) => t.name === table.name)!.key;
          let after: unknown[] | undefined;
          for (;;) {
            const rows = await repo.page(trx, table.name, table.columns, key, after, PAGE);
            let chunk = '';
            for (const row of rows) chunk += `${JSON.stringify(table.columns.map((c) => backupValue(row[c])))}\n`;
            total += rows.length;
            if (chunk) yield chunk;
            if (rows.length < PAGE) break;
            const last = rows[rows.length - 1]!;
            after = key.map((k) => last[k]);
          }
        }
        yield `${JSON.stringify({ end: true, rows: total })}\n`;
      }
      await pipeline(Readable.from(lines()), createGzip(), createWriteStream(temporary));
      return { migration, tables: tables.length, rows: total };
    });
    await rename(temporary, file);
    return summary;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The lines of a gzip'd file, one at a time. */
function readLines(file: string): AsyncIterableIterator<string> {
  const gunzip = createGunzip();
  const input = createReadStream(file)
    .on('error', (error) => gunzip.destroy(error))
    .pipe(gunzip);
  return createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })[Symbol.asyncIterator]();
}

/**
 * Loads the backup `file` into `db`, which must hold no data (a new database, or only migrated).
 * A server starting meanwhile waits for the restore (PostgreSQL), or is refused (SQLite, opened
 * by the caller with `exclusive`); a refused restore leaves the database as it was.
 */
export async function restoreBackup(db: Db, file: string): Promise<BackupSummary> {
  await access(file);
  return db.exclusively(() => restoreAlone(db, file));
}

/** Throws when a table of the database holds rows (only the tables that exist: a new database has none). */
async function refuseData(db: Db): Promise<void> {
  const columnsOf = await repo.columns(db.kysely);
  for (const name of [...BACKUP_TABLES.map((t) => t.name), ...TABLES_LEFT_OUT]) {
    if (!columnsOf.has(name)) continue;
    const rows = await repo.count(db.kysely, name);
    if (rows > 0) throw new BackupFileError(`the database is not empty (${name} holds ${rows} rows): restore into a new, empty database`);
  }
}

async function restoreAlone(db: Db, file: string): Promise<BackupSummary> {
  // The header is read first, so that a file that is not gzip or not a backup fails before the database changes.
  const lines = readLines(file);
  const next = async (): Promise<string | undefined> => {
    try {
      const { value, done } = await lines.next();
      return done ? undefined : value;
    } catch (error) {
      throw new BackupFileError(`the file cannot be read as a gzip'd backup: ${(error as Error).message}`);
    }
  };
  const known = migrationNames();
  const header = parseHeader(await next(), known);
  const applied = await appliedMigrations(db.kysely, db);
  const level = known.indexOf(header.migration);
  if (applied.some((name) => known.indexOf(name) > level)) {
    throw new BackupFileError(`the database is migrated past the backup's schema (${header.migration}): restore into a new, empty database`);
  }
  // Before any migration: a refused restore leaves the schema of a database that holds data as it was.
  await refuseData(db);
  const moved = await migrator(db.kysely, db.engine, db.schema).migrateTo(header.migration);
  if (moved.error) throw moved.error;
  const columnsOf = await repo.columns(db.kysely);
  for (const table of header.tables) {
    const columns = columnsOf.get(table.name);
    if (!columns || !BACKUP_TABLES.some((t) => t.name === table.name))
      throw new BackupFileError(`the backup holds a table this version does not have: ${table.name}`);
    const unknown = table.columns.filter((c) => !columns.includes(c));
    if (unknown.length > 0) throw new BackupFileError(`the backup's table ${table.name} has columns this schema lacks: ${unknown.join(', ')}`);
  }
  let total = 0;
  await db.kysely.transaction().execute(async (trx) => {
    for (const table of header.tables) {
      const line = await next();
      if (line !== JSON.stringify({ table: table.name }))
        throw new BackupFileError(`the backup is incomplete or damaged: table ${table.name} expected, found ${line?.slice(0, 60) ?? 'the end of the file'}`);
      let batch: unknown[][] = [];
      let count = 0;
      for (let n = 0; n < table.rows; n++) {
        const row = parseRow(await next(), table);
        batch.push(row.map(storedValue));
        if (batch.length >= BATCH) {
          await repo.insert(trx, table.name, table.columns, batch);
          count += batch.length;
          batch = [];
        }
      }
      if (batch.length > 0) await repo.insert(trx, table.name, table.columns, batch);
      total += count + batch.length;
    }
    const end = await next();
    if (end !== JSON.stringify({ end: true, rows: total }))
      throw new BackupFileError('the backup is incomplete or damaged: its last line is not the end it announces');
    await continueSequences(trx, db);
  });
  await migrateToLatest(db.kysely, db.engine, db.schema);
  return { migration: header.migration, tables: header.tables.length, rows: total };
}

function parseRow(line: string | undefined, table: TableHeader): unknown[] {
  let row: unknown;
  try {
    row = line === undefined ? undefined : JSON.parse(line);
  } catch {
    row = undefined;
  }
  if (!Array.isArray(row) || row.length !== table.columns.length) {
    throw new BackupFileError(`the backup is incomplete or damaged: a row of ${table.name} expected, found ${line?.slice(0, 60) ?? 'the end of the file'}`);
  }
  return row;
}
