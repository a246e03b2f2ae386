/**
 * The lifecycle policy (docs/lifecycle.md): a tenant-wide policy, and per source the settings that
 * differ from it. Absent settings of a source's overrides follow the tenant's; `null` turns an
 * optional rule (escalation, retention) off for the source.
 */

export interface LifecyclePolicy {
  /** Days before the end date at which the reminders go: at most 5, each at least 1. */
  reminderOffsetsDays: number[];
  /** Days a PENDING approval item waits before its approver is reminded. */
  approvalReminderDays: number;
  /** Days a PENDING approval item waits before it is escalated to the source's owner; null: never. */
  escalationDays: number | null;
  /** Days after its end date an expired record is deleted; null: never. */
  retentionDays: number | null;
  /** The hour (UTC) at which each day's reminder digests are mailed. */
  digestHourUtc: number;
}

/** What a source may set differently from its tenant (the digest hour is the tenant's). */
export type SourceOverrides = Partial<Omit<LifecyclePolicy, 'digestHourUtc'>>;

export const DEFAULT_POLICY: Readonly<LifecyclePolicy> = Object.freeze({
  reminderOffsetsDays: [14, 1],
  approvalReminderDays: 3,
  escalationDays: null,
  retentionDays: null,
  digestHourUtc: 8,
});

export const POLICY_BOUNDS = {
  offsets: 5,
  offsetDays: 365,
  approvalDays: 90,
  escalationDays: 365,
  retentionDays: 3650,
} as const;

/** Offsets without duplicates, the farthest first. */
export function normalizeOffsets(offsets: readonly number[]): number[] {
  return [...new Set(offsets)].sort((a, b) => b - a);
}

/** The tenant's stored settings over the defaults. */
export function tenantPolicy(stored: Partial<LifecyclePolicy> | undefined): LifecyclePolicy {
  return { ...DEFAULT_POLICY, ...stored, reminderOffsetsDays: normalizeOffsets(stored?.reminderOffsetsDays ?? DEFAULT_POLICY.reminderOffsetsDays) };
}

/** A source's policy: its overrides over its tenant's policy. */
export function sourcePolicy(tenant: LifecyclePolicy, overrides: SourceOverrides | undefined): LifecyclePolicy {
  const merged = { ...tenant, ...overrides };
  return { ...merged, reminderOffsetsDays: normalizeOffsets(merged.reminderOffsetsDays) };
}

/** Only the keys a source's overrides may hold (a stored document is read back through it). */
export function overridesOf(value: Record<string, unknown>): SourceOverrides {
  const out: SourceOverrides = {};
  if (Array.isArray(value.reminderOffsetsDays)) out.reminderOffsetsDays = normalizeOffsets(value.reminderOffsetsDays as number[]);
  if (typeof value.approvalReminderDays === 'number') out.approvalReminderDays = value.approvalReminderDays;
  if ('escalationDays' in value) out.escalationDays = value.escalationDays as number | null;
  if ('retentionDays' in value) out.retentionDays = value.retentionDays as number | null;
  return out;
}
