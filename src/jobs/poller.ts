/**
 * The job runner's loop: calls `tick` until it reports no more work, then sleeps for `idleMs` or
 * until `wake()` is called (a request that just queued work wakes it at once). One tick runs at a
 * time, with a turn of the event loop between two (other requests are answered between them). The
 * work itself lives in the database (durable jobs, the notification outbox), claimed by the tick in
 * a transaction, so any number of processes may poll the same database.
 */
export interface PollerOptions {
  name: string;
  /** Does one unit of work; resolves true if it did something (and there may be more). */
  tick: () => Promise<boolean>;
  idleMs?: number;
  onError?: (error: unknown) => void;
}

export class Poller {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** Woken during a tick: the next tick runs without the idle wait. */
  private woken = false;

  constructor(private readonly options: PollerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Whether its loop runs (between `start` and `stop`). */
  get isRunning(): boolean {
    return this.running;
  }

  /** Runs the next tick now instead of after the idle wait (after the tick in progress, if any). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops after the tick in progress, if any. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** Runs ticks until there is no more work (tests and the CLI use it to drain). */
  async drain(): Promise<void> {
    while (await this.options.tick()) {
      // keep going
    }
  }

  private async run(): Promise<void> {
    const idleMs = this.options.idleMs ?? 1000;
    while (this.running) {
      let busy = false;
      this.woken = false;
      try {
        busy = await this.options.tick();
      } catch (error) {
        this.options.onError?.(error);
      }
      // A tick whose queries never wait (SQLite's are synchronous) resolves without a turn of the
      // event loop: ticks run back to back would hold it for as long as there is work.
      if (busy || this.woken) await new Promise<void>((resolve) => setImmediate(resolve));
      if (busy || this.woken || !this.running) continue;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.timer = setTimeout(resolve, idleMs);
        this.timer.unref();
      });
      clearTimeout(this.timer);
      this.wakeUp = undefined;
    }
  }
}
