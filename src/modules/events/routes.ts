/** The audit trail under /admin/v1/audit-events: the event log, read by org admins only. */
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Route, route } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { adminOf } from '../../plugins/auth.js';
import type { Services } from '../../services.js';
import type { AuditEvent as Event } from './model.js';
import { AuditCsv, AuditDownloadQuery, AuditEvent, AuditEventIdParam, AuditListQuery } from './schemas.js';

/** The caller's tenant, when the caller is an org admin; a 403 otherwise. */
const adminTenant = (request: FastifyRequest): string => adminOf(request, 'read the audit trail').tenantId;

function sendCsv(reply: FastifyReply, lines: AsyncIterable<string>) {
  return reply
    .header('Content-Type', 'text/csv; charset=utf-8')
    .header('Content-Disposition', 'attachment; filename="audit-events.csv"')
    .send(Readable.from(lines));
}

/** The wire shape of an event: its data as JSON. */
function eventDto(event: Event) {
  return { ...event, data: JSON.parse(event.data) as Record<string, unknown> };
}

const tag = 'Audit';

export function auditRoutes({ events }: Services): Route[] {
  return [
    route({
      id: 'listAuditEvents',
      method: 'GET',
      url: '/admin/v1/audit-events',
      tag,
      summary: 'List audit events (the event log), oldest first by default',
      schema: { querystring: AuditListQuery, response: { 200: Type.Array(AuditEvent), ...ErrorResponses } },
      handler: async (request, reply) => {
        const { events: list, total } = await events.list(adminTenant(request), request.query);
        if (total !== undefined) reply.header('X-Total-Count', total);
        return list.map(eventDto);
      },
    }),
    route({
      id: 'downloadAuditEvents',
      method: 'GET',
      url: '/admin/v1/audit-events/download',
      tag,
      summary: 'Export audit events as CSV, in chain order',
      produces: ['text/csv'],
      schema: { querystring: AuditDownloadQuery, response: { 200: AuditCsv, ...ErrorResponses } },
      handler: async (request, reply) => sendCsv(reply, events.csv(adminTenant(request), request.query.filters)),
    }),
    route({
      id: 'getAuditEvent',
      method: 'GET',
      url: '/admin/v1/audit-events/:id',
      tag,
      summary: 'Get an audit event',
      schema: { params: AuditEventIdParam, response: { 200: AuditEvent, ...ErrorResponses } },
      handler: async (request) => eventDto(await events.get(adminTenant(request), request.params.id)),
    }),
  ];
}
