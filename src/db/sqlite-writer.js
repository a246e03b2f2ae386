/**
 * The SQLite write connection's thread (started by src/db/sqlite.ts, which decides what runs here
 * and when): it opens the file for writing and runs what it is sent, one message at a time, in
 * order. A statement, a BEGIN or a COMMIT of a large transaction takes as long here as anywhere,
 * but holds up only the writes queued behind it, never the event loop that answers requests.
 *
 * Messages: `{ id, kind: 'run', sql, parameters, inTransaction }`, `{ id, kind: 'begin' | 'commit'
 * | 'rollback' | 'ping' }`, `{ id, kind: 'autocheckpoint', pages }`, `{ id, kind: 'close' }`; each is
 * answered `{ id, result }` or `{ id, error: { name, message, code } }`.
 *
 * Plain JavaScript: a worker thread does not load TypeScript through the loader of the process
 * that starts it, so this module is run as it is, from the sources and from the build alike.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { yieldToMainThread } from '../runtime/thread-priority.js';
import { connect, runStatement, StatementCache } from './sqlite-connection.js';

/** @type {{ file: string }} */
const { file } = workerData;
// Writes of bulk jobs can keep this thread busy for seconds: requests on the main thread go first.
yieldToMainThread();
const writer = new StatementCache(connect(file, false));
// Checkpoints run on a thread of their own (sqlite-checkpoints.ts) until it says otherwise.
writer.connection.pragma('wal_autocheckpoint = 0');

function handle(message) {
  switch (message.kind) {
    case 'run':
      // SQLite ends a transaction by itself on some errors (SQLITE_FULL, SQLITE_IOERR, …): a
      // statement run after that would commit on its own, outside the transaction the caller holds.
      if (message.inTransaction && !writer.connection.inTransaction) {
        throw Object.assign(new Error('lost'), { name: 'TransactionLostError' });
      }
      return runStatement(writer.prepare(message.sql), message.parameters);
    case 'begin':
    case 'commit':
      writer.connection.exec(message.kind);
      return undefined;
    case 'rollback':
      if (writer.connection.inTransaction) writer.connection.exec('rollback');
      return undefined;
    case 'autocheckpoint':
      writer.connection.pragma(`wal_autocheckpoint = ${Number(message.pages)}`);
      return undefined;
    case 'close':
      writer.close();
      return undefined;
    case 'ping':
      return undefined;
    default:
      throw new Error(`unknown message ${message.kind}`);
  }
}

parentPort?.on('message', (message) => {
  try {
    parentPort?.postMessage({ id: message.id, result: handle(message) });
  } catch (error) {
    const { name, message: text, code } = /** @type {Error & { code?: string }} */ (error);
    parentPort?.postMessage({ id: message.id, error: { name, message: text, code } });
  }
  // Closed, the thread ends: nothing else keeps it.
  if (message.kind === 'close') parentPort?.close();
});
