/**
 * The mails the approval workflow owes people, derived from the event log (a consumer of it,
 * docs/events.md): each event is read once, in its tenant's order, and the notifications it calls
 * for are written in the same transaction as the consumer's cursor moves, for the sender
 * (NotificationService) to deliver.
 *
 * - `approval.requested`: the approver of the item (every member, for a governance group).
 * - `request.approved`: the requester, naming who gave the last approval (none: no approvers).
 * - `request.rejected`: the requester, with the approver's level and comment.
 * - `request.deleted` of a PENDING request: the approval requests no sender has tried yet are
 *   dropped, and the approvers of its open level who may have been told hear it was withdrawn.
 * - `webhook.updated` by the server disabling an endpoint: the endpoint's owner.
 *
 * The people named (requester, approvers) are looked up when the event is read; the request's own
 * fields are those the event carries.
 */
import type { Exec } from '../../db/dialect.js';
import type { Member } from '../directory/model.js';
import type { DirectoryService } from '../directory/service.js';
import type { EventConsumer } from '../events/consumers.js';
import type { Actor, AuditEvent } from '../events/model.js';
import {
  NOTIFICATION_KINDS,
  type Person,
  type RequestFacts,
  approvalRequested,
  requestApproved,
  requestRejected,
  requestWithdrawn,
  webhookDisabled,
} from './messages.js';
import type { OutboxEntry } from './model.js';
import type { NotificationService } from './service.js';

/** What the mails read of a request, as the workflow's events carry it. */
interface RequestData {
  id: string;
  source: { id: string; name: string };
  requesterId: string;
  firstName: string;
  lastName: string;
  accountName: string;
  email: string;
  startDate: string;
  endDate: string;
  status: string;
  recordId: string | null;
  items?: { id: string; order: number; approver: Member; status: string; comment: string | null; decidedBy: string | null }[];
  levels?: number;
}

/** The events that may call for a mail. */
const MAILED = new Set(['approval.requested', 'request.approved', 'request.rejected', 'request.deleted', 'webhook.updated']);

interface EventData {
  object: unknown;
  changes?: Record<string, { old: unknown; new: unknown }>;
  request?: RequestData;
  ownerId?: string;
}

interface ItemData {
  id: string;
  order: number;
  approver: Member;
}

export class MailConsumer implements EventConsumer {
  readonly name = 'mails';
  readonly types = [...MAILED];
  /** From each chain's first event: a database new to this consumer has no mail owed before its first request. */
  readonly startAt = 'beginning';

  constructor(
    private readonly notifications: NotificationService,
    private readonly directory: DirectoryService,
  ) {}

  async consume(trx: Exec, tenantId: string, events: readonly AuditEvent[]): Promise<void> {
    for (const event of events) {
      const entries = await this.entriesOf(trx, tenantId, event);
      if (entries.length > 0) await this.notifications.enqueue(trx, tenantId, entries, event.time);
    }
  }

  committed(): void {
    this.notifications.wake();
  }

  private async entriesOf(trx: Exec, tenantId: string, event: AuditEvent): Promise<OutboxEntry[]> {
    if (!MAILED.has(event.type)) return [];
    const data = JSON.parse(event.data) as EventData;
    switch (event.type) {
      case 'approval.requested': {
        const item = data.object as ItemData;
        const request = data.request!;
        const facts = await this.facts(tenantId, request);
        const recipients = await this.directory.identitiesOf(trx, tenantId, item.approver);
        return recipients.map((r) => approvalRequested(r, facts, { id: item.id, order: item.order, levels: request.levels ?? 1 }));
      }
      case 'request.approved': {
        const request = data.object as RequestData;
        const last = request.items?.at(-1);
        const by = last?.decidedBy ? await this.person(tenantId, last.decidedBy) : undefined;
        return [requestApproved(await this.facts(tenantId, request), request.recordId ?? '', by)];
      }
      case 'request.rejected': {
        const request = data.object as RequestData;
        const rejected = request.items?.find((i) => i.status === 'REJECTED');
        const by = rejected?.decidedBy ? await this.person(tenantId, rejected.decidedBy) : undefined;
        return [requestRejected(await this.facts(tenantId, request), by, rejected?.order ?? 0, rejected?.comment ?? '')];
      }
      case 'request.deleted': {
        const request = data.object as RequestData;
        if (request.status !== 'PENDING') return [];
        return this.withdrawn(trx, tenantId, request, event.actor);
      }
      case 'webhook.updated': {
        // Disabled by the server (not by an admin): its owner is told.
        if (event.actor !== null || data.changes?.enabled?.new !== false || !data.ownerId) return [];
        const webhook = data.object as { id: string; url: string; disabledReason: string | null };
        return [webhookDisabled(data.ownerId, webhook, webhook.disabledReason ?? 'disabled by the server')];
      }
      default:
        return [];
    }
  }

  /** A PENDING request went: its unsent approval requests are dropped; those who may have been told hear of it. */
  private async withdrawn(trx: Exec, tenantId: string, request: RequestData, actor: Actor): Promise<OutboxEntry[]> {
    const dropped = new Set(await this.notifications.dropUnsent(trx, tenantId, request.id, NOTIFICATION_KINDS.approvalRequested));
    const facts = await this.facts(tenantId, request);
    const by = actor ? await this.person(tenantId, actor.id, actor.alias) : undefined;
    const entries: OutboxEntry[] = [];
    for (const item of (request.items ?? []).filter((i) => i.status === 'PENDING')) {
      const recipients = (await this.directory.identitiesOf(trx, tenantId, item.approver)).filter((r) => !dropped.has(r));
      for (const r of recipients) entries.push(requestWithdrawn(r, facts, by));
    }
    return entries;
  }

  private async person(tenantId: string, id: string, alias = id): Promise<Person> {
    const identity = await this.directory.identityById(tenantId, id);
    return identity ? { id, alias: identity.alias, name: identity.name } : { id, alias, name: null };
  }

  private async facts(tenantId: string, request: RequestData): Promise<RequestFacts> {
    return {
      requestId: request.id,
      requester: await this.person(tenantId, request.requesterId),
      firstName: request.firstName,
      lastName: request.lastName,
      accountName: request.accountName,
      email: request.email,
      startDate: request.startDate,
      endDate: request.endDate,
      source: { id: request.source.id, name: request.source.name },
    };
  }
}
