/**
 * The lifecycle's consumer of the event log (like notifications/mails.ts): what it derives from
 * each event is written in the transaction that moves its cursor, so it is written once.
 *
 * - `approval.requested`: the item's reminder (and escalation) is planned in `lifecycle_due`;
 * - `record.expiring`: a line in the day's digest of each account manager of the record's source
 *   (every member, for a governance group) and of its owner; the digest is mailed at the policy's
 *   hour (the sweep sends it): one mail per person and day, however many records;
 * - `approval.reminder`: a mail to the item's approver(s);
 * - `approval.escalated`: a mail to the source's owner, naming the escalation endpoint.
 */
import type { Exec } from '../../db/dialect.js';
import type { LifecycleDigestLineTable, LifecycleDigestTable } from '../../db/lifecycle-types.js';
import type { Member } from '../directory/model.js';
import type { DirectoryService } from '../directory/service.js';
import type { EventConsumer } from '../events/consumers.js';
import type { AuditEvent } from '../events/model.js';
import type { NotificationService } from '../notifications/service.js';
import type { NonEmployeeRecord } from '../records/model.js';
import type { SourceService } from '../sources/service.js';
import { approvalEscalated, approvalReminder, digestLine, type PendingFacts } from './messages.js';
import { TENANT_WIDE } from './repository.js';
import type { LifecycleRepository } from './repository.js';
import { DAY_MS } from './schedule.js';
import type { LifecycleService } from './service.js';

interface ExpiringData {
  object: NonEmployeeRecord;
  endDate: string;
  daysBefore: number;
  accountManagers: Member[];
  ownerId: string | null;
}

interface ApprovalData {
  object: { id: string; approver: Member; modified: string };
  request: { id: string; source: { id: string; name: string }; firstName: string; lastName: string; accountName: string };
  pendingSince?: string;
  ownerId?: string | null;
}

/** The first digest time (the policy's hour, UTC) at or after `now`, and its day. */
export function digestTime(now: number, hourUtc: number): { day: string; dueAt: string } {
  const d = new Date(now);
  let at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hourUtc);
  if (at < now) at += DAY_MS;
  const iso = new Date(at).toISOString();
  return { day: iso.slice(0, 10), dueAt: iso };
}

export class LifecycleConsumer implements EventConsumer {
  readonly name = 'lifecycle';
  readonly types = ['approval.requested', 'record.expiring', 'approval.reminder', 'approval.escalated'];
  /** From each chain's first event: approval items PENDING before the consumer first ran are planned too. */
  readonly startAt = 'beginning';

  constructor(
    private readonly lifecycle: LifecycleService,
    private readonly repo: LifecycleRepository,
    private readonly notifications: NotificationService,
    private readonly directory: DirectoryService,
    private readonly sources: SourceService,
  ) {}

  async consume(trx: Exec, tenantId: string, events: readonly AuditEvent[]): Promise<void> {
    let mailed = false;
    for (const event of events) {
      if (event.type === 'approval.requested') {
        const data = JSON.parse(event.data) as ApprovalData;
        await this.lifecycle.approvalPending(trx, tenantId, data.object.id, data.request.source.id, data.object.modified);
      } else if (event.type === 'record.expiring') {
        await this.digest(trx, tenantId, JSON.parse(event.data) as ExpiringData);
      } else if (event.type === 'approval.reminder' || event.type === 'approval.escalated') {
        const data = JSON.parse(event.data) as ApprovalData;
        const facts = this.pendingFacts(data);
        const entries =
          event.type === 'approval.reminder'
            ? (await this.directory.identitiesOf(trx, tenantId, data.object.approver)).map((id) => approvalReminder(id, facts))
            : data.ownerId
              ? [approvalEscalated(data.ownerId, facts)]
              : [];
        if (entries.length > 0) await this.notifications.enqueue(trx, tenantId, entries, event.time);
        mailed ||= entries.length > 0;
      }
    }
    if (mailed) this.notifications.wake();
  }

  private pendingFacts(data: ApprovalData): PendingFacts {
    const r = data.request;
    return {
      itemId: data.object.id,
      requestId: r.id,
      firstName: r.firstName,
      lastName: r.lastName,
      accountName: r.accountName,
      source: r.source,
      pendingSince: data.pendingSince ?? data.object.modified,
    };
  }

  private async digest(trx: Exec, tenantId: string, data: ExpiringData): Promise<void> {
    const record = data.object;
    const recipients = new Set<string>();
    for (const member of data.accountManagers) for (const id of await this.directory.identitiesOf(trx, tenantId, member)) recipients.add(id);
    if (data.ownerId) recipients.add(data.ownerId);
    if (recipients.size === 0) return;
    const source = await this.sources.find(tenantId, record.sourceId, trx).catch(() => undefined);
    const policy = (await this.lifecycle.policies(trx, tenantId))(TENANT_WIDE);
    const { day, dueAt } = digestTime(this.lifecycle.clock.now(), policy.digestHourUtc);
    const line = digestLine({
      recordId: record.id,
      firstName: record.firstName,
      lastName: record.lastName,
      accountName: record.accountName,
      email: record.email,
      endDate: data.endDate,
      daysBefore: data.daysBefore,
      source: { id: record.sourceId, name: source?.name ?? record.sourceId },
    });
    const digests: LifecycleDigestTable[] = [];
    const lines: LifecycleDigestLineTable[] = [];
    for (const recipient of recipients) {
      digests.push({ tenant_id: tenantId, recipient_id: recipient, day, due_at: dueAt });
      lines.push({ tenant_id: tenantId, recipient_id: recipient, day, record_id: record.id, step: `remind:${data.daysBefore}`, line });
    }
    await this.repo.addToDigests(trx, digests, lines);
  }
}
