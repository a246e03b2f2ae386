/**
 * When each lifecycle step of a record or an approval item falls, as pure functions of the
 * policy and the basis (the record's end date, the time the item became PENDING). A step's time is
 * its basis plus or minus whole days of 24 hours: the end date is an instant, whatever offset it
 * was written with, so daylight-saving changes move no step.
 *
 * At any time the step that applies is the latest whose time has come (`current`): a record that
 * enters a window late gets that window's step, not the ones already past; a clock that jumps over
 * several steps does the last one only, except that expiry is never skipped (retention follows it).
 */
import type { LifecyclePolicy } from './policy.js';

export const DAY_MS = 24 * 3600 * 1000;

/** Rows whose next step is none: far beyond any due time the sweep reads. */
export const IDLE_AT = '9999-12-31T00:00:00.000Z';

export interface Planned {
  /** `remind:<days>`, `expire`, `retain`; `approval_reminder`, `escalate`. */
  step: string;
  at: number;
}

/** A record's steps in time order: its reminders, its expiry at the end date, its retention. */
export function recordSteps(endMs: number, policy: LifecyclePolicy): Planned[] {
  const steps: Planned[] = policy.reminderOffsetsDays.map((days) => ({ step: `remind:${days}`, at: endMs - days * DAY_MS }));
  steps.push({ step: 'expire', at: endMs });
  if (policy.retentionDays !== null) steps.push({ step: 'retain', at: endMs + policy.retentionDays * DAY_MS });
  return steps.sort((a, b) => a.at - b.at);
}

/** A PENDING item's steps from the time it became PENDING: the reminder, then the escalation. */
export function approvalSteps(pendingSinceMs: number, policy: LifecyclePolicy): Planned[] {
  const steps: Planned[] = [{ step: 'approval_reminder', at: pendingSinceMs + policy.approvalReminderDays * DAY_MS }];
  if (policy.escalationDays !== null) steps.push({ step: 'escalate', at: pendingSinceMs + policy.escalationDays * DAY_MS });
  return steps.sort((a, b) => a.at - b.at);
}

/** The latest step whose time has come at `now`. */
export function currentStep(steps: readonly Planned[], now: number): Planned | undefined {
  return steps.filter((s) => s.at <= now).at(-1);
}

/** The first step still to come after `now`. */
export function nextStep(steps: readonly Planned[], now: number): Planned | undefined {
  return steps.find((s) => s.at > now);
}

/** The reminder offset of a `remind:<days>` step. */
export function reminderDays(step: string): number | undefined {
  return step.startsWith('remind:') ? Number(step.slice('remind:'.length)) : undefined;
}
