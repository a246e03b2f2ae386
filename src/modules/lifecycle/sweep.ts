/**
 * The lifecycle's sweep (docs/lifecycle.md): a loop in every server process that claims what is
 * due — rows of `lifecycle_due` whose `due_at` has come, read through its index, and digests whose
 * hour has come — and does it. One batch is one transaction: claim the rows (FOR UPDATE SKIP
 * LOCKED on PostgreSQL, so processes share the work; a SQLite file has one process), record each
 * step as done (`lifecycle_done`, once per target, basis and step), append its event, and plan
 * the target's next step. A step is done once whatever crashes: it commits with its event or not
 * at all. At start the sweep runs at once, so what fell due while no server ran is done then.
 */
import type { Kysely } from 'kysely';
import { afterCommit, type Exec, transaction } from '../../db/dialect.js';
import type { LifecycleDoneTable, LifecycleDueTable } from '../../db/lifecycle-types.js';
import type { Database } from '../../db/types.js';
import { isoOf } from '../../domain/clock.js';
import { Poller } from '../../jobs/poller.js';
import type { EventInput } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import type { NotificationService } from '../notifications/service.js';
import { splitRecordDate } from '../records/dates.js';
import type { NonEmployeeRecord } from '../records/model.js';
import type { RecordService } from '../records/service.js';
import type { ApprovalService } from '../requests/approvals.js';
import { approvalEvent } from '../requests/events.js';
import type { Source } from '../sources/model.js';
import type { SourceService } from '../sources/service.js';
import { digestMail } from './messages.js';
import type { LifecycleRepository } from './repository.js';
import { approvalSteps, currentStep, type Planned, recordSteps, reminderDays } from './schedule.js';
import { type LifecycleService, laterRow } from './service.js';

export interface SweepLog {
  error(obj: object, msg: string): void;
}

export interface SweepOptions {
  /** How often the sweep looks for what is due; 10 s by default. */
  intervalMs?: number;
  /** Rows per transaction; 100 by default, so that a batch holds the event loop and the writer briefly. */
  batch?: number;
}

/** What a batch owes, per tenant. */
interface Work {
  events: EventInput[];
  done: LifecycleDoneTable[];
  /** The event of each done step, by `target|basis|step`: appended only if the step was not done before. */
  eventOf: Map<string, EventInput[]>;
  next: LifecycleDueTable[];
  finished: string[];
}

const key = (d: Pick<LifecycleDoneTable, 'target_id' | 'basis' | 'step'>) => `${d.target_id}|${d.basis}|${d.step}`;

export class LifecycleSweep {
  private readonly poller: Poller;
  private readonly batch: number;
  private log: SweepLog | undefined;
  private started = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: LifecycleRepository,
    private readonly lifecycle: LifecycleService,
    private readonly services: { records: RecordService; sources: SourceService; approvals: ApprovalService; notifications: NotificationService },
    private readonly events: EventLog,
    options: SweepOptions = {},
  ) {
    this.batch = options.batch ?? 100;
    this.poller = new Poller({
      name: 'lifecycle',
      idleMs: options.intervalMs ?? 10_000,
      tick: () => this.tick(),
      onError: (error) => this.log?.error({ err: error }, 'lifecycle sweep: a batch failed; it is retried'),
    });
  }

  start(log?: SweepLog): void {
    if (this.started) return;
    this.started = true;
    this.log = log;
    this.poller.start();
  }

  async stop(): Promise<void> {
    if (this.started) await this.poller.stop();
    this.started = false;
  }

  get isRunning(): boolean {
    return this.poller.isRunning;
  }

  /** Sweeps now: something was planned due at once. */
  wake(): void {
    if (this.started) this.poller.wake();
  }

  /** Does everything due now (tests, the benchmark). */
  async drain(): Promise<void> {
    await this.poller.drain();
  }

  /** One batch of due steps and one of due digests; true when either did something. */
  async tick(): Promise<boolean> {
    const steps = await this.sweepDue();
    const digests = await this.sendDigests();
    return steps || digests;
  }

  private async sweepDue(): Promise<boolean> {
    return transaction(this.db, async (trx) => {
      const rows = await this.repo.claimDue(trx, isoOf(this.lifecycle.clock), this.batch);
      const tenants = [...new Set(rows.map((r) => r.tenant_id))];
      for (const tenantId of tenants) {
        const mine = rows.filter((r) => r.tenant_id === tenantId);
        const work: Work = { events: [], done: [], eventOf: new Map(), next: [], finished: [] };
        await this.records(
          trx,
          tenantId,
          mine.filter((r) => r.kind === 'record'),
          work,
        );
        await this.approvals(
          trx,
          tenantId,
          mine.filter((r) => r.kind === 'approval'),
          work,
        );
        for (const done of await this.repo.markDone(trx, work.done)) work.events.push(...(work.eventOf.get(key(done)) ?? []));
        await this.repo.deleteDue(trx, tenantId, 'record', work.finished);
        await this.repo.setDue(trx, work.next);
        await this.events.append(trx, tenantId, work.events);
      }
      return rows.length > 0;
    });
  }

  private async sourceOf(cache: Map<string, Source | undefined>, tenantId: string, id: string): Promise<Source | undefined> {
    if (!cache.has(id)) cache.set(id, await this.services.sources.find(tenantId, id).catch(() => undefined));
    return cache.get(id);
  }

  /** Who a record's reminders and expiry are for: its source's account managers and owner. */
  private static people(source: Source | undefined) {
    return { accountManagers: source?.accountManagers ?? [], ownerId: source?.ownerId ?? null };
  }

  private async records(trx: Exec, tenantId: string, rows: readonly LifecycleDueTable[], work: Work): Promise<void> {
    if (rows.length === 0) return;
    const now = this.lifecycle.clock.now();
    const ids = rows.map((r) => r.target_id);
    const records = await this.services.records.byIds(trx, tenantId, ids);
    const policyOf = await this.lifecycle.policies(trx, tenantId);
    const done = await this.repo.doneOf(trx, tenantId, 'record', ids);
    const sources = new Map<string, Source | undefined>();
    const retained: NonEmployeeRecord[] = [];
    for (const row of rows) {
      const record = records.get(row.target_id);
      if (!record) {
        work.finished.push(row.target_id);
        continue;
      }
      const basis = splitRecordDate(record.endDate).instant;
      const steps = recordSteps(Date.parse(basis), policyOf(record.sourceId));
      const isDone = (step: string) => done.get(record.id)?.has(`${basis}|${step}`) === true;
      const current = currentStep(steps, now);
      const target = { type: 'record', id: record.id, sourceId: record.sourceId };
      const people = LifecycleSweep.people(await this.sourceOf(sources, tenantId, record.sourceId));
      const doStep = (step: string, data: EventInput['data']) => {
        const d = { tenant_id: tenantId, kind: 'record', target_id: record.id, basis, step, time: new Date(now).toISOString() };
        work.done.push(d);
        work.eventOf.set(key(d), [{ type: `record.${step === 'expire' ? 'expired' : 'expiring'}`, actor: null, target, data }]);
      };
      const expire = () => doStep('expire', { object: record, endDate: record.endDate, ...people });
      if (current?.step === 'retain') {
        if (!isDone('expire')) expire();
        retained.push(record);
        work.finished.push(record.id);
        continue;
      }
      const later = (s: Planned) => steps.some((o) => o.at >= s.at && isDone(o.step));
      if (current && !later(current)) {
        if (current.step === 'expire') expire();
        else doStep(current.step, { object: record, endDate: record.endDate, daysBefore: reminderDays(current.step), ...people });
      }
      const base = { tenant_id: tenantId, kind: 'record', target_id: record.id, source_id: record.sourceId, basis };
      work.next.push(laterRow(base, steps, now));
    }
    await this.retain(trx, tenantId, retained, work, now);
  }

  /** Deletes records whose retention ended: `record.deleted`, reason retention, after their `record.expired` if owed. */
  private async retain(trx: Exec, tenantId: string, records: readonly NonEmployeeRecord[], work: Work, now: number): Promise<void> {
    if (records.length === 0) return;
    const steps = records.map((r) => ({
      tenant_id: tenantId,
      kind: 'record',
      target_id: r.id,
      basis: splitRecordDate(r.endDate).instant,
      step: 'retain',
      time: new Date(now).toISOString(),
    }));
    const fresh = new Set((await this.repo.markDone(trx, steps)).map((d) => d.target_id));
    const deleted = await this.services.records.removeRetained(
      trx,
      tenantId,
      records.filter((r) => fresh.has(r.id)),
    );
    // Their record.expired (when owed) goes before their deletion.
    for (const done of await this.repo.markDone(trx, work.done)) work.events.push(...(work.eventOf.get(key(done)) ?? []));
    work.done = [];
    for (const record of deleted) {
      work.events.push({
        type: 'record.deleted',
        actor: null,
        target: { type: 'record', id: record.id, sourceId: record.sourceId },
        data: { object: record, reason: 'retention' },
      });
    }
  }

  private async approvals(trx: Exec, tenantId: string, rows: readonly LifecycleDueTable[], work: Work): Promise<void> {
    if (rows.length === 0) return;
    const now = this.lifecycle.clock.now();
    const policyOf = await this.lifecycle.policies(trx, tenantId);
    const done = await this.repo.doneOf(
      trx,
      tenantId,
      'approval',
      rows.map((r) => r.target_id),
    );
    const sources = new Map<string, Source | undefined>();
    const gone: string[] = [];
    for (const row of rows) {
      const pending = await this.services.approvals.pending(trx, tenantId, row.target_id);
      if (!pending) {
        gone.push(row.target_id);
        continue;
      }
      const steps = approvalSteps(Date.parse(row.basis), policyOf(row.source_id));
      const current = currentStep(steps, now);
      const isDone = (step: string) => done.get(row.target_id)?.has(`${row.basis}|${step}`) === true;
      if (current && !steps.some((o) => o.at >= current.at && isDone(o.step))) {
        const d = { tenant_id: tenantId, kind: 'approval', target_id: row.target_id, basis: row.basis, step: current.step, time: new Date(now).toISOString() };
        work.done.push(d);
        const event = approvalEvent(null, current.step === 'escalate' ? 'escalated' : 'reminder', pending.item, pending.request);
        const source = await this.sourceOf(sources, tenantId, row.source_id);
        const context = current.step === 'escalate' ? { ownerId: source?.ownerId ?? null } : {};
        work.eventOf.set(key(d), [{ ...event, data: { ...event.data, pendingSince: row.basis, ...context } }]);
      }
      work.next.push(laterRow(row, steps, now));
    }
    await this.repo.deleteDue(trx, tenantId, 'approval', gone);
  }

  /** Mails the digests whose hour has come: one mail per person and day, then the digest is gone. */
  private async sendDigests(): Promise<boolean> {
    const { notifications } = this.services;
    return transaction(this.db, async (trx) => {
      const now = isoOf(this.lifecycle.clock);
      const due = await this.repo.claimDigests(trx, now, 50);
      for (const { digest, lines } of due) {
        if (lines.length > 0) await notifications.enqueue(trx, digest.tenant_id, [digestMail(digest.recipient_id, digest.day, lines)], now);
        await this.repo.deleteDigest(trx, digest);
      }
      if (due.length > 0) afterCommit(trx, () => notifications.wake());
      return due.length > 0;
    });
  }
}
