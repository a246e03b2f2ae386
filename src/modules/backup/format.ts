/**
 * The backup file (docs/operations.md#backup-and-restore): gzip'd JSON lines.
 *
 *   {"format":"nelm-backup","version":1,"migration":…,"engine":…,"created":…,"tables":[{"name","columns","rows"}…]}
 *   {"table":"tenants"}              then one JSON array a row, values in the order of `columns`
 *   [ … ]
 *   {"table":"identities"}
 *   …
 *   {"end":true,"rows":N}            the total: a file without it is incomplete
 *
 * Values: text, numbers, null; timestamps as ISO 8601 text; JSON columns as their text; 0/1 for
 * booleans; bytes as {"base64": …}.
 */

export const BACKUP_FORMAT = 'nelm-backup';
export const BACKUP_VERSION = 1;

export interface TableHeader {
  name: string;
  columns: string[];
  rows: number;
}

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  /** The last migration the database had applied: the schema the rows fit. */
  migration: string;
  /** The engine the backup was read from (for people; a restore takes either). */
  engine: string;
  /** When the snapshot was read, ISO 8601. */
  created: string;
  tables: TableHeader[];
}

/** A backup that cannot be restored, and why, for people. */
export class BackupFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupFileError';
  }
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** The first line of a backup, checked: a backup of this format and version, whole. */
export function parseHeader(line: string | undefined, knownMigrations: readonly string[]): BackupHeader {
  let header: Partial<BackupHeader> | undefined;
  try {
    header = line === undefined ? undefined : (JSON.parse(line) as Partial<BackupHeader>);
  } catch {
    header = undefined;
  }
  if (!header || header.format !== BACKUP_FORMAT) throw new BackupFileError('not a nelm backup (its first line is not a nelm-backup header)');
  if (header.version !== BACKUP_VERSION)
    throw new BackupFileError(`backup format version ${String(header.version)} is not one this version reads (${BACKUP_VERSION})`);
  if (typeof header.migration !== 'string' || !knownMigrations.includes(header.migration)) {
    throw new BackupFileError(
      `the backup's schema (migration ${String(header.migration)}) is not one this version knows; restore it with the version that wrote it, or a later one`,
    );
  }
  const tables = header.tables;
  if (!Array.isArray(tables) || !tables.every((t) => typeof t?.name === 'string' && isStrings(t.columns) && Number.isInteger(t.rows))) {
    throw new BackupFileError('the backup header has no valid table list');
  }
  return header as BackupHeader;
}
