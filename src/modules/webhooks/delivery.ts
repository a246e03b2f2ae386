/**
 * The webhook delivery worker, in every server process (docs/events.md, "Webhooks"). It claims
 * endpoints that have deliveries due, in the database (repository.ts: a lease per endpoint,
 * SKIP LOCKED on PostgreSQL), and sends each claimed endpoint's deliveries one after the other, in
 * commit order, stopping at the first that fails. So:
 * - one request at a time per endpoint, and up to `concurrency` endpoints at once per process:
 *   a slow or dead endpoint holds one slot for at most its timeout per attempt, never another
 *   endpoint, the API or the mails;
 * - an event goes to an endpoint after every earlier event has had its first attempt there;
 * - a process that stops (SIGTERM) sends no further request, waits for the answers of those in
 *   flight (at most `STOP_GRACE_MS`, or the timeout if shorter) and records them, then releases
 *   its endpoints: a rolling restart sends no event twice. A request still unanswered after that
 *   is abandoned (not an attempt) and sent again by another process;
 * - a process killed mid-delivery leaves its claim to run out: the delivery is sent again, never
 *   lost (a receiver may see an event twice: it has the same `webhook-id`).
 *
 * An attempt is a success on a 2xx. Anything else (another status, a 3xx included: redirects are
 * not followed; no answer within the timeout; an address refused) is retried after the next wait
 * of the retry schedule, and the delivery FAILED when there is none left. `410 Gone` fails the
 * delivery and disables the endpoint at once; so does failing every attempt for 5 days. The
 * endpoint's owner is told by mail, and a `webhook.updated` event (by the system) says so.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { KeyRing, UnknownKeyError } from '../../auth/key-encryption.js';
import { transaction } from '../../db/dialect.js';
import type { Database, WebhookDeliveryStatus } from '../../db/types.js';
import { nowIso } from '../../domain/ids.js';
import { Poller } from '../../jobs/poller.js';
import type { EventLog } from '../events/service.js';
import type { Resolver } from './address.js';
import { type ClaimedEndpoint, type Outgoing, secretContext, toWebhook } from './model.js';
import type { WebhookRepository } from './repository.js';
import { Connection, type SendOutcome, send } from './sender.js';
import { signatureHeader } from './signature.js';

export interface DeliveryOptions {
  allowHttp: boolean;
  allowPrivate: boolean;
  /** The waits before each retry, in ms; a delivery is attempted once more than there are waits. */
  retrySchedule: readonly number[];
  /** The most an attempt waits for an answer. */
  timeoutMs: number;
  /** Endpoints delivered to at once by this process. */
  concurrency: number;
  resolve: Resolver;
  /** No other process works on the database (SQLite): claims found at start are a stopped process's. */
  soleProcess: boolean;
  /** How often the worker looks for due deliveries when nothing wakes it; 1 s by default. */
  idleMs?: number;
  /** Days finished deliveries are kept; 0 keeps them for ever. */
  retentionDays: number;
}

export interface DeliveryLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Deliveries sent to one endpoint per claim at most. */
const BATCH = 20;
/** Failing every attempt for this long disables an endpoint. */
export const FAILING_DAYS = 5;
const DAY_MS = 24 * 3600 * 1000;
/** Finished deliveries deleted per transaction by the retention. */
const PRUNE_BATCH = 1000;
/** Time kept, within a claim, to record the outcome after the last attempt. */
const RECORD_MARGIN_MS = 5_000;
/** How long a stopping process waits for the answers of its requests in flight, at most. */
export const STOP_GRACE_MS = 5_000;

interface Sent {
  delivery: Outgoing;
  time: string;
  outcome: SendOutcome;
}

const succeeded = (outcome: SendOutcome) => outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;

export class WebhookDeliveries {
  readonly workerId = randomBytes(8).toString('hex');
  private readonly poller: Poller;
  /** Deletes finished deliveries past the retention, at start and every hour. */
  private readonly pruner: Poller;
  private readonly running = new Set<Promise<void>>();
  /** Set when the worker stops: no claim, no request more. */
  private draining = false;
  /** Aborts the requests still in flight once the stop's grace is over. */
  private readonly stopping = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** A claim holds this long: enough for a few attempts that time out, and the record. */
  private readonly leaseMs: number;
  private orphansLeft: boolean;
  private log: DeliveryLog | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: WebhookRepository,
    private readonly keyRing: KeyRing,
    private readonly events: EventLog,
    private readonly options: DeliveryOptions,
  ) {
    this.leaseMs = 3 * options.timeoutMs + 2 * RECORD_MARGIN_MS;
    this.orphansLeft = options.soleProcess;
    this.poller = new Poller({
      name: 'webhook-deliveries',
      idleMs: options.idleMs ?? 1000,
      tick: () => this.claim(),
      onError: (error) => this.log?.error({ err: error }, 'webhook deliveries could not be claimed'),
    });
    this.pruner = new Poller({
      name: 'webhook-retention',
      idleMs: 3600 * 1000,
      tick: () => this.prune(),
      onError: (error) => this.log?.error({ err: error }, 'webhook deliveries past their retention could not be deleted'),
    });
  }

  start(log?: DeliveryLog): void {
    this.log = log;
    this.poller.start();
    if (this.options.retentionDays > 0) this.pruner.start();
  }

  /**
   * Deletes one batch of the deliveries that finished (succeeded or failed for good) more than the
   * retention's days ago, with their attempts; true when there may be more.
   */
  async prune(): Promise<boolean> {
    const before = new Date(Date.now() - this.options.retentionDays * DAY_MS).toISOString();
    const deleted = await transaction(this.db, (trx) => this.repo.pruneFinished(trx, before, PRUNE_BATCH));
    return deleted === PRUNE_BATCH;
  }

  /**
   * Stops claiming and sending; waits for the answers of the requests in flight (recorded as
   * attempts) for the grace at most, then ends those still unanswered (not attempts: sent again
   * later), and releases every endpoint.
   */
  async stop(): Promise<void> {
    this.draining = true;
    await Promise.all([this.poller.stop(), this.pruner.stop()]);
    let graceOver: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      graceOver = setTimeout(resolve, Math.min(STOP_GRACE_MS, this.options.timeoutMs));
    });
    await Promise.race([Promise.all(this.running), grace]);
    clearTimeout(graceOver);
    this.stopping.abort();
    await Promise.all(this.running);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Hears of each attempt recorded, by the delivery's state after it (the metrics). */
  onAttempt: ((status: WebhookDeliveryStatus) => void) | undefined;

  /** Whether the worker runs (readiness). */
  get isRunning(): boolean {
    return this.poller.isRunning;
  }

  /** Looks for due deliveries now: some were just written. */
  wake(): void {
    this.poller.wake();
  }

  private async claim(): Promise<boolean> {
    if (this.orphansLeft) {
      await this.repo.endLeases(this.db);
      this.orphansLeft = false;
    }
    const slots = this.options.concurrency - this.running.size;
    if (slots <= 0 || this.draining) return false;
    const now = Date.now();
    const leaseUntil = now + this.leaseMs;
    const claim = { now: new Date(now).toISOString(), leaseUntil: new Date(leaseUntil).toISOString(), workerId: this.workerId, endpoints: slots, batch: BATCH };
    const claimed = await transaction(this.db, (trx) => this.repo.claim(trx, claim));
    for (const endpoint of claimed) {
      const run: Promise<void> = this.run(endpoint, leaseUntil)
        .catch((error) => this.log?.error({ err: error, webhookId: endpoint.id }, 'webhook endpoint could not be released: its claim runs out'))
        .finally(() => {
          this.running.delete(run);
          this.poller.wake();
        });
      this.running.add(run);
    }
    return claimed.length > 0;
  }

  /**
   * The secrets that sign: the current one, and the previous one while it still does (unless it
   * cannot be decrypted); a string saying why when the current one cannot be.
   */
  private secrets(endpoint: ClaimedEndpoint, now: number): string[] | string {
    const context = secretContext(endpoint.tenantId, endpoint.id);
    const open = (sealed: string) => {
      try {
        return this.keyRing.open(sealed, context);
      } catch (error) {
        if (error instanceof UnknownKeyError) return undefined;
        throw error;
      }
    };
    const current = open(endpoint.secret);
    if (current === undefined) {
      return `the endpoint's secret cannot be decrypted (sealed under key-encryption key ${KeyRing.sealedWith(endpoint.secret)}, which this server was not given): rotate its secret`;
    }
    const previous =
      endpoint.previousSecret && endpoint.previousSecretUntil && Date.parse(endpoint.previousSecretUntil) > now ? open(endpoint.previousSecret) : undefined;
    return previous === undefined ? [current] : [current, previous];
  }

  private async run(endpoint: ClaimedEndpoint, leaseUntil: number): Promise<void> {
    const sent: Sent[] = [];
    const connection = new Connection();
    // Each attempt is recorded as soon as it ends, while the next request goes out: a process
    // killed later sends again only the requests not recorded yet (the last one or two).
    let recording: Promise<void> = Promise.resolve();
    const record = async (done: Sent) => {
      await recording;
      recording = this.recordAttempt(endpoint, done);
      // Awaited before the next record and at the end; not an unhandled rejection meanwhile.
      recording.catch(() => undefined);
      sent.push(done);
    };
    try {
      const secrets = this.secrets(endpoint, Date.now());
      if (typeof secrets === 'string') {
        // Nothing can be signed: a failed attempt, retried like any other.
        const outcome = { statusCode: null, error: secrets, body: null, durationMs: 0, aborted: false };
        await record({ delivery: endpoint.deliveries[0]!, time: nowIso(), outcome });
      } else {
        for (const delivery of endpoint.deliveries) {
          if (this.draining || Date.now() + this.options.timeoutMs + RECORD_MARGIN_MS > leaseUntil) break;
          const time = nowIso();
          const timestamp = Math.floor(Date.now() / 1000);
          const headers = {
            'webhook-id': delivery.eventId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signatureHeader(secrets, delivery.eventId, timestamp, delivery.payload),
          };
          const outcome = await send(endpoint.url, headers, delivery.payload, { ...this.options, signal: this.stopping.signal, connection });
          if (outcome.aborted) break;
          await record({ delivery, time, outcome });
          if (!succeeded(outcome)) break;
        }
      }
      await recording;
    } catch (error) {
      // The database failing: what was not recorded is sent again.
      this.log?.error({ err: error, webhookId: endpoint.id }, 'webhook deliveries stopped');
    } finally {
      connection.close();
    }
    await this.finish(endpoint, sent);
  }

  /** Records an attempt and the delivery's next state: done, retried after the next wait, or failed. */
  private async recordAttempt(endpoint: ClaimedEndpoint, { delivery, time, outcome }: Sent): Promise<void> {
    const now = Date.now();
    const number = delivery.attempts + 1;
    const wait = succeeded(outcome) || outcome.statusCode === 410 ? undefined : this.options.retrySchedule[number - 1];
    const status: WebhookDeliveryStatus = succeeded(outcome) ? 'SUCCEEDED' : wait === undefined ? 'FAILED' : 'RETRYING';
    const attempt = {
      tenant_id: endpoint.tenantId,
      delivery_id: delivery.id,
      number,
      webhook_id: endpoint.id,
      time,
      duration_ms: outcome.durationMs,
      status_code: outcome.statusCode,
      error: outcome.error,
      response_body: outcome.body,
    };
    const next = new Date(now + (wait ?? 0)).toISOString();
    await transaction(this.db, (trx) => this.repo.recordAttempt(trx, attempt, { status, attempts: number, nextAttemptAt: next, lastAttemptAt: time }));
    this.onAttempt?.(status);
    if (wait !== undefined) this.wakeIn(wait);
  }

  /** Releases the endpoint, keeping when its failures began; disables it when it must. */
  private async finish(endpoint: ClaimedEndpoint, sent: readonly Sent[]): Promise<void> {
    const now = Date.now();
    const nowText = new Date(now).toISOString();
    let failingSince = endpoint.failingSince;
    for (const { outcome, time } of sent) failingSince = succeeded(outcome) ? null : (failingSince ?? time);
    const reason = sent.some((s) => s.outcome.statusCode === 410)
      ? 'the endpoint answered 410 Gone'
      : failingSince !== null && now - Date.parse(failingSince) >= FAILING_DAYS * DAY_MS
        ? `every attempt failed for ${FAILING_DAYS} days (since ${failingSince})`
        : undefined;
    const disabled = await transaction(this.db, async (trx) => {
      const mine = await this.repo.release(trx, endpoint.tenantId, endpoint.id, this.workerId, { failing_since: failingSince });
      if (!mine || reason === undefined || !(await this.repo.disable(trx, endpoint.tenantId, endpoint.id, reason, nowText))) return false;
      const row = (await this.repo.get(trx, endpoint.tenantId, endpoint.id))!;
      await this.events.append(trx, endpoint.tenantId, [
        {
          type: 'webhook.updated',
          actor: null,
          target: { type: 'webhook', id: endpoint.id },
          data: {
            object: toWebhook(row),
            changes: { enabled: { old: true, new: false }, disabledReason: { old: null, new: reason } },
            // Who is told by mail (notifications/mails.ts).
            ownerId: endpoint.ownerId,
          },
        },
      ]);
      return true;
    });
    if (disabled) {
      this.log?.warn({ webhookId: endpoint.id, reason }, 'webhook endpoint disabled');
    }
  }

  /** Looks for due deliveries again after `ms` (a retry this process scheduled); polling finds the others'. */
  private wakeIn(ms: number): void {
    if (this.draining) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.poller.wake();
    }, ms + 5);
    timer.unref();
    this.timers.add(timer);
  }
}
