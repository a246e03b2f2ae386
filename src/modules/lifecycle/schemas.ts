/** Shapes of the lifecycle's admin API (docs/lifecycle.md): not part of SailPoint's NELM API. */
import { Type } from '@sinclair/typebox';
import { POLICY_BOUNDS } from './policy.js';

const Offsets = Type.Array(Type.Integer({ minimum: 1, maximum: POLICY_BOUNDS.offsetDays }), {
  maxItems: POLICY_BOUNDS.offsets,
  description: `Days before a record's end date at which its account managers and its source's owner are reminded and \`record.expiring\` is emitted: at most ${POLICY_BOUNDS.offsets}, each 1 to ${POLICY_BOUNDS.offsetDays}`,
  example: [14, 1],
});
const ApprovalDays = Type.Integer({
  minimum: 1,
  maximum: POLICY_BOUNDS.approvalDays,
  description: 'Days a PENDING approval item waits before its approver is reminded (`approval.reminder`)',
  example: 3,
});
const EscalationDays = Type.Union([Type.Integer({ minimum: 1, maximum: POLICY_BOUNDS.escalationDays }), Type.Null()], {
  description:
    "Days a PENDING approval item waits before it is escalated to its source's owner (`approval.escalated`), more than approvalReminderDays; null: never",
  example: 7,
});
const RetentionDays = Type.Union([Type.Integer({ minimum: 1, maximum: POLICY_BOUNDS.retentionDays }), Type.Null()], {
  description: 'Days after its end date an expired record is deleted (`record.deleted`, reason `retention`); null: never',
  example: null,
});
const DigestHour = Type.Integer({ minimum: 0, maximum: 23, description: "The hour (UTC) at which each day's reminder digests are mailed", example: 8 });

export const LifecyclePolicy = Type.Object(
  {
    reminderOffsetsDays: Offsets,
    approvalReminderDays: ApprovalDays,
    escalationDays: EscalationDays,
    retentionDays: RetentionDays,
    digestHourUtc: DigestHour,
  },
  { title: 'LifecyclePolicy' },
);

/** A tenant policy to write: what it leaves out takes its default. */
export const LifecyclePolicyBody = Type.Partial(LifecyclePolicy, { additionalProperties: false });

const overrideFields = {
  reminderOffsetsDays: Type.Optional(Offsets),
  approvalReminderDays: Type.Optional(ApprovalDays),
  escalationDays: Type.Optional(EscalationDays),
  retentionDays: Type.Optional(RetentionDays),
};

/** A source's overrides: what it leaves out follows the tenant's policy. */
export const SourceOverridesBody = Type.Object(overrideFields, { additionalProperties: false });

export const SourceLifecyclePolicy = Type.Object(
  {
    sourceId: Type.String({ description: 'The non-employee source' }),
    overrides: Type.Object(overrideFields, { description: "The settings this source sets differently from the tenant's policy" }),
    effective: LifecyclePolicy,
  },
  { title: 'SourceLifecyclePolicy' },
);

export const SourceIdParam = Type.Object({ sourceId: Type.String({ minLength: 1, maxLength: 64, description: 'Non-employee source id' }) });

export const ApprovalIdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'Approval item id' }) });

export const EscalationDecision = Type.Object(
  {
    decision: Type.Union([Type.Literal('APPROVE'), Type.Literal('REJECT')]),
    comment: Type.Optional(Type.String({ maxLength: 4000, description: 'Required to reject' })),
  },
  { additionalProperties: false },
);

export const OverrideDecision = Type.Object(
  {
    decision: Type.Union([Type.Literal('APPROVE'), Type.Literal('REJECT')]),
    comment: Type.String({ minLength: 1, maxLength: 4000, description: 'Why an org admin decides in place of the approver: required' }),
  },
  { additionalProperties: false },
);
