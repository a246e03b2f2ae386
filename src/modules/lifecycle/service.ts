/**
 * The lifecycle's policy (read and written by org admins) and its part in every write of a record:
 * in the transaction of the write, each record whose end date is new gets its next step planned
 * (`lifecycle_due`), and a record that had expired and now ends later is active again
 * (`record.reactivated`). The sweep (sweep.ts) does what falls due; docs/lifecycle.md tells it all.
 */
import type { Kysely } from 'kysely';
import type { Principal } from '../../auth/principal.js';
import { afterCommit, type Exec, transaction } from '../../db/dialect.js';
import type { LifecycleDueTable } from '../../db/lifecycle-types.js';
import type { Database } from '../../db/types.js';
import { type Clock, isoOf } from '../../domain/clock.js';
import { fail } from '../../errors/api-error.js';
import { type Actor, actorOf, type EventInput } from '../events/model.js';
import type { EventLog } from '../events/service.js';
import { splitRecordDate } from '../records/dates.js';
import type { NonEmployeeRecord } from '../records/model.js';
import type { ApprovalService } from '../requests/approvals.js';
import type { ApprovalItemView } from '../requests/model.js';
import type { Decision } from '../requests/state.js';
import type { RecordLifecycle } from '../records/service.js';
import type { SourceService } from '../sources/service.js';
import { type LifecyclePolicy, overridesOf, type SourceOverrides, sourcePolicy, tenantPolicy } from './policy.js';
import { type LifecycleRepository, TENANT_WIDE } from './repository.js';
import { approvalSteps, currentStep, IDLE_AT, nextStep, type Planned, recordSteps } from './schedule.js';

/** The effective policy of each source of a tenant, read once. */
export type PolicyOf = (sourceId: string) => LifecyclePolicy;

export interface SourcePolicyView {
  sourceId: string;
  overrides: SourceOverrides;
  effective: LifecyclePolicy;
}

/** Escalation comes after the reminder. */
function checkPolicy(policy: LifecyclePolicy): void {
  if (policy.escalationDays !== null && policy.escalationDays <= policy.approvalReminderDays) {
    const text = `escalationDays (${policy.escalationDays}) must be more than approvalReminderDays (${policy.approvalReminderDays})`;
    throw fail.invalid([{ field: 'escalationDays', text }]);
  }
}

/** The due row of a target's step at `now`: the step that applies now, else the next one, else none. */
export function dueRow(base: Omit<LifecycleDueTable, 'step' | 'due_at'>, steps: readonly Planned[], now: number): LifecycleDueTable {
  const step = currentStep(steps, now) ?? nextStep(steps, now);
  return { ...base, step: step?.step ?? 'idle', due_at: step ? new Date(step.at).toISOString() : IDLE_AT };
}

/** The due row of a target's next step after `now` (the one that applies now was just done). */
export function laterRow(base: Omit<LifecycleDueTable, 'step' | 'due_at'>, steps: readonly Planned[], now: number): LifecycleDueTable {
  const step = nextStep(steps, now);
  const { tenant_id, kind, target_id, source_id, basis } = base;
  return { tenant_id, kind, target_id, source_id, basis, step: step?.step ?? 'idle', due_at: step ? new Date(step.at).toISOString() : IDLE_AT };
}

export class LifecycleService implements RecordLifecycle {
  /** Runs after a transaction planned a step due at once (the sweep's wake). */
  onDueNow: () => void = () => undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly repo: LifecycleRepository,
    private readonly sources: SourceService,
    private readonly events: EventLog,
    private readonly approvals: ApprovalService,
    readonly clock: Clock,
  ) {}

  /** The effective policies of a tenant's sources. */
  async policies(db: Exec, tenantId: string): Promise<PolicyOf> {
    const stored = await this.repo.policies(db, tenantId);
    const tenant = tenantPolicy(stored.get(TENANT_WIDE) as Partial<LifecyclePolicy> | undefined);
    return (sourceId) => {
      const overrides = stored.get(sourceId);
      return overrides ? sourcePolicy(tenant, overridesOf(overrides)) : tenant;
    };
  }

  async tenantPolicy(tenantId: string): Promise<LifecyclePolicy> {
    return (await this.policies(this.db, tenantId))(TENANT_WIDE);
  }

  async setTenantPolicy(principal: Principal, body: Partial<LifecyclePolicy>): Promise<LifecyclePolicy> {
    const policy = tenantPolicy(body);
    checkPolicy(policy);
    const tenantId = principal.tenantId;
    await transaction(this.db, async (trx) => {
      await this.repo.savePolicy(trx, tenantId, TENANT_WIDE, policy, isoOf(this.clock));
      const policyOf = await this.policies(trx, tenantId);
      // Every source's effective policy must still hold together.
      for (const sourceId of await this.sources.sourceIds(tenantId)) checkPolicy(policyOf(sourceId));
      await this.replanned(trx, tenantId, undefined, principal, { object: policy });
    });
    return policy;
  }

  async sourcePolicy(tenantId: string, sourceId: string): Promise<SourcePolicyView> {
    const source = await this.sources.find(tenantId, sourceId);
    const stored = (await this.repo.policies(this.db, tenantId)).get(source.id);
    const policyOf = await this.policies(this.db, tenantId);
    return { sourceId: source.id, overrides: stored ? overridesOf(stored) : {}, effective: policyOf(source.id) };
  }

  async setSourcePolicy(principal: Principal, sourceId: string, overrides: SourceOverrides): Promise<SourcePolicyView> {
    const tenantId = principal.tenantId;
    const source = await this.sources.find(tenantId, sourceId);
    const clean = overridesOf(overrides as Record<string, unknown>);
    checkPolicy(sourcePolicy(await this.tenantPolicy(tenantId), clean));
    await transaction(this.db, async (trx) => {
      await this.repo.savePolicy(trx, tenantId, source.id, clean, isoOf(this.clock));
      await this.replanned(trx, tenantId, source.id, principal, { object: { sourceId: source.id, overrides: clean } });
    });
    return this.sourcePolicy(tenantId, source.id);
  }

  async deleteSourcePolicy(principal: Principal, sourceId: string): Promise<void> {
    const tenantId = principal.tenantId;
    const source = await this.sources.find(tenantId, sourceId);
    await transaction(this.db, async (trx) => {
      if (!(await this.repo.deletePolicy(trx, tenantId, source.id))) return;
      await this.replanned(trx, tenantId, source.id, principal, { object: { sourceId: source.id, overrides: {} } });
    });
  }

  /** The policy changed: every step it may move is planned again by the sweep; `lifecycle_policy.updated`. */
  private async replanned(trx: Exec, tenantId: string, sourceId: string | undefined, principal: Principal, data: EventInput['data']): Promise<void> {
    await this.repo.replan(trx, tenantId, sourceId, isoOf(this.clock));
    const target = { type: 'lifecycle_policy', id: sourceId ?? 'tenant', sourceId: sourceId ?? null };
    await this.events.append(trx, tenantId, [{ type: 'lifecycle_policy.updated', actor: actorOf(principal), target, data }]);
    afterCommit(trx, this.onDueNow);
  }

  /** RecordLifecycle: plans the steps of records whose end date is new; `record.reactivated` for an expired one that now ends later. */
  async written(trx: Exec, tenantId: string, records: readonly NonEmployeeRecord[], actor: Actor): Promise<EventInput[]> {
    if (records.length === 0) return [];
    const now = this.clock.now();
    const ids = records.map((r) => r.id);
    const existing = await this.repo.dueOf(trx, tenantId, 'record', ids);
    const moved = records.filter((r) => existing.get(r.id)?.basis !== splitRecordDate(r.endDate).instant);
    if (moved.length === 0) return [];
    const policyOf = await this.policies(trx, tenantId);
    const done = await this.repo.doneOf(
      trx,
      tenantId,
      'record',
      moved.map((r) => r.id),
    );
    const events: EventInput[] = [];
    const rows = moved.map((record) => {
      const end = splitRecordDate(record.endDate).instant;
      const before = existing.get(record.id)?.basis;
      if (before && done.get(record.id)?.has(`${before}|expire`) && Date.parse(end) > now) {
        const target = { type: 'record', id: record.id, sourceId: record.sourceId };
        events.push({ type: 'record.reactivated', actor, target, data: { object: record, expiredEndDate: before } });
      }
      const base = { tenant_id: tenantId, kind: 'record', target_id: record.id, source_id: record.sourceId, basis: end };
      return dueRow(base, recordSteps(Date.parse(end), policyOf(record.sourceId)), now);
    });
    await this.repo.setDue(trx, rows);
    if (rows.some((r) => Date.parse(r.due_at) <= now)) afterCommit(trx, this.onDueNow);
    return events;
  }

  /**
   * RecordLifecycle: plans the steps of records just created. Nothing was planned or done for a
   * new record, so nothing is read but the policies: the same rows `written` would write.
   */
  async created(trx: Exec, tenantId: string, records: readonly NonEmployeeRecord[]): Promise<void> {
    if (records.length === 0) return;
    const now = this.clock.now();
    const policyOf = await this.policies(trx, tenantId);
    const rows = records.map((record) => {
      const end = splitRecordDate(record.endDate).instant;
      const base = { tenant_id: tenantId, kind: 'record', target_id: record.id, source_id: record.sourceId, basis: end };
      return dueRow(base, recordSteps(Date.parse(end), policyOf(record.sourceId)), now);
    });
    await this.repo.setDue(trx, rows);
    if (rows.some((r) => Date.parse(r.due_at) <= now)) afterCommit(trx, this.onDueNow);
  }

  /** RecordLifecycle: nothing is due any more of deleted records. */
  deleted(trx: Exec, tenantId: string, ids: readonly string[]): Promise<void> {
    return this.repo.deleteDue(trx, tenantId, 'record', ids);
  }

  /** An approval item became PENDING at `since`: its reminder (and escalation) planned. */
  async approvalPending(trx: Exec, tenantId: string, itemId: string, sourceId: string, since: string): Promise<void> {
    const policyOf = await this.policies(trx, tenantId);
    const base = { tenant_id: tenantId, kind: 'approval', target_id: itemId, source_id: sourceId, basis: since };
    const row = dueRow(base, approvalSteps(Date.parse(since), policyOf(sourceId)), this.clock.now());
    await this.repo.setDue(trx, [row]);
    if (Date.parse(row.due_at) <= this.clock.now()) afterCommit(trx, this.onDueNow);
  }

  /** The owner of the item's source decides it once it was escalated to them (`decidedAs` escalation). */
  decideEscalated(principal: Principal, id: string, decision: Decision, comment: string | null): Promise<ApprovalItemView> {
    const tenantId = principal.tenantId;
    const allowed = async (item: ApprovalItemView) => {
      if (!(await this.repo.wasDone(this.db, tenantId, 'approval', item.id, 'escalate'))) return false;
      const pending = await this.approvals.pending(this.db, tenantId, item.id);
      // Decided meanwhile: the state machine says so (400.1.3).
      if (!pending) return true;
      return (await this.sources.find(tenantId, pending.request.source.id)).ownerId === principal.identityId;
    };
    const refusal = `Only the owner of its source may decide approval item ${id}, and only once it was escalated.`;
    return this.approvals.decideAs(principal, id, decision, comment, 'escalation', allowed, refusal);
  }

  /** An org admin decides any PENDING item in place of its approver, with a comment (`decidedAs` override). */
  decideOverride(principal: Principal, id: string, decision: Decision, comment: string): Promise<ApprovalItemView> {
    if (comment.trim() === '') throw fail.invalid([{ field: 'comment', text: 'comment is required' }]);
    const refusal = 'Only an org admin may decide an approval item in place of its approver.';
    return this.approvals.decideAs(principal, id, decision, comment, 'override', async () => principal.admin, refusal);
  }
}
