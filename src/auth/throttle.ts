/**
 * Defences of authentication against guessing and flooding, per process:
 * - `FailureThrottle` counts failures per key (a client id, an address) and, from a threshold on,
 *   locks the key for a time that doubles with each further failure, up to a ceiling. A key's
 *   count is forgotten a while after its last failure, or at once after a success.
 * - `Lane` runs at most `limit` tasks at once and queues a bounded number more: client secret
 *   checks are memory-hard (scrypt, ~50 ms and 32 MiB each) and run on libuv's small thread pool,
 *   so a flood of them must not take every thread.
 */

export interface ThrottleOptions {
  /** Failures before the first lock. */
  threshold: number;
  /** The first lock; each further failure doubles it. */
  baseMs: number;
  maxMs: number;
  /** A key's failures are forgotten this long after its last one. */
  forgetMs: number;
  /** Keys remembered at most (the least recently failed go first). */
  maxKeys: number;
}

interface Failures {
  count: number;
  last: number;
  lockedUntil: number;
}

export class FailureThrottle {
  private readonly keys = new Map<string, Failures>();

  constructor(
    readonly options: ThrottleOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it is not locked. */
  wait(key: string): number {
    const entry = this.keys.get(key);
    return entry ? Math.max(0, entry.lockedUntil - this.now()) : 0;
  }

  /** Whether `key` failed recently (its attempts are then checked apart from everyone else's). */
  suspect(key: string): boolean {
    const entry = this.keys.get(key);
    return entry !== undefined && this.now() - entry.last < this.options.forgetMs;
  }

  /** Counts a failure of `key`; returns the lock it now has, in milliseconds (0: none). */
  failed(key: string): number {
    const now = this.now();
    const { threshold, baseMs, maxMs, forgetMs, maxKeys } = this.options;
    let entry = this.keys.get(key);
    if (entry && now - entry.last >= forgetMs) entry = undefined;
    this.keys.delete(key);
    entry ??= { count: 0, last: now, lockedUntil: 0 };
    entry.count++;
    entry.last = now;
    const lock = entry.count < threshold ? 0 : Math.min(maxMs, baseMs * 2 ** Math.min(entry.count - threshold, 30));
    entry.lockedUntil = now + lock;
    this.keys.set(key, entry);
    if (this.keys.size > maxKeys) this.keys.delete(this.keys.keys().next().value!);
    return lock;
  }

  succeeded(key: string): void {
    this.keys.delete(key);
  }
}

/** A lane's queue is full: the caller is told to come back (429). */
export class LaneBusyError extends Error {}

export class Lane {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly limit: number,
    readonly maxQueued: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.maxQueued) throw new LaneBusyError('too many checks waiting');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      // The slot passes to the next waiting task, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
