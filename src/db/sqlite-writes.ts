/**
 * The main thread's side of the SQLite write connection, which lives on a worker thread of its own
 * (sqlite-writer.js): each call sends one message and resolves with its answer, in the order sent.
 * Who may send what when (one transaction or write at a time) is src/db/sqlite.ts's to decide.
 */
import { Worker } from 'node:worker_threads';
import type { QueryResult } from 'kysely';

/** The worker's module, beside this one (copied into the build as it is). */
const WORKER = new URL('./sqlite-writer.js', import.meta.url);

/** A statement of a transaction that SQLite already rolled back after an error of an earlier statement. */
export class TransactionLostError extends Error {
  readonly code = 'SQLITE_ABORT';
  constructor() {
    super('SQLite rolled the transaction back after an earlier statement failed (see that error); nothing of it was written');
    this.name = 'TransactionLostError';
  }
}

type Message =
  | { kind: 'run'; sql: string; parameters: readonly unknown[]; inTransaction: boolean }
  | { kind: 'begin' | 'commit' | 'rollback' | 'close' | 'ping' }
  | { kind: 'autocheckpoint'; pages: number };

type Answer = { id: number; result?: unknown; error?: { name: string; message: string; code?: string } };

/** An error of the writer thread as SQLite raised it there: its message and code (what `src/db/errors.ts` reads). */
function raised({ name, message, code }: NonNullable<Answer['error']>): Error {
  if (name === 'TransactionLostError') return new TransactionLostError();
  return Object.assign(new Error(message), { name, code });
}

export class WriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private lastId = 0;
  /** Why the thread can take no more messages, once it cannot. */
  private ended: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(file: string) {
    this.worker = new Worker(WORKER, { workerData: { file } });
    // Kept alive only while an answer is awaited: an open database does not keep a process running.
    this.worker.unref();
    this.worker.on('message', (answer: Answer) => {
      const call = this.pending.get(answer.id);
      if (!call) return;
      this.pending.delete(answer.id);
      if (this.pending.size === 0) this.worker.unref();
      if (answer.error) call.reject(raised(answer.error));
      else call.resolve(answer.result);
    });
    this.worker.on('error', (error) => this.end(error));
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', () => {
        this.end(new Error('the SQLite write connection is closed'));
        resolve();
      });
    });
  }

  private end(reason: Error): void {
    this.ended ??= reason;
    for (const call of this.pending.values()) call.reject(this.ended);
    this.pending.clear();
  }

  private send<R>(message: Message): Promise<R> {
    if (this.ended) return Promise.reject(this.ended);
    const id = ++this.lastId;
    if (this.pending.size === 0) this.worker.ref();
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  async run<R>(sql: string, parameters: readonly unknown[], inTransaction: boolean): Promise<QueryResult<R>> {
    const result = await this.send<QueryResult<R>>({ kind: 'run', sql, parameters, inTransaction });
    for (const row of result.rows as Record<string, unknown>[]) {
      for (const key in row) {
        const value = row[key];
        // A BLOB crosses the thread as a Uint8Array: a Buffer again (no copy), as the read connection gives it.
        if (value instanceof Uint8Array && !Buffer.isBuffer(value)) row[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      }
    }
    return result;
  }

  begin(): Promise<void> {
    return this.send({ kind: 'begin' });
  }

  commit(): Promise<void> {
    return this.send({ kind: 'commit' });
  }

  /** Rolls back the transaction in progress, if SQLite has not ended it already. */
  rollback(): Promise<void> {
    return this.send({ kind: 'rollback' });
  }

  /** SQLite checkpoints on the write connection at a commit once the log holds `pages` pages (0: never). */
  autocheckpoint(pages: number): void {
    this.send({ kind: 'autocheckpoint', pages }).catch(() => {});
  }

  /** Answered once the thread has run what was sent before; rejects once the thread has ended. */
  async ping(): Promise<void> {
    await this.send({ kind: 'ping' });
  }

  /** Closes the connection once what was sent before has run, and waits for the thread to end. */
  async close(): Promise<void> {
    if (!this.ended) await this.send({ kind: 'close' }).catch(() => {});
    this.worker.ref();
    await this.exited;
  }

  /** Ends the thread at once (the connection closes with it). */
  terminate(): void {
    void this.worker.terminate();
  }
}
