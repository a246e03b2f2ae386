/**
 * Delivers the notification outbox. A job-runner loop (`Poller`) claims due notifications (one
 * more attempt each, leased for `leaseMs`), then:
 * - the recipient has no email address (or is gone): marked UNDELIVERABLE, logged;
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
import nodemailer, { type Transporter } from 'nodemailer';
import { Poller } from '../../jobs/poller.js';
import type { ClaimedNotification, NotificationRepository } from './repository.js';

export interface SenderLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const SILENT: SenderLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface SenderOptions {
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

/** What the services need: a nudge after committing notifications. */
export interface Notifier {
  wake(): void;
}

const DEFAULTS = { retryBaseMs: 30_000, retryMaxMs: 3_600_000, maxAttempts: 8, leaseMs: 300_000, batch: 20, idleMs: 5_000 };

export class NotificationSender implements Notifier {
  private readonly poller: Poller;
  private readonly options: Required<Omit<SenderOptions, 'smtpUrl'>> & { smtpUrl?: string | undefined };
  private transport: Transporter | undefined;
  private log: SenderLog = SILENT;
  private started = false;
  /** Ticks run one at a time, whoever calls them (the loop or `drain`). */
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repo: NotificationRepository,
    options: SenderOptions,
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.poller = new Poller({
      name: 'notifications',
      tick: () => this.tick(),
      idleMs: this.options.idleMs,
      onError: (error) => this.log.error({ err: error }, 'notification sender: tick failed'),
    });
  }

  /** Mailed (SMTP_URL set) or logged. */
  get mode(): 'smtp' | 'log' {
    return this.options.smtpUrl ? 'smtp' : 'log';
  }

  start(log: SenderLog = SILENT): void {
    if (this.started) return;
    this.started = true;
    this.log = log;
    this.poller.start();
  }

  async stop(): Promise<void> {
    if (this.started) await this.poller.stop();
    this.started = false;
    this.transport?.close();
    this.transport = undefined;
  }

  wake(): void {
    if (this.started) this.poller.wake();
  }

  /** Delivers everything due now (tests and the CLI). */
  drain(): Promise<void> {
    return this.poller.drain();
  }

  /** Backoff before attempt `attempts + 1`. */
  retryDelay(attempts: number): number {
    return Math.min(this.options.retryBaseMs * 2 ** Math.max(0, attempts - 1), this.options.retryMaxMs);
  }

  private smtp(): Transporter {
    this.transport ??= nodemailer.createTransport({
      url: this.options.smtpUrl!,
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
    });
    return this.transport;
  }

  tick(): Promise<boolean> {
    const run = this.inFlight.then(() => this.tickOnce());
    this.inFlight = run.catch(() => undefined);
    return run;
  }

  private async tickOnce(): Promise<boolean> {
    const now = Date.now();
    const claimed = await this.repo.claim(new Date(now).toISOString(), new Date(now + this.options.leaseMs).toISOString(), this.options.batch);
    for (const notification of claimed) await this.deliver(notification);
    return claimed.length > 0;
  }

  private async deliver(n: ClaimedNotification): Promise<void> {
    const about = { notification: { id: n.id, kind: n.kind, recipientId: n.recipientId } };
    if (n.email === null) {
      await this.repo.markUndeliverable(n.tenantId, n.id, 'the recipient has no email address');
      this.log.warn({ ...about, subject: n.subject }, 'notification undeliverable: the recipient has no email address');
      return;
    }
    if (this.mode === 'log') {
      this.log.info({ ...about, to: n.email, subject: n.subject, text: n.body }, 'notification (no SMTP_URL configured: logged, not mailed)');
      await this.repo.markSent(n.tenantId, n.id, new Date().toISOString());
      return;
    }
    try {
      await this.smtp().sendMail({ from: this.options.from, to: n.email, subject: n.subject, text: n.body });
    } catch (error) {
      const message = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
      if (n.attempts >= this.options.maxAttempts) {
        await this.repo.markFailed(n.tenantId, n.id, message);
        this.log.error({ ...about, attempts: n.attempts, error: message }, 'notification failed for good: giving up');
      } else {
        const next = new Date(Date.now() + this.retryDelay(n.attempts)).toISOString();
        await this.repo.retryLater(n.tenantId, n.id, next, message);
        this.log.warn({ ...about, attempts: n.attempts, retryAt: next, error: message }, 'notification not sent: will retry');
      }
      return;
    }
    await this.repo.markSent(n.tenantId, n.id, new Date().toISOString());
    this.log.info({ ...about, subject: n.subject }, 'notification mailed');
  }
}
