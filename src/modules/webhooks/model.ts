/** Webhooks: endpoints, deliveries and attempts as the service sees them; the body each event is sent as. */
import type { WebhookAttemptTable, WebhookDeliveryStatus, WebhookDeliveryTable, WebhookTable } from '../../db/types.js';
import type { AuditEvent } from '../events/model.js';

export interface Webhook {
  id: string;
  url: string;
  /** Event types, `prefix.*` or `*`. */
  events: string[];
  description: string | null;
  enabled: boolean;
  /** Why the server disabled it (410 Gone, failing for days); null otherwise. */
  disabledReason: string | null;
  created: string;
  modified: string;
}

/** An endpoint with its secret: the answer to creating it and to rotating its secret, once. */
export interface WebhookWithSecret extends Webhook {
  secret: string;
}

export interface Attempt {
  number: number;
  time: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** The start of the response's body. */
  response: string | null;
}

export interface Delivery {
  id: string;
  /** The event's id: the `webhook-id` of every attempt. */
  eventId: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  /** RETRYING: when the next attempt is due; otherwise null. */
  nextAttemptAt: string | null;
  created: string;
  attempts: Attempt[];
}

/** A delivery as the worker sends it. */
export interface Outgoing {
  seq: number;
  id: string;
  eventId: string;
  payload: string;
  attempts: number;
}

/** An endpoint claimed by a worker, with what is due to it, in order. */
export interface ClaimedEndpoint {
  tenantId: string;
  id: string;
  url: string;
  events: string[];
  ownerId: string;
  /** Sealed. */
  secret: string;
  previousSecret: string | null;
  previousSecretUntil: string | null;
  failingSince: string | null;
  deliveries: Outgoing[];
}

/** What the event consumer needs of an enabled endpoint. */
export interface Subscription {
  id: string;
  patterns: string[];
  fromSeq: number;
}

export function toWebhook(row: Pick<WebhookTable, 'id' | 'url' | 'events' | 'description' | 'enabled' | 'disabled_reason' | 'created' | 'modified'>): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    description: row.description,
    enabled: Number(row.enabled) === 1,
    disabledReason: row.disabled_reason,
    created: row.created,
    modified: row.modified,
  };
}

export function toAttempt(row: WebhookAttemptTable): Attempt {
  return {
    number: Number(row.number),
    time: row.time,
    durationMs: Number(row.duration_ms),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    error: row.error,
    response: row.response_body,
  };
}

export function toDelivery(row: Omit<WebhookDeliveryTable, 'payload' | 'seq'>, attempts: Attempt[]): Delivery {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    nextAttemptAt: row.status === 'RETRYING' ? row.next_attempt_at : null,
    created: row.created,
    attempts,
  };
}

/** Whether an event type is one an endpoint asked for: the type itself, `prefix.*` or `*`. */
export function matches(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

/**
 * The body an event is sent as: `{type, timestamp, data}`, `data` holding the event's id, actor
 * and target, then its own data (`object`, `changes`…).
 */
export function envelope(event: Pick<AuditEvent, 'id' | 'type' | 'time' | 'actor' | 'target' | 'data'>): string {
  const data = JSON.parse(event.data) as Record<string, unknown>;
  return JSON.stringify({ type: event.type, timestamp: event.time, data: { id: event.id, actor: event.actor, target: event.target, ...data } });
}

/** What a webhook's secrets are sealed with (auth/key-encryption.ts): they open for this endpoint only. */
export function secretContext(tenantId: string, id: string): string {
  return `webhook:${tenantId}:${id}`;
}
