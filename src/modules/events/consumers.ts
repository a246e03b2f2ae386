/**
 * Consumers of the event log (docs/events.md, "Consumers"): each named consumer reads every
 * tenant's chain in order, with a cursor of its own per tenant (`event_cursors`). One batch is one
 * transaction: lock the cursor, read the events after it, let the consumer write what it derives
 * from them (webhook deliveries, mails) in that transaction, move the cursor. So what a consumer
 * derives from an event is written once, whatever crashes: the cursor moves with it or not at all.
 *
 * Several processes may run the same consumer: on PostgreSQL a cursor is locked with
 * FOR UPDATE SKIP LOCKED, so one process at a time advances it and the others go on to other
 * tenants; a SQLite file has one process. A commit that appended events wakes the consumers of
 * its process at once (`wake`, through `EventLog.onAppend`); every consumer also polls, for the
 * events other processes append. Each consumer has its own loop: one that falls behind, or fails,
 * delays no other.
 *
 * A consumer started for the first time on a database begins at each tenant's head: it sees the
 * events committed after it started, not the history (`startAt: 'beginning'` reads every chain from
 * its first kept event). A tenant whose chain begins later is read from its first event.
 */
import type { Kysely, Transaction } from 'kysely';
import { transaction } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import { nowIso } from '../../domain/ids.js';
import { Poller } from '../../jobs/poller.js';
import type { CursorRepository } from './cursor-repository.js';
import { type AuditEvent, toAuditEvent } from './model.js';
import type { EventRepository } from './repository.js';

export interface EventConsumer {
  /** Names its cursors: never rename a consumer that has run (it would start over at the head). */
  readonly name: string;
  /** Where the cursors of a consumer new to the database begin: each chain's head (the default), or its beginning. */
  readonly startAt?: 'head' | 'beginning';
  /** Events per transaction; 100 by default. */
  readonly batch?: number;
  /**
   * The event types it acts on, when not all: the others are passed over in the database (its
   * cursor moves past them unread), so that a bulk import's thousands of record events cost it
   * one statement.
   */
  readonly types?: readonly string[];
  /**
   * True when, for now, no event of the tenant is of use to the consumer (the webhooks' with no
   * enabled endpoint): its cursor moves to the head without reading what it passes. Asked in the
   * transaction that moves the cursor, after the head was read.
   */
  idle?(trx: Transaction<Database>, tenantId: string): Promise<boolean>;
  /**
   * Writes, in `trx`, what the consumer derives from `events` (a tenant's, in chain order). A
   * throw rolls the batch back, cursor included: the same events come again at the next turn.
   */
  consume(trx: Transaction<Database>, tenantId: string, events: readonly AuditEvent[]): Promise<void>;
  /** After the batch committed: say, wake the worker that acts on what `consume` wrote. */
  committed?(tenantId: string, events: readonly AuditEvent[]): void;
}

export interface ConsumerLog {
  error(obj: object, msg: string): void;
}

export interface ConsumerOptions {
  /** How often each consumer looks for events other processes appended; 1 s by default. */
  pollMs?: number;
}

interface Entry {
  consumer: EventConsumer;
  poller: Poller;
  registered: boolean;
  /** Turns run one at a time, whoever asks (the loop or `drain`). */
  turn: Promise<unknown>;
}

const DEFAULT_BATCH = 100;
/** Events a typed consumer's statement looks at, at most. */
const SCAN_WINDOW = 1000;

export class EventConsumers {
  private readonly entries = new Map<string, Entry>();
  private log: ConsumerLog | undefined;
  private started = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: EventRepository,
    private readonly cursors: CursorRepository,
    private readonly options: ConsumerOptions = {},
  ) {}

  /** Adds a consumer; it runs from `start` on (or at once, if the consumers are running). */
  add(consumer: EventConsumer): void {
    if (this.entries.has(consumer.name)) throw new Error(`an event consumer named ${consumer.name} is already added`);
    const entry: Entry = { consumer, registered: false, turn: Promise.resolve(), poller: undefined as unknown as Poller };
    entry.poller = new Poller({
      name: `events:${consumer.name}`,
      idleMs: this.options.pollMs ?? 1000,
      tick: () => this.tick(entry),
      onError: (error) => this.log?.error({ err: error, consumer: consumer.name }, 'event consumer: a batch failed; it is retried'),
    });
    this.entries.set(consumer.name, entry);
    if (this.started) entry.poller.start();
  }

  start(log?: ConsumerLog): void {
    if (this.started) return;
    this.started = true;
    this.log = log;
    for (const entry of this.entries.values()) entry.poller.start();
  }

  /** Stops after the batches in progress. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.entries.values()].map((e) => e.poller.stop()));
  }

  get isRunning(): boolean {
    return this.started && [...this.entries.values()].every((e) => e.poller.isRunning);
  }

  /** Looks for new events now: events were just committed. Cheap; safe to call at any time. */
  wake(): void {
    if (!this.started) return;
    for (const entry of this.entries.values()) entry.poller.wake();
  }

  /** Consumes every committed event not consumed yet, by one consumer or all (tests and the CLI). */
  async drain(name?: string): Promise<void> {
    for (const entry of this.entries.values()) {
      if (name !== undefined && entry.consumer.name !== name) continue;
      while (await this.tick(entry)) {
        // until the consumer has caught up
      }
    }
  }

  /** How far a consumer has read, per tenant. */
  positions(name: string): Promise<Map<string, number>> {
    return this.cursors.positions(this.db, name);
  }

  private tick(entry: Entry): Promise<boolean> {
    const run = entry.turn.then(() => this.turn(entry));
    entry.turn = run.catch(() => undefined);
    return run;
  }

  /** One batch for each tenant that has events past the cursor; true when any was consumed. */
  private async turn(entry: Entry): Promise<boolean> {
    const { consumer } = entry;
    if (!entry.registered) {
      await transaction(this.db, (trx) => this.cursors.register(trx, consumer.name, consumer.startAt !== 'beginning', nowIso()));
      entry.registered = true;
    }
    let consumed = false;
    for (const { tenantId, position, head } of await this.cursors.behind(this.db, consumer.name)) {
      if (position === null) await this.cursors.create(this.db, tenantId, consumer.name, 0, nowIso());
      if (await this.batch(consumer, tenantId, head)) consumed = true;
    }
    return consumed;
  }

  /** One batch of the tenant's events up to `head` (committed); true when the cursor moved. */
  private async batch(consumer: EventConsumer, tenantId: string, head: number): Promise<boolean> {
    const size = consumer.batch ?? DEFAULT_BATCH;
    const { events, moved } = await transaction(this.db, async (trx) => {
      const position = await this.cursors.lock(trx, tenantId, consumer.name);
      // Another process is consuming this tenant's events.
      if (position === undefined || position >= head) return { events: [], moved: false };
      if (await consumer.idle?.(trx, tenantId)) {
        await this.cursors.advance(trx, tenantId, consumer.name, head, nowIso());
        return { events: [], moved: true };
      }
      // A statement passes over at most SCAN_WINDOW events of other types: one over the events of
      // a large import would hold the event loop while the database reads them all.
      const upTo = Math.min(head, position + SCAN_WINDOW);
      const rows = consumer.types
        ? await this.events.typedPage(trx, tenantId, position, upTo, consumer.types, size)
        : await this.events.chainPage(trx, tenantId, position, size);
      const batch = rows.map(toAuditEvent);
      if (batch.length > 0) await consumer.consume(trx, tenantId, batch);
      // Without types every event is read; with them, a short page means none is left up to `upTo`.
      const to = consumer.types && batch.length < size ? upTo : batch.at(-1)?.seq;
      if (to === undefined) return { events: batch, moved: false };
      await this.cursors.advance(trx, tenantId, consumer.name, to, nowIso());
      return { events: batch, moved: true };
    });
    if (events.length > 0) consumer.committed?.(tenantId, events);
    return moved;
  }
}
