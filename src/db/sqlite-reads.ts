/**
 * Point reads on SQLite that need not wait for the event loop: the first read of an event-loop
 * turn runs at once on the server's connection, and the reads that come after it in the same turn
 * go, as one batch, to a worker thread with a connection of its own to the same file.
 *
 * Why (docs/performance.md, Records): a read is a synchronous better-sqlite3 call of 10–15 µs
 * during which the event loop does nothing else. Under load one turn reads the requests of many
 * connections; run one after another on the main thread, their reads made up a quarter of the
 * server's CPU time while the machine's other core waited. The thread reads the rest of the turn's
 * batch while the main thread goes on answering. A turn with a single read (a quiet server) never
 * pays for the hand-over, and the thread is started only when a turn first has two reads.
 *
 * What a read sees: the last committed state, as with any connection in WAL mode. A read is never
 * run on the server's connection while a transaction is open on it (it would see that
 * transaction's uncommitted writes): it goes to the thread, which sees the committed state, or,
 * without a thread, through `viaConnection`, which waits for the transaction to end. A write's
 * response is sent after its commit, so a read that comes after it always sees it.
 *
 * The thread also checkpoints the WAL (a passive checkpoint every second) while it runs, and the
 * server's connection then leaves checkpoints to it (its `wal_autocheckpoint` only a backstop, at
 * 40 MB of WAL instead of 4): a commit no longer copies the WAL into the database file on the
 * event loop.
 *
 * The thread's connection is `query_only`. If the thread fails (it could not open the file, say),
 * the reads it had not answered and all later ones run on the main thread, the server's connection
 * checkpoints again by itself, and a process warning says so.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/** The first row of a read-only statement, or undefined. */
export type ReadFirst = <R>(sql: string, parameters: readonly unknown[]) => Promise<R | undefined>;

/** Where the reads of a connection go; counted for tests and diagnostics. */
export interface ReadCounts {
  /** Run at once on the server's connection. */
  main: number;
  /** Run by the read thread. */
  thread: number;
  /** Run through `viaConnection` (a transaction was open and there is no thread). */
  queued: number;
}

export interface SqliteReadsOptions {
  /** The server's connection, and how it prepares statements (StatementCache). */
  database: SqliteDatabase.Database;
  prepare(sql: string): SqliteDatabase.Statement;
  /** A read through the connection's queue (Kysely): runs when no transaction holds it. */
  viaConnection<R>(sql: string, parameters: readonly unknown[]): Promise<R[]>;
  /** The database file for the thread's connection; undefined for no thread (`:memory:`, or turned off). */
  file: string | undefined;
  /** `mmap_size` of the thread's connection, as the server's. */
  mmapBytes: number;
  /** How often the thread checkpoints the WAL (default CHECKPOINT_MS). */
  checkpointMs?: number;
}

/** Milliseconds between two WAL checkpoints of the read thread. */
const CHECKPOINT_MS = 1000;
/** SQLite's own default of `wal_autocheckpoint`, in pages, for the server's connection when the thread does not checkpoint. */
const AUTOCHECKPOINT_PAGES = 1000;
/**
 * `wal_autocheckpoint` of the server's connection while the thread checkpoints: a backstop only
 * (40 MB of WAL with 4 KiB pages), should the thread's checkpoints not keep up or fail.
 */
const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;

interface Pending {
  sql: string;
  parameters: readonly unknown[];
  resolve(row: unknown): void;
  reject(error: Error): void;
}

/** What the thread answers for a batch: a row per read, and an error where one failed. */
interface BatchReply {
  rows: unknown[];
  errors?: ({ message: string; code?: string } | undefined)[];
}

/**
 * The thread's code, run as a CommonJS script (`eval`): it loads the same better-sqlite3 as the
 * server (its path comes in workerData), whatever loader runs the server itself.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('query_only = ON');
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
db.pragma('mmap_size = ' + workerData.mmapBytes);
// The server's connection leaves checkpoints to this thread (SqliteReads): a passive one, which
// neither waits for nor blocks anyone, every checkpointMs.
const checkpoints = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // the next one tries again; the server's connection takes over if the thread ends
  }
}, workerData.checkpointMs);
const statements = new Map();
function prepare(sql) {
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql);
    if (!statement.reader) throw new Error('the read thread runs read-only statements only');
    statements.set(sql, statement);
    if (statements.size > 100) statements.delete(statements.keys().next().value);
  }
  return statement;
}
parentPort.on('message', (batch) => {
  if (batch === null) {
    clearInterval(checkpoints);
    db.close();
    parentPort.close();
    return;
  }
  const rows = new Array(batch.length / 2);
  let errors;
  for (let i = 0; i < batch.length; i += 2) {
    try {
      rows[i / 2] = prepare(batch[i]).get(...batch[i + 1]);
    } catch (error) {
      (errors ??= [])[i / 2] = { message: String(error && error.message), code: error && error.code };
    }
  }
  parentPort.postMessage(errors === undefined ? { rows } : { rows, errors });
});
`;

/**
 * A row from the thread with its BLOBs as Buffers, as better-sqlite3 gives them on the main
 * thread: a Buffer crosses threads as a plain Uint8Array (its bytes are not copied again here).
 */
function asBuffers(row: unknown): unknown {
  if (row === null || typeof row !== 'object') return row;
  const values = row as Record<string, unknown>;
  for (const key in values) {
    const value = values[key];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) values[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return row;
}

class ReadThread {
  private readonly worker: Worker;
  /** Batches sent and not answered yet, in the order sent (the thread answers in that order). */
  private readonly inFlight: Pending[][] = [];
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  /** `onFailure` gets the reads sent and not answered: they are safe to run again elsewhere. */
  constructor(file: string, mmapBytes: number, checkpointMs: number, onFailure: (error: Error, unanswered: Pending[]) => void) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { driver, file, mmapBytes, checkpointMs }, execArgv: [] });
    // An idle thread does not keep the process alive; one with reads to answer does (send, answer).
    this.worker.unref();
    this.worker.on('message', (reply: BatchReply) => this.answer(reply));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    const fail = (error: Error) => {
      if (this.failure) return;
      this.failure = error;
      onFailure(error, this.inFlight.splice(0).flat());
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the SQLite read thread exited (code ${code})`)));
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  onOnline(listener: () => void): void {
    this.worker.once('online', listener);
  }

  send(batch: Pending[]): void {
    const message: unknown[] = [];
    for (const read of batch) message.push(read.sql, read.parameters);
    if (this.inFlight.push(batch) === 1) this.worker.ref();
    this.worker.postMessage(message);
  }

  private answer(reply: BatchReply): void {
    const batch = this.inFlight.shift();
    if (!batch) return;
    if (this.inFlight.length === 0) this.worker.unref();
    for (let i = 0; i < batch.length; i++) {
      const error = reply.errors?.[i];
      if (error) batch[i]!.reject(Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code }));
      else batch[i]!.resolve(asBuffers(reply.rows[i]));
    }
  }

  /** Lets the thread close its connection and end, after the batches already sent. */
  async close(): Promise<void> {
    if (this.failure) return;
    this.worker.postMessage(null);
    const stop = setTimeout(() => void this.worker.terminate(), 5_000);
    await this.exited;
    clearTimeout(stop);
  }
}

export class SqliteReads {
  /** Reads of the current turn after its first, for the thread. */
  private batch: Pending[] = [];
  /** Whether a read of the current turn ran on the server's connection. */
  private turnHasRead = false;
  private turnScheduled = false;
  private thread: ReadThread | undefined;
  private threadFile: string | undefined;
  private closed = false;
  readonly counts: ReadCounts = { main: 0, thread: 0, queued: 0 };

  constructor(private readonly options: SqliteReadsOptions) {
    this.threadFile = options.file;
  }

  /** The first row of a read-only statement (see the module's comment for where it runs). */
  readonly first: ReadFirst = <R>(sql: string, parameters: readonly unknown[]): Promise<R | undefined> => {
    const { database } = this.options;
    if (this.closed || !database.open) return Promise.reject(new Error('the database is closed'));
    const free = !database.inTransaction;
    if (free && (!this.turnHasRead || this.threadFile === undefined)) {
      this.turnHasRead = true;
      this.scheduleTurnEnd();
      this.counts.main++;
      try {
        return Promise.resolve(this.options.prepare(sql).get(...parameters) as R | undefined);
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    if (this.threadFile === undefined) {
      this.counts.queued++;
      return this.options.viaConnection<R>(sql, parameters).then((rows) => rows[0]);
    }
    return new Promise<R | undefined>((resolve, reject) => {
      this.batch.push({ sql, parameters, resolve: resolve as (row: unknown) => void, reject });
      this.scheduleTurnEnd();
    });
  };

  private scheduleTurnEnd(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.endTurn);
  }

  private readonly endTurn = (): void => {
    this.turnScheduled = false;
    this.turnHasRead = false;
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    const thread = this.readThread();
    if (thread) {
      this.counts.thread += batch.length;
      thread.send(batch);
      return;
    }
    this.rerun(batch);
  };

  /** Reads the thread did not answer (it failed, or there is none now): here, or after the connection's transaction. */
  private rerun(reads: Pending[]): void {
    for (const read of reads) this.first(read.sql, read.parameters).then(read.resolve, read.reject);
  }

  private readThread(): ReadThread | undefined {
    if (this.thread === undefined && this.threadFile !== undefined && !this.closed) {
      const { database } = this.options;
      this.thread = new ReadThread(this.threadFile, this.options.mmapBytes, this.options.checkpointMs ?? CHECKPOINT_MS, (error, unanswered) => {
        this.threadFile = undefined;
        if (database.open) database.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
        if (!this.closed) process.emitWarning(`SQLite reads continue on the main thread: ${error.message}`, { code: 'NELM_SQLITE_READ_THREAD' });
        this.rerun(unanswered);
      });
      // While the thread runs, it checkpoints: a commit on the server's connection no longer
      // copies the WAL into the database file on the event loop (~50 ms after a 20,000-row import),
      // but for the backstop.
      this.thread.onOnline(() => {
        if (database.open && !this.thread?.failed) database.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
      });
    }
    return this.thread?.failed ? undefined : this.thread;
  }

  /** Ends the thread after the reads already sent; reads still waiting for the turn's end fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const read of this.batch.splice(0)) read.reject(new Error('the database is closed'));
    await this.thread?.close();
  }
}
