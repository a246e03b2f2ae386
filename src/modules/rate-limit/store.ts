/**
 * The per-client rate limit's counters in the database, shared by every server process on it
 * (docs/operations.md, "Several processes behind HAProxy"): a store for @fastify/rate-limit (its
 * `store` option), so that three processes allow a client its limit once, not three times.
 *
 * Each counted request is one statement (repository.ts). Windows that ended are deleted now and
 * then, by the process that counts a request after the last deletion is a minute old. When the
 * database does not answer, the request is let through uncounted (fail open: the API is down
 * anyway without its database) and the log says so, at most every 10 s.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.js';
import { RateLimitRepository } from './repository.js';

export interface RateLimitLog {
  warn(obj: object, msg: string): void;
}

/** What @fastify/rate-limit reads from a store: the requests counted, and the ms left in the window. */
export interface LimiterState {
  current: number;
  ttl: number;
}

/** How often expired windows are deleted, at most. */
const PRUNE_EVERY_MS = 60_000;
/** A failing database is logged at most this often. */
const WARN_EVERY_MS = 10_000;

export class SharedRateLimits {
  private readonly repo = new RateLimitRepository();
  private nextPrune: number;
  private lastWarning = Number.NEGATIVE_INFINITY;
  private uncounted = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: RateLimitLog,
    private readonly now: () => number = Date.now,
  ) {
    this.nextPrune = now() + PRUNE_EVERY_MS;
  }

  /** Counts a request of `key` in a window of `windowMs`; never throws (fails open). */
  async hit(key: string, windowMs: number): Promise<LimiterState> {
    const now = this.now();
    if (now >= this.nextPrune) {
      this.nextPrune = now + PRUNE_EVERY_MS;
      this.repo.prune(this.db, now).catch((error) => this.failed(error, now, 'expired rate-limit windows could not be deleted'));
    }
    try {
      const { hits, windowEnd } = await this.repo.hit(this.db, key, now, windowMs);
      return { current: hits, ttl: Math.max(0, windowEnd - now) };
    } catch (error) {
      this.uncounted++;
      this.failed(error, now, 'the shared rate limit could not count requests: they pass uncounted');
      return { current: 0, ttl: windowMs };
    }
  }

  private failed(error: unknown, now: number, msg: string): void {
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.log.warn({ err: error, uncounted: this.uncounted }, msg);
    this.uncounted = 0;
  }
}

type Callback = (error: Error | null, state: LimiterState) => void;

/**
 * The store class @fastify/rate-limit instantiates (`new Store(options)`), counting in `limits`.
 * A route with limits of its own (`child`) counts under its method and URL apart from the others.
 */
export function sharedStore(limits: SharedRateLimits): FastifyRateLimitStoreCtor {
  class SharedStore implements FastifyRateLimitStore {
    prefix = '';

    incr(key: string, callback: Callback, timeWindow: number): void {
      limits.hit(this.prefix + key, timeWindow).then((state) => callback(null, state));
    }

    child(routeOptions: object): SharedStore {
      // The plugin passes the route's merged limit options, the route itself under `routeInfo`.
      const route = (routeOptions as { routeInfo?: { method?: unknown; url?: unknown } }).routeInfo;
      const child = new SharedStore();
      child.prefix = `${this.prefix}${String(route?.method)} ${String(route?.url)}|`;
      return child;
    }
  }
  return SharedStore;
}
