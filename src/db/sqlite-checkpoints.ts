/**
 * Checkpoints of the SQLite write-ahead log on a worker thread (sqlite-checkpointer.ts), never on
 * the write connection: see src/db/sqlite.ts. Should the worker fail, the write connection
 * checkpoints as SQLite does by default (every 1,000 pages of log, at a commit).
 */
import { Worker } from 'node:worker_threads';

/** The longest a write waits for the checkpoint that copies it into the file. */
const CHECKPOINT_MS = 500;

/** The worker's module, beside this one (copied into the build as it is). */
const WORKER = new URL('./sqlite-checkpointer.js', import.meta.url);

/** Tells the checkpoint worker of writes; started at the first one. */
export class Checkpoints {
  private worker: Worker | undefined;
  private failed = false;

  /** `autocheckpoint` sets the write connection's own checkpoints (SQLite's `wal_autocheckpoint`; it starts at 0, none). */
  constructor(
    private readonly file: string,
    private readonly autocheckpoint: (pages: number) => void,
  ) {}

  /** After a write that may have added to the log. */
  wrote(): void {
    if (this.failed) return;
    if (!this.worker) {
      this.worker = new Worker(WORKER, { workerData: { file: this.file, delay: CHECKPOINT_MS } });
      this.worker.unref();
      this.worker.on('error', () => this.fallBack());
      this.worker.on('exit', () => this.fallBack());
    }
    this.worker.postMessage(0);
  }

  private fallBack(): void {
    if (this.failed) return;
    this.failed = true;
    this.worker = undefined;
    this.autocheckpoint(1000);
  }

  /** Stops the worker (its connection closes with it). */
  stop(): void {
    this.failed = true;
    void this.worker?.terminate();
    this.worker = undefined;
  }
}
