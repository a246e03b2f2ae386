/**
 * PostgreSQL: record gets answered from memory, correct while other processes write the database.
 *
 * A get asks PostgreSQL for a row, and the round trip costs as much as the rest of the get
 * (docs/performance.md, Records). This cache keeps the wire JSON of records that were read, under
 * a byte budget; records not read again leave first (second chance). It would be wrong the moment
 * another process (a second server, a script, an administrator's SQL) changed a kept record: a
 * client whose PUT went to that process would then read the old record here. So memory is trusted
 * only under a lease that the database itself fences (migration 20261124_0005_record_cache):
 *
 * - One process at a time holds the lease, and renews it every RENEW_EVERY_MS. A renewal that
 *   PostgreSQL accepts at its time T lets the holder trust its memory until the moment it sent
 *   the renewal plus TRUST_MS, by its own monotonic clock: an earlier instant than T + LEASE_MS.
 * - Before any UPDATE, DELETE or TRUNCATE of records, a trigger takes the schema's advisory lock
 *   shared until commit; a renewal needs it exclusively, and only tries. So once a write is under
 *   way no renewal succeeds until it commits, and if the lease is another process's, the write
 *   waits in the trigger until the last renewal's T + LEASE_MS (+ a margin) has passed. By then
 *   the holder no longer trusts its memory. The write is recorded, and renewals are refused for
 *   BACKOFF_MS (30 s, a constant of the migration, like LEASE_MS) after it.
 * - The holder's own writes do not wait. This process empties its memory before it sends a write
 *   of records or sources and again when that write, or the transaction holding it, has ended
 *   (`invalidate`, called by the pool); a read started before an invalidation keeps nothing
 *   (`generation`).
 * - After a renewal that failed, one sent after trust had run out, or on acquiring the lease,
 *   memory is emptied before it is trusted again. A renewal that keeps memory was sent while the
 *   previous one still granted trust; with one renewal in flight at a time, a write by another
 *   process between the two was recorded less than 2 × TRUST_MS before this renewal ran, well
 *   inside BACKOFF_MS, so the database would have refused it. (A renewal answered after its own
 *   trust has run out grants nothing, and the next one, sent late, empties memory.)
 * - Records that were not found are never kept, so INSERTs need no fence.
 *
 * The lease is measured by PostgreSQL's clock on one side and this process's monotonic clock on the
 * other; TRUST_MS is LEASE_MS less 200 ms, so a step of PostgreSQL's clock forward by less than that
 * within one second cannot make a writer stop waiting early. Writes that skip triggers (`session_
 * replication_role = replica`, a disabled trigger) are not fenced.
 */
import { performance } from 'node:perf_hooks';
import { LEASE_MS } from './migrations/20261124_0005_record_cache.js';

/** What a get needs of a record: its source (to authorize) and its wire JSON. */
export interface CachedRecord {
  sourceId: string;
  json: string;
}

/** How long after sending a successful renewal this process trusts its memory. */
export const TRUST_MS = LEASE_MS - 200;
export const RENEW_EVERY_MS = 200;
/** Bytes an entry costs besides its key and JSON (the map's slot, the object, two string headers). */
const ENTRY_OVERHEAD = 160;

/** The outcome of `record_cache_renew`: refused, renewed, acquired. */
export type Renewal = 0 | 1 | 2;

export interface RecordCacheOptions {
  /** Memory the kept records may take, roughly (their key and JSON, plus a fixed overhead each). */
  budgetBytes: number;
  /** Runs `record_cache_renew(process id)`. */
  renew(): Promise<Renewal>;
  /** Runs `record_cache_release(process id)`. */
  release(): Promise<void>;
}

export interface RecordCacheStats {
  hits: number;
  misses: number;
  /** Renewals that failed with an error (the database was away): memory stays untrusted. */
  renewalErrors: number;
  entries: number;
  bytes: number;
  /** Times memory was emptied. */
  clears: number;
  /** Whether memory is trusted right now. */
  trusted: boolean;
}

export class RecordCache {
  /** Oldest first; `used`: read since it was kept or last passed over by eviction. */
  private readonly entries = new Map<string, { value: CachedRecord; bytes: number; used: boolean }>();
  private bytes = 0;
  /** Bumped by every invalidation: a read that began under another generation keeps nothing. */
  generation = 0;
  /** performance.now() until which memory is trusted (0: not trusted). */
  private trustedUntil = 0;
  /** The last renewal failed (or none succeeded yet): empty memory before trusting it again. */
  private broken = true;
  private renewing = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Bumped by `stop`: a renewal sent before it grants nothing, even if the cache started again. */
  private epoch = 0;
  private counts = { hits: 0, misses: 0, clears: 0, renewalErrors: 0 };

  constructor(private readonly options: RecordCacheOptions) {}

  /** Starts renewing the lease (again after `stop`); idempotent. */
  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.renewOnce(), RENEW_EVERY_MS);
    this.timer.unref();
    void this.renewOnce();
  }

  /** Stops trusting memory and gives the lease up. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.epoch++;
    this.broken = true;
    const started = this.timer !== undefined;
    clearInterval(this.timer);
    this.timer = undefined;
    this.trustedUntil = 0;
    this.clear();
    if (started) await this.options.release();
  }

  get stats(): RecordCacheStats {
    return { ...this.counts, entries: this.entries.size, bytes: this.bytes, trusted: this.trusted() };
  }

  private trusted(): boolean {
    return performance.now() < this.trustedUntil;
  }

  private static key(tenantId: string, id: string): string {
    return `${tenantId}\u0000${id}`;
  }

  /** The kept record, while memory is trusted. */
  get(tenantId: string, id: string): CachedRecord | undefined {
    if (!this.trusted()) return undefined;
    const key = RecordCache.key(tenantId, id);
    const entry = this.entries.get(key);
    if (!entry) {
      this.counts.misses++;
      return undefined;
    }
    this.counts.hits++;
    entry.used = true;
    return entry.value;
  }

  /**
   * Keeps a record read from the database, unless memory was invalidated since the read began
   * (`generation` then differs from the one read before it) or is not trusted.
   */
  fill(generation: number, tenantId: string, id: string, value: CachedRecord): void {
    if (generation !== this.generation || !this.trusted()) return;
    const key = RecordCache.key(tenantId, id);
    const bytes = key.length + value.json.length + value.sourceId.length + ENTRY_OVERHEAD;
    if (bytes > this.options.budgetBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, bytes, used: false });
    this.bytes += bytes;
    // Second chance: an entry read since it was kept goes to the back once instead of out. A hit
    // only sets a flag, where moving the entry would delete and insert a map slot every time.
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.options.budgetBytes) break;
      this.entries.delete(oldest);
      if (entry.used || oldest === key) {
        // (The record just kept is passed over too: the ones before it were given their chance.)
        entry.used = false;
        this.entries.set(oldest, entry);
      } else {
        this.bytes -= entry.bytes;
      }
    }
  }

  /** Forgets everything, and makes reads under way keep nothing. */
  invalidate(): void {
    this.generation++;
    this.clear();
  }

  private clear(): void {
    if (this.entries.size === 0) return;
    this.entries.clear();
    this.bytes = 0;
    this.counts.clears++;
  }

  /** One renewal, unless one is in flight. Exposed for tests. */
  async renewOnce(): Promise<void> {
    if (this.renewing || this.stopped) return;
    this.renewing = true;
    const epoch = this.epoch;
    const sent = performance.now();
    let outcome: Renewal = 0;
    try {
      outcome = await this.options.renew();
    } catch {
      this.counts.renewalErrors++;
    } finally {
      this.renewing = false;
    }
    // Stopped meanwhile: the lease may have been given up since this renewal ran.
    if (this.stopped || epoch !== this.epoch) return;
    if (outcome === 0) {
      // Memory stays trusted until the last renewal's time runs out: writers wait that long.
      this.broken = true;
      return;
    }
    if (outcome === 2 || this.broken || sent >= this.trustedUntil) this.invalidate();
    this.broken = false;
    this.trustedUntil = sent + TRUST_MS;
  }
}

/**
 * Whether a statement may change records: one that is not a SELECT and names `records` or
 * `sources` (deleting a source deletes its records). The pool calls `invalidate` around them.
 */
export function writesRecords(text: string): boolean {
  return !/^\s*select\b/i.test(text) && /\b(?:records|sources)\b/i.test(text);
}

/** Whether a statement ends a transaction. */
export function endsTransaction(text: string): boolean {
  return /^\s*(?:commit|rollback|end|abort)\b/i.test(text);
}
