/**
 * `nelm backup FILE` and `nelm restore FILE` on the configured database
 * (docs/operations.md#backup-and-restore). A backup reads while the server runs; a restore needs an
 * empty database, and no server starts on it until the restore ends. Exit codes: 0 done, 1
 * failure, 2 usage.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config/config.js';
import { openDatabase } from '../db/open.js';
import { restoreBackup, writeBackup } from '../modules/backup/service.js';

export const BACKUP_USAGE = `backup FILE                             write a consistent snapshot of the whole database to FILE
                                          (gzip'd JSON lines), also while the server runs
  restore FILE                            load a backup into an empty database (either engine)`;

/** Runs `backup` or `restore` with its arguments; throws `usage` for bad ones. */
export async function runBackupCommand(command: 'backup' | 'restore', args: string[], config: Config, usage: (text: string) => Error): Promise<number> {
  const [file, ...extra] = args;
  if (!file || extra.length > 0 || file.startsWith('-')) throw usage(`${command} takes one argument: the backup file`);
  if (command === 'restore' && !existsSync(file)) throw new Error(`no file ${file}`);
  // A restore owns a SQLite file as a server does: a server cannot start on it meanwhile.
  const db = await openDatabase(config, command === 'backup' ? { mustExist: true } : { exclusive: true });
  process.stderr.write(`nelm: database: ${db.description}\n`);
  try {
    const summary = command === 'backup' ? await writeBackup(db, file) : await restoreBackup(db, file);
    const verb = command === 'backup' ? 'backed up' : 'restored';
    process.stdout.write(
      `${verb}: ${summary.rows} rows of ${summary.tables} tables (schema ${summary.migration}) ${command === 'backup' ? 'to' : 'from'} ${file}\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
