/**
 * Notifications: written by the mail consumer of the event log (mails.ts) in the transaction
 * that moves its cursor (`enqueue`), and delivered by a loop (`Poller`) that claims due ones (one
 * more attempt each, leased for `leaseMs`), then:
 * - the recipient has no email address (or is gone), or one holding a control character: marked
 *   UNDELIVERABLE, logged;
 * - SMTP_URL is set: mailed through SMTP from NELM_MAIL_FROM, then marked SENT; a failed send is
 *   retried after `retryBaseMs · 2^(attempts-1)` (capped at `retryMaxMs`), and marked FAILED
 *   after `maxAttempts`;
 * - no SMTP_URL: written to the log (kind, recipient, subject and text; never the SMTP URL) and
 *   marked SENT.
 *
 * Each mail is sent once: a claimed row is leased, so no other sender takes it while it is being
 * sent. The one duplicate window: the process dies after the SMTP server accepted the mail and
 * before the row is marked SENT; the lease then runs out and the mail is sent again.
 */
import type { Kysely } from 'kysely';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Exec } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import { asOneLine, controlCharacterProblem } from '../../domain/text.js';
import { Poller } from '../../jobs/poller.js';
import type { DirectoryService } from '../directory/service.js';
import type { ClaimedNotification, OutboxEntry, StoredNotification } from './model.js';
import type { NotificationRepository } from './repository.js';

export interface NotificationLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const SILENT: NotificationLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface NotificationOptions {
  /** smtp:// or smtps:// URL; undefined: notifications are logged instead. */
  smtpUrl?: string | undefined;
  from: string;
  retryBaseMs?: number;
  retryMaxMs?: number;
  maxAttempts?: number;
  /** How long a claimed notification is reserved for its sender; longer than an SMTP send. */
  leaseMs?: number;
  batch?: number;
  idleMs?: number;
}

const DEFAULTS = { retryBaseMs: 30_000, retryMaxMs: 3_600_000, maxAttempts: 8, leaseMs: 300_000, batch: 20, idleMs: 5_000 };

export class NotificationService {
  private readonly poller: Poller;
  private readonly options: Required<Omit<NotificationOptions, 'smtpUrl'>> & { smtpUrl?: string | undefined };
  private transport: Transporter | undefined;
  private log: NotificationLog = SILENT;
  private started = false;
  /** Ticks run one at a time, whoever calls them (the loop or `drain`). */
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: NotificationRepository,
    private readonly directory: DirectoryService,
    options: NotificationOptions,
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.poller = new Poller({
      name: 'notifications',
      tick: () => this.tick(),
      idleMs: this.options.idleMs,
      onError: (error) => this.log.error({ err: error }, 'notification sender: tick failed'),
    });
  }

  /** Writes notifications in the caller's transaction; `wake` after it commits. */
  enqueue(trx: Exec, tenantId: string, entries: readonly OutboxEntry[], now: string): Promise<void> {
    return this.repo.enqueue(trx, tenantId, entries, now);
  }

  /** Drops, in the caller's transaction, the notices of one kind about a request not yet sent; their recipients. */
  dropUnsent(trx: Exec, tenantId: string, requestId: string, kind: string): Promise<string[]> {
    return this.repo.dropUnsent(trx, tenantId, requestId, kind);
  }

  /** The notifications about a request, oldest first. */
  forRequest(tenantId: string, requestId: string): Promise<StoredNotification[]> {
    return this.repo.forRequest(this.db, tenantId, requestId);
  }

  /** Mailed (SMTP_URL set) or logged. */
  get mode(): 'smtp' | 'log' {
    return this.options.smtpUrl ? 'smtp' : 'log';
  }

  start(log: NotificationLog = SILENT): void {
    if (this.started) return;
    this.started = true;
    this.log = log;
    this.poller.start();
  }

  /** Whether the sender runs (readiness). */
  get isRunning(): boolean {
    return this.poller.isRunning;
  }

  async stop(): Promise<void> {
    if (this.started) await this.poller.stop();
    this.started = false;
    this.transport?.close();
    this.transport = undefined;
  }

  /** Delivers what was just committed without waiting for the next poll. */
  wake(): void {
    if (this.started) this.poller.wake();
  }

  /** Writes what the mails owe for the events committed so far (the mail consumer's drain); set when wired. */
  beforeDrain: () => Promise<void> = async () => undefined;

  /** Writes and delivers everything due now (tests and the CLI). */
  async drain(): Promise<void> {
    await this.beforeDrain();
    await this.poller.drain();
  }

  /** Backoff before attempt `attempts + 1`. */
  retryDelay(attempts: number): number {
    return Math.min(this.options.retryBaseMs * 2 ** Math.max(0, attempts - 1), this.options.retryMaxMs);
  }

  private smtp(): Transporter {
    this.transport ??= nodemailer.createTransport({ url: this.options.smtpUrl!, connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 });
    return this.transport;
  }

  tick(): Promise<boolean> {
    const run = this.inFlight.then(() => this.tickOnce());
    this.inFlight = run.catch(() => undefined);
    return run;
  }

  private async tickOnce(): Promise<boolean> {
    const now = Date.now();
    const claimed = await this.repo.claim(this.db, new Date(now).toISOString(), new Date(now + this.options.leaseMs).toISOString(), this.options.batch);
    const emails = new Map<string, Map<string, string>>();
    for (const tenantId of new Set(claimed.map((c) => c.tenantId))) {
      const ids = claimed.filter((c) => c.tenantId === tenantId).map((c) => c.recipientId);
      emails.set(tenantId, await this.directory.emails(tenantId, ids));
    }
    for (const notification of claimed) await this.deliver(notification, emails.get(notification.tenantId)?.get(notification.recipientId));
    return claimed.length > 0;
  }

  private finish(n: ClaimedNotification, changes: Parameters<NotificationRepository['finish']>[3]): Promise<void> {
    return this.repo.finish(this.db, n.tenantId, n.id, changes);
  }

  private async deliver(n: ClaimedNotification, email: string | undefined): Promise<void> {
    const about = { notification: { id: n.id, kind: n.kind, recipientId: n.recipientId } };
    if (email === undefined) {
      await this.finish(n, { status: 'UNDELIVERABLE', last_error: 'the recipient has no email address' });
      this.log.warn({ ...about, subject: n.subject }, 'notification undeliverable: the recipient has no email address');
      return;
    }
    if (controlCharacterProblem('email', email) !== undefined) {
      await this.finish(n, { status: 'UNDELIVERABLE', last_error: "the recipient's email address holds a control character" });
      this.log.warn({ ...about, subject: n.subject }, "notification undeliverable: the recipient's email address holds a control character");
      return;
    }
    if (this.mode === 'log') {
      this.log.info({ ...about, to: email, subject: n.subject, text: n.body }, 'notification (no SMTP_URL configured: logged, not mailed)');
      await this.finish(n, { status: 'SENT', sent_at: new Date().toISOString(), last_error: null });
      return;
    }
    try {
      // The address as one mailbox (a string would be read as a list), the subject as one line.
      await this.smtp().sendMail({ from: this.options.from, to: { name: '', address: email }, subject: asOneLine(n.subject), text: n.body });
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
      if (n.attempts >= this.options.maxAttempts) {
        await this.finish(n, { status: 'FAILED', last_error: message });
        this.log.error({ ...about, attempts: n.attempts, error: message }, 'notification failed for good: giving up');
      } else {
        const next = new Date(Date.now() + this.retryDelay(n.attempts)).toISOString();
        await this.finish(n, { status: 'PENDING', next_attempt_at: next, last_error: message });
        this.log.warn({ ...about, attempts: n.attempts, retryAt: next, error: message }, 'notification not sent: will retry');
      }
      return;
    }
    await this.finish(n, { status: 'SENT', sent_at: new Date().toISOString(), last_error: null });
    this.log.info({ ...about, subject: n.subject }, 'notification mailed');
  }
}
