/**
 * The time every lifecycle rule reads (docs/lifecycle.md): end dates, reminder windows, approval
 * reminders and escalations, digests. One clock is made per app (`BuildOptions.clock`) and given
 * to every service that applies such a rule, so that tests move time instead of waiting for it.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock the caller sets and moves (tests, benchmarks); it stands still between moves. */
export class ManualClock implements Clock {
  private ms: number;

  constructor(start: number | string = Date.now()) {
    this.ms = typeof start === 'string' ? Date.parse(start) : start;
  }

  now(): number {
    return this.ms;
  }

  /** Jumps to `time` (an ISO 8601 text or epoch ms), forwards or backwards. */
  set(time: number | string): void {
    this.ms = typeof time === 'string' ? Date.parse(time) : time;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

/** The clock's time as the database stores times: ISO 8601, UTC, milliseconds. */
export function isoOf(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
