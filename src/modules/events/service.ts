/**
 * The event log (docs/events.md): every change appends its events in its own transaction, each
 * hashed into its tenant's chain; the audit trail reads them back, `verify` recomputes the chain,
 * and `prune` drops the oldest while keeping the chain verifiable from a checkpoint. Who may read
 * the log (org admins) is the admin API's rule, checked by its routes.
 */
import type { Kysely } from 'kysely';
import { parseListFilter } from '../../collections/query.js';
import { afterCommit, type Exec, transaction } from '../../db/dialect.js';
import type { Database, EventChainTable, EventTable } from '../../db/types.js';
import { newUuid, nowIso } from '../../domain/ids.js';
import { assertThat, fail } from '../../errors/api-error.js';
import { Poller } from '../../jobs/poller.js';
import { csvLine, nextTurn, pacer } from '../bulk/csv.js';
import { EVENT_FILTERS, eventSorters } from './collection.js';
import { type AuditEvent, type EventInput, eventHash, GENESIS_HASH, type SerializedEventInput, toAuditEvent } from './model.js';
import type { EventRepository } from './repository.js';

export interface AuditListParams {
  filters?: string | undefined;
  sorters?: string | undefined;
  limit: number;
  offset: number;
  count: boolean;
}

/** What `verify` found: the whole chain matches, or the first event that does not, and why. */
export type Verification =
  | { ok: true; count: number; headSeq: number; headHash: string }
  | { ok: false; count: number; seq: number; id: string | null; reason: string };

/** Events read at once by `verify` and the CSV export. */
const PAGE = 1000;
const DAY_MS = 24 * 3600 * 1000;
/** Events hashed and written per statement. */
const APPEND_ROWS = 250;
/** Events queued by `recordSoon` written per transaction. */
const APPEND_SLICE = 500;
/** Events `recordSoon` keeps waiting before its callers wait for them to be written. */
const SOON_MAX = 5000;
/** How long a read of the log waits for the events queued before it (`settled`). */
const READ_WAIT_MS = 1000;
/** The waits before a failed write of queued events is tried again; then they are given up. */
const SOON_RETRIES_MS = [100, 400, 1600];

export const CSV_HEADER = ['id', 'seq', 'time', 'type', 'actorId', 'actorAlias', 'targetType', 'targetId', 'sourceId', 'data', 'hash'];

export class EventLog {
  private readonly appendListeners: (() => void)[] = [];
  /** Events of `recordSoon` not yet written, in order. */
  private soon: { tenantId: string; event: EventInput }[] = [];
  /** Events ever queued by `recordSoon`, and those of them written or given up. */
  private queued = 0;
  private finished = 0;
  /** Who waits for the events queued up to `upTo` to be finished. */
  private waiters: { upTo: number; resolve: () => void }[] = [];
  private writingSoon: Promise<void> | undefined;
  private soonFailed: (error: unknown, lost: number) => void = () => undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: EventRepository,
  ) {}

  /** `listener` runs after each transaction that appended events commits (the event consumers' wake). */
  onAppend(listener: () => void): void {
    this.appendListeners.push(listener);
  }

  private readonly appended = (): void => {
    for (const listener of this.appendListeners) listener();
  };

  /**
   * Appends `events`, in order, to the tenant's chain, in the caller's transaction `trx`: they
   * commit or roll back with the change they tell of. Locks the chain's head until `trx` ends, so
   * every other change of the tenant that writes events waits for it: call it last.
   */
  async append(trx: Exec, tenantId: string, events: readonly (EventInput | SerializedEventInput)[]): Promise<AuditEvent[]> {
    const appended: AuditEvent[] = [];
    await this.write(trx, tenantId, events, (row) => appended.push(toAuditEvent(row)));
    return appended;
  }

  /**
   * Appends as `append` does the events `events` yields, each made as it is pulled and none kept
   * once written (a bulk import appends thousands); the number appended.
   */
  appendAll(trx: Exec, tenantId: string, events: Iterable<EventInput | SerializedEventInput>): Promise<number> {
    return this.write(trx, tenantId, events);
  }

  /**
   * Hashes the events into the chain and writes them APPEND_ROWS a statement; the event loop turns
   * between two statements once SLICE_MS have passed. The chain's head is read (and locked) once,
   * and moved once at the end.
   */
  private async write(trx: Exec, tenantId: string, events: Iterable<EventInput | SerializedEventInput>, told?: (row: EventTable) => void): Promise<number> {
    let chain: EventChainTable | undefined;
    let seq = 0;
    let prev = '';
    const time = nowIso();
    const pace = pacer();
    let rows: EventTable[] = [];
    const flush = async () => {
      await this.repo.insert(trx, rows);
      if (told) for (const row of rows) told(row);
      rows = [];
      const turn = pace();
      if (turn) await turn;
    };
    for (const event of events) {
      if (!chain) {
        chain = await this.repo.lockChain(trx, tenantId);
        seq = Number(chain.head_seq);
        prev = chain.head_hash;
      }
      const row = {
        tenant_id: tenantId,
        seq: ++seq,
        id: newUuid(),
        type: event.type,
        time,
        actor_id: event.actor?.id ?? null,
        actor_alias: event.actor?.alias ?? null,
        target_type: event.target.type,
        target_id: event.target.id,
        source_id: event.target.sourceId ?? null,
        data: 'dataText' in event ? event.dataText : JSON.stringify(event.data),
        prev_hash: prev,
      };
      prev = eventHash(row);
      rows.push({ ...row, hash: prev });
      if (rows.length === APPEND_ROWS) await flush();
    }
    if (!chain) return 0;
    if (rows.length > 0) await flush();
    await this.repo.moveHead(trx, tenantId, seq, prev);
    afterCommit(trx, this.appended);
    return seq - Number(chain.head_seq);
  }

  /** Appends one event in a transaction of its own: for what changes nothing else (a sign-in). */
  async record(tenantId: string, event: EventInput): Promise<void> {
    await transaction(this.db, (trx) => this.append(trx, tenantId, [event]));
  }

  /**
   * Records an event of something that changed nothing in the database (a token issued or
   * refused) without making its caller wait for the database's writer, which a bulk import may
   * hold for seconds: the events queued meanwhile are appended together, in a transaction of their
   * own, as soon as the writer is free. The caller waits only when `SOON_MAX` events are already
   * queued. Reads of the log in this process wait for the events queued before them, at most
   * READ_WAIT_MS (`settled`): a read during a long import is not held until it commits.
   */
  async recordSoon(tenantId: string, event: EventInput): Promise<void> {
    this.soon.push({ tenantId, event });
    this.queued++;
    void this.writeSoon();
    if (this.soon.length >= SOON_MAX) await this.settled();
  }

  /** Resolves once every event queued by `recordSoon` before the call is written (or given up on). */
  settled(): Promise<void> {
    if (this.finished >= this.queued) return Promise.resolve();
    const upTo = this.queued;
    return new Promise((resolve) => this.waiters.push({ upTo, resolve }));
  }

  /** `settled`, or READ_WAIT_MS, whichever comes first: what a read of the log waits for. */
  private settledForRead(): Promise<void> {
    if (this.finished >= this.queued) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, READ_WAIT_MS);
    });
    return Promise.race([this.settled(), waited]).finally(() => clearTimeout(timer));
  }

  /** Who is told when queued events could not be written, and how many were lost. */
  onSoonFailure(listener: (error: unknown, lost: number) => void): void {
    this.soonFailed = listener;
  }

  private writeSoon(): Promise<void> {
    this.writingSoon ??= (async () => {
      try {
        while (this.soon.length > 0) {
          const batch = this.soon.splice(0, APPEND_SLICE);
          await this.writeBatch(batch);
          this.finished += batch.length;
          const done = this.waiters.filter((w) => w.upTo <= this.finished);
          this.waiters = this.waiters.filter((w) => w.upTo > this.finished);
          for (const waiter of done) waiter.resolve();
        }
      } finally {
        this.writingSoon = undefined;
      }
    })();
    return this.writingSoon;
  }

  /**
   * Appends a batch of queued events in one transaction, tenants in the order of their ids (two
   * processes lock their chains in the same order); a failure is tried again after each of
   * SOON_RETRIES_MS, then the batch is given up and reported.
   */
  private async writeBatch(batch: { tenantId: string; event: EventInput }[]): Promise<void> {
    const tenants = [...new Set(batch.map((queued) => queued.tenantId))].sort();
    for (let attempt = 0; ; attempt++) {
      try {
        await transaction(this.db, async (trx) => {
          for (const tenantId of tenants) {
            await this.append(
              trx,
              tenantId,
              batch.filter((queued) => queued.tenantId === tenantId).map((queued) => queued.event),
            );
          }
        });
        return;
      } catch (error) {
        const wait = SOON_RETRIES_MS[attempt];
        if (wait === undefined) return this.soonFailed(error, batch.length);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /**
   * Recomputes the tenant's chain from its checkpoint (its start, before any prune) to its head:
   * every event in sequence, chained to the one before, its hash matching its contents.
   */
  async verify(tenantId: string): Promise<Verification> {
    await this.settled();
    const chain = await this.repo.chain(this.db, tenantId);
    if (!chain) return { ok: true, count: 0, headSeq: 0, headHash: GENESIS_HASH };
    const head = Number(chain.head_seq);
    let seq = Number(chain.checkpoint_seq);
    let prev = chain.checkpoint_hash;
    let count = 0;
    let lastId: string | null = null;
    const broken = (row: EventTable | undefined, at: number, reason: string): Verification => ({ ok: false, count, seq: at, id: row?.id ?? null, reason });
    while (seq < head) {
      const page = await this.repo.chainPage(this.db, tenantId, seq, PAGE);
      for (const row of page) {
        // Events appended since the head was read are left for the next run.
        if (seq >= head) break;
        const at = Number(row.seq);
        if (at !== seq + 1) return broken(row, at, `events ${seq + 1} to ${at - 1} are missing`);
        if (row.prev_hash !== prev) return broken(row, at, 'its prev_hash is not the hash of the event before it');
        if (eventHash(row) !== row.hash) return broken(row, at, 'its hash does not match its contents');
        seq = at;
        prev = row.hash;
        lastId = row.id;
        count++;
      }
      if (page.length < PAGE) break;
    }
    if (seq < head) return broken(undefined, seq + 1, `events ${seq + 1} to ${head} are missing: the chain's head is event ${head}`);
    if (prev !== chain.head_hash) return { ok: false, count, seq, id: lastId, reason: "its hash is not the chain head's" };
    return { ok: true, count, headSeq: head, headHash: prev };
  }

  /**
   * Deletes the tenant's events up to the last one older than `before` (an ISO time), and makes
   * that one the checkpoint verifying starts from, in one transaction; the number deleted.
   */
  prune(tenantId: string, before: string): Promise<number> {
    return transaction(this.db, async (trx) => {
      await this.repo.lockChain(trx, tenantId);
      const last = await this.repo.lastBefore(trx, tenantId, before);
      return last ? this.repo.pruneTo(trx, tenantId, Number(last.seq), last.hash) : 0;
    });
  }

  /** Prunes every tenant's events older than `days` days; the number deleted. */
  async pruneOlderThan(days: number): Promise<number> {
    const before = new Date(Date.now() - days * DAY_MS).toISOString();
    let deleted = 0;
    for (const tenantId of await this.repo.tenants(this.db)) deleted += await this.prune(tenantId, before);
    return deleted;
  }

  /** Prunes events older than `days` days at start, then once a day; the app starts and stops it. */
  pruner(days: number, onError: (error: unknown) => void): Poller {
    const tick = async () => {
      await this.pruneOlderThan(days);
      return false;
    };
    return new Poller({ name: 'audit-retention', idleMs: DAY_MS, onError, tick });
  }

  async list(tenantId: string, params: AuditListParams): Promise<{ events: AuditEvent[]; total?: number }> {
    const filter = parseListFilter(params.filters, EVENT_FILTERS);
    const sorters = eventSorters(params.sorters);
    await this.settledForRead();
    const rows = await this.repo.list(this.db, tenantId, { filter, sorters, limit: params.limit, offset: params.offset });
    const total = params.count ? await this.repo.count(this.db, tenantId, filter) : undefined;
    return { events: rows.map(toAuditEvent), ...(total !== undefined ? { total } : {}) };
  }

  async get(tenantId: string, id: string): Promise<AuditEvent> {
    await this.settledForRead();
    const row = await this.repo.byId(this.db, tenantId, id);
    assertThat(row, () => fail.notFound(`Audit event ${id} was not found.`));
    return toAuditEvent(row);
  }

  /** The events `filters` selects as CSV lines, header first, in chain order. */
  csv(tenantId: string, filters: string | undefined): AsyncGenerator<string> {
    const filter = parseListFilter(filters, EVENT_FILTERS);
    const { db, repo } = this;
    const settled = this.settledForRead();
    async function* lines(): AsyncGenerator<string> {
      await settled;
      yield csvLine(CSV_HEADER);
      for (let after = 0; ; ) {
        const page = await repo.chainPage(db, tenantId, after, PAGE, filter);
        const cells = (r: EventTable) => [
          r.id,
          String(r.seq),
          r.time,
          r.type,
          r.actor_id,
          r.actor_alias,
          r.target_type,
          r.target_id,
          r.source_id,
          r.data,
          r.hash,
        ];
        if (page.length > 0) yield page.map((r) => csvLine(cells(r).map((cell) => cell ?? ''))).join('');
        if (page.length < PAGE) return;
        after = Number(page.at(-1)!.seq);
        // Other requests go between pages of a long export.
        await nextTurn();
      }
    }
    return lines();
  }
}
