/**
 * The SQLite checkpoint worker (started by sqlite-checkpoints.ts): a connection of its own to the
 * file that, once told of a write, runs a PASSIVE checkpoint (which neither waits for nor blocks
 * readers and the writer) within `delay` ms. A checkpoint that fails (the disk full, say) is run
 * again after the next write.
 *
 * Plain JavaScript: a worker thread does not load TypeScript through the loader of the process
 * that starts it, so this module is run as it is, from the sources and from the build alike.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';

/** @type {{ file: string, delay: number }} */
const { file, delay } = workerData;
const connection = new SqliteDatabase(file, { fileMustExist: true });
connection.pragma('busy_timeout = 5000');
let due = false;
parentPort?.on('message', () => {
  if (due) return;
  due = true;
  setTimeout(() => {
    due = false;
    try {
      connection.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Copied at the checkpoint after the next write.
    }
  }, delay);
});
