/** Shapes of the audit trail (the admin API): not part of SailPoint's NELM API. */
import { Type } from '@sinclair/typebox';
import { Count, Limit, Offset } from '../../collections/paging.js';
import { ID_PATTERN } from '../../domain/ids.js';

const FILTERS =
  'Filter results using the standard syntax described in [V3 API Standard Collection Parameters](https://developer.sailpoint.com/idn/api/standard-collection-parameters#filtering-results).\n\n' +
  'Filtering is supported for the following fields and operators:\n\n' +
  '**type**: *eq, in, sw*\n\n**actorId**: *eq, in*\n\n**targetId**: *eq, in*\n\n**sourceId**: *eq, in*\n\n**time**: *gt, ge, lt, le*';

export const AuditFilters = Type.Optional(Type.String({ description: FILTERS, example: 'type sw "source." and time ge "2026-12-01T00:00:00Z"' }));

export const AuditListQuery = Type.Object({
  filters: AuditFilters,
  sorters: Type.Optional(
    Type.String({
      description: 'Sort results using the standard syntax: `time` (the default) or `-time`; the chain order breaks ties.',
      example: '-time',
    }),
  ),
  limit: Limit,
  offset: Offset,
  count: Count,
});

export const AuditDownloadQuery = Type.Object({ filters: AuditFilters });

export const AuditEventIdParam = Type.Object({ id: Type.String({ pattern: ID_PATTERN, description: 'Audit event id (UUID)' }) });

export const AuditActor = Type.Union([Type.Object({ id: Type.String(), alias: Type.String() }), Type.Null()], {
  description: 'The identity that made the change; null for the system',
});

export const AuditTarget = Type.Object({
  type: Type.String({ description: 'What changed: source, record, request…', example: 'source' }),
  id: Type.String(),
  sourceId: Type.Union([Type.String(), Type.Null()], { description: 'The source the target belongs to' }),
});

export const AuditEvent = Type.Object({
  id: Type.String({ description: 'Event id (UUID version 7)' }),
  seq: Type.Integer({ description: "The event's place in its tenant's hash chain: 1, 2, 3…" }),
  type: Type.String({ example: 'source.updated' }),
  time: Type.String({ format: 'date-time' }),
  actor: AuditActor,
  target: AuditTarget,
  data: Type.Object(
    {},
    {
      additionalProperties: true,
      description: 'The object after the change (before it, for a deletion) as `object`; for an update, the changed fields as `changes`: {field: {old, new}}',
    },
  ),
  prevHash: Type.String({ description: "The previous event's hash" }),
  hash: Type.String({ description: 'SHA-256 (hex) of prevHash and the canonical text of the event (docs/events.md)' }),
});

export const AuditCsv = Type.String({
  description: 'One line per event, after a header: id, seq, time, type, actorId, actorAlias, targetType, targetId, sourceId, data (JSON), hash.',
});
