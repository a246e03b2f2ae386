/** Shapes of the console's own reads (`/console/api/…`): this server's, not part of SailPoint's NELM API. */
import { Type } from '@sinclair/typebox';
import { PathId } from '../../http/nelm-schemas.js';
import { AuditEvent } from '../events/schemas.js';

export const IdentitySearchQuery = Type.Object({
  search: Type.String({ minLength: 1, maxLength: 128, description: 'Text found in the alias, the name or the email (any case)' }),
  limit: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
});

export const IdentityMatch = Type.Object({
  id: Type.String(),
  alias: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  email: Type.Union([Type.String(), Type.Null()]),
});

export const WorkgroupSearchQuery = Type.Object({
  search: Type.String({ minLength: 1, maxLength: 128, description: 'Text found in the name (any case)' }),
  limit: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
});

export const WorkgroupMatch = Type.Object({ id: Type.String(), name: Type.String() });

export const PeopleQuery = Type.Object({
  ids: Type.String({
    minLength: 1,
    maxLength: 50 * 37,
    description: 'Up to 50 identity or governance group ids (32 hex characters or dashed UUIDs), separated by commas',
  }),
});

export const Person = Type.Object({
  id: Type.String(),
  type: Type.Union([Type.Literal('IDENTITY'), Type.Literal('GOVERNANCE_GROUP')]),
  name: Type.String({ description: "An identity's name (its alias when it has none), a governance group's name" }),
  alias: Type.Union([Type.String(), Type.Null()], { description: "An identity's alias; null for a governance group" }),
});

export const RecordHistoryParams = Type.Object({ id: PathId('Non-Employee record id (UUID)') });

export const RecordHistoryQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 250, default: 50 }),
  offset: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
});

export const RecordHistory = Type.Object({
  editable: Type.Union([Type.Literal('all'), Type.Literal('endDate'), Type.Literal('none')], {
    description: 'What the caller may change of the record: every field (idn:nesr:update), its endDate (the owner of its source), or nothing',
  }),
  total: Type.Integer({ description: 'How many events the record has' }),
  events: Type.Array(AuditEvent, { description: "The record's audit events, newest first" }),
});
