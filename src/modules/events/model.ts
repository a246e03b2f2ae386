/**
 * Events: what a change writes to the log, how an event is hashed into its tenant's chain, and the
 * mapping of its rows. The canonical form is documented in docs/events.md; change it never (every
 * stored hash depends on it).
 */
import { createHash } from 'node:crypto';
import type { Principal } from '../../auth/principal.js';
import type { EventTable } from '../../db/types.js';

/** Who made a change: an identity, or null for the system. */
export type Actor = { id: string; alias: string } | null;

export interface Target {
  /** `source`, `record`, `request`… */
  type: string;
  id: string;
  /** The source the target belongs to (a source's own id for a source). */
  sourceId?: string | null | undefined;
}

/** A field's value before and after an update. */
export type Changes = Record<string, { old: unknown; new: unknown }>;

/**
 * The data of a change: the object after it (before it, for a deletion) and, for an update, the
 * fields that changed; some types add context (docs/events.md names it), such as the request an
 * approval item belongs to.
 */
export interface ChangeData {
  object: unknown;
  changes?: Changes;
  [context: string]: unknown;
}

/** What a change appends to the log (EventLog.append). */
export interface EventInput {
  /** `source.created`, `source.updated`… (docs/events.md lists them). */
  type: string;
  actor: Actor;
  target: Target;
  data: ChangeData;
}

/** An event whose data the caller has as JSON text already (a bulk import's records). */
export interface SerializedEventInput extends Omit<EventInput, 'data'> {
  dataText: string;
}

/** An event as the log holds it. */
export interface AuditEvent {
  id: string;
  seq: number;
  type: string;
  time: string;
  actor: Actor;
  target: { type: string; id: string; sourceId: string | null };
  /** The JSON text of the event's data, exactly as hashed. */
  data: string;
  prevHash: string;
  hash: string;
}

/** The `prev_hash` of a tenant's first event, and the checkpoint before anything was pruned. */
export const GENESIS_HASH = '0'.repeat(64);

/** The caller of an API request as an event's actor. */
export function actorOf(principal: Principal): Actor {
  return { id: principal.identityId, alias: principal.alias };
}

/** The `fields` whose values differ between `before` and `after` (compared as JSON), with both values. */
export function changesOf<T extends object>(before: T, after: T, fields: readonly (keyof T & string)[]): Changes {
  const changes: Changes = {};
  for (const field of fields) {
    if (JSON.stringify(before[field]) !== JSON.stringify(after[field])) changes[field] = { old: before[field], new: after[field] };
  }
  return changes;
}

/**
 * An event's hash: SHA-256, in lowercase hex, of the previous event's hash followed by the
 * canonical text of the event, the JSON array (no spaces)
 * `[tenant_id, seq, id, type, time, actor_id, actor_alias, target_type, target_id, source_id, data]`
 * of its stored values, absent ones null, `data` as one string (the stored JSON text).
 */
export function eventHash(row: Omit<EventTable, 'hash'>): string {
  const canonical = JSON.stringify([
    row.tenant_id,
    Number(row.seq),
    row.id,
    row.type,
    row.time,
    row.actor_id,
    row.actor_alias,
    row.target_type,
    row.target_id,
    row.source_id,
    row.data,
  ]);
  return createHash('sha256')
    .update(row.prev_hash + canonical, 'utf8')
    .digest('hex');
}

export function toAuditEvent(row: EventTable): AuditEvent {
  return {
    id: row.id,
    seq: Number(row.seq),
    type: row.type,
    time: row.time,
    actor: row.actor_id === null ? null : { id: row.actor_id, alias: row.actor_alias ?? '' },
    target: { type: row.target_type, id: row.target_id, sourceId: row.source_id },
    data: row.data,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
