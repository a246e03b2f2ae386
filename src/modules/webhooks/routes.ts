/** Webhooks under /admin/v1/webhooks: endpoints, their secrets and their delivery log. Org admins only. */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { type Route, route } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { adminOf } from '../../plugins/auth.js';
import type { Services } from '../../services.js';
import { Delivery, DeliveryParams, Paging, Webhook, WebhookBody, WebhookIdParam, WebhookPatch, WebhookWithSecret } from './schemas.js';

const requireAdmin = (request: FastifyRequest) => adminOf(request, 'manage webhooks');

const tag = 'Webhooks';
const errors = ErrorResponses;

export function webhookRoutes({ webhooks }: Services): Route[] {
  return [
    route({
      id: 'createWebhook',
      method: 'POST',
      url: '/admin/v1/webhooks',
      tag,
      summary: 'Register a webhook endpoint; its signing secret is shown once',
      schema: { body: WebhookBody, response: { 200: WebhookWithSecret, ...errors } },
      handler: async (request) => webhooks.create(requireAdmin(request), request.body),
    }),
    route({
      id: 'listWebhooks',
      method: 'GET',
      url: '/admin/v1/webhooks',
      tag,
      summary: 'List webhook endpoints, oldest first',
      schema: { querystring: Paging, response: { 200: Type.Array(Webhook), ...errors } },
      handler: async (request, reply) => {
        const { limit, offset, count } = request.query;
        const { webhooks: list, total } = await webhooks.list(requireAdmin(request).tenantId, limit, offset, count);
        if (total !== undefined) reply.header('X-Total-Count', total);
        return list;
      },
    }),
    route({
      id: 'getWebhook',
      method: 'GET',
      url: '/admin/v1/webhooks/:id',
      tag,
      summary: 'Get a webhook endpoint',
      schema: { params: WebhookIdParam, response: { 200: Webhook, ...errors } },
      handler: async (request) => webhooks.get(requireAdmin(request).tenantId, request.params.id),
    }),
    route({
      id: 'updateWebhook',
      method: 'PATCH',
      url: '/admin/v1/webhooks/:id',
      tag,
      summary: "Change a webhook endpoint's URL, events, description, or whether it is enabled",
      schema: { params: WebhookIdParam, body: WebhookPatch, response: { 200: Webhook, ...errors } },
      handler: async (request) => webhooks.update(requireAdmin(request), request.params.id, request.body),
    }),
    route({
      id: 'deleteWebhook',
      method: 'DELETE',
      url: '/admin/v1/webhooks/:id',
      tag,
      summary: 'Delete a webhook endpoint and its delivery log',
      schema: { params: WebhookIdParam, response: { 204: Type.Null(), ...errors } },
      handler: async (request, reply) => {
        await webhooks.delete(requireAdmin(request), request.params.id);
        return reply.code(204).send(null);
      },
    }),
    route({
      id: 'rotateWebhookSecret',
      method: 'POST',
      url: '/admin/v1/webhooks/:id/rotate-secret',
      tag,
      summary: 'Give a webhook endpoint a new secret, shown once; the old one signs beside it for 24 hours',
      schema: { params: WebhookIdParam, response: { 200: WebhookWithSecret, ...errors } },
      handler: async (request) => webhooks.rotateSecret(requireAdmin(request), request.params.id),
    }),
    route({
      id: 'testWebhook',
      method: 'POST',
      url: '/admin/v1/webhooks/:id/test',
      tag,
      summary: 'Send a webhook.test message to an endpoint; the answer is its delivery',
      schema: { params: WebhookIdParam, response: { 200: Delivery, ...errors } },
      handler: async (request) => webhooks.test(requireAdmin(request), request.params.id),
    }),
    route({
      id: 'listWebhookDeliveries',
      method: 'GET',
      url: '/admin/v1/webhooks/:id/deliveries',
      tag,
      summary: "List an endpoint's deliveries, newest first, each with its attempts",
      schema: { params: WebhookIdParam, querystring: Paging, response: { 200: Type.Array(Delivery), ...errors } },
      handler: async (request, reply) => {
        const { limit, offset, count } = request.query;
        const { deliveries, total } = await webhooks.deliveries(requireAdmin(request).tenantId, request.params.id, limit, offset, count);
        if (total !== undefined) reply.header('X-Total-Count', total);
        return deliveries;
      },
    }),
    route({
      id: 'retryWebhookDelivery',
      method: 'POST',
      url: '/admin/v1/webhooks/:id/deliveries/:deliveryId/retry',
      tag,
      summary: 'Send a delivery again now, with the same webhook-id',
      schema: { params: DeliveryParams, response: { 200: Delivery, ...errors } },
      handler: async (request) => webhooks.retry(requireAdmin(request).tenantId, request.params.id, request.params.deliveryId),
    }),
  ];
}
