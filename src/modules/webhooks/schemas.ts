/** Shapes of the webhooks' admin API: not part of SailPoint's NELM API. */
import { Type } from '@sinclair/typebox';
import { Count, Limit, Offset } from '../../collections/paging.js';
import { ID_PATTERN } from '../../domain/ids.js';

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'Where events are POSTed: an https:// URL whose host has public addresses only (docs/events.md, "Safety")',
  example: 'https://hooks.example.com/nelm',
});

const EventPattern = Type.String({
  pattern: '^(\\*|[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*(\\.\\*)?)$',
  maxLength: 100,
  description: 'An event type (`record.created`), every type of an object (`record.*`), or every event (`*`)',
});

const Events = Type.Array(EventPattern, { minItems: 1, maxItems: 50, description: 'The events sent to the endpoint', example: ['record.*'] });
const Description = Type.Union([Type.String({ maxLength: 1000 }), Type.Null()]);

export const WebhookBody = Type.Object({ url: Url, events: Events, description: Type.Optional(Description) }, { additionalProperties: false });

export const WebhookPatch = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    description: Type.Optional(Description),
    enabled: Type.Optional(Type.Boolean({ description: 'false: nothing is sent to it; true again: what waited is sent' })),
  },
  { additionalProperties: false },
);

const webhookFields = {
  id: Type.String({ description: 'Webhook id (UUID)' }),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Description,
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()], { description: 'Why the server disabled it (410 Gone, failing for 5 days); null otherwise' }),
  created: Type.String({ format: 'date-time' }),
  modified: Type.String({ format: 'date-time' }),
};

export const Webhook = Type.Object(webhookFields);

export const WebhookWithSecret = Type.Object({
  ...webhookFields,
  secret: Type.String({ description: 'The signing secret, `whsec_` + base64: shown once', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
});

export const WebhookIdParam = Type.Object({ id: Type.String({ pattern: ID_PATTERN, description: 'Webhook id (UUID)' }) });
export const DeliveryParams = Type.Object({
  id: Type.String({ pattern: ID_PATTERN, description: 'Webhook id (UUID)' }),
  deliveryId: Type.String({ pattern: ID_PATTERN, description: 'Delivery id (UUID)' }),
});

export const Paging = Type.Object({ limit: Limit, offset: Offset, count: Count });

export const Attempt = Type.Object({
  number: Type.Integer({ description: '1 for the first attempt' }),
  time: Type.String({ format: 'date-time', description: 'When the request was started' }),
  durationMs: Type.Integer(),
  statusCode: Type.Union([Type.Integer(), Type.Null()], { description: 'The HTTP status the endpoint answered; null when it did not' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why there was no answer: refused address, connection error, time out' }),
  response: Type.Union([Type.String(), Type.Null()], { description: 'The start of the response body (1 KiB at most)' }),
});

export const Delivery = Type.Object({
  id: Type.String({ description: 'Delivery id (UUID)' }),
  eventId: Type.String({ description: 'The event id, sent as `webhook-id` on every attempt' }),
  eventType: Type.String({ example: 'record.created' }),
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('RETRYING'), Type.Literal('SUCCEEDED'), Type.Literal('FAILED')], {
    description: 'PENDING: to be sent now; RETRYING: waiting for nextAttemptAt; SUCCEEDED: a 2xx; FAILED: every attempt failed, or 410 Gone',
  }),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created: Type.String({ format: 'date-time' }),
  attempts: Type.Array(Attempt),
});
