/**
 * The admin API under /admin/v1: identities, their API clients and governance groups. Org-admin
 * tokens only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { fail } from '../../errors/api-error.js';
import { normalizeId } from '../../domain/ids.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import type { DirectoryService } from '../directory/service.js';
import { ClientCredentials, ClientIdParam, ClientSummary, Identity, IdentityBody, IdParam, Page, Workgroup, WorkgroupBody, WorkgroupPatch } from './schemas.js';
import { Type } from '@sinclair/typebox';

function requireAdmin(request: FastifyRequest) {
  const principal = principalOf(request);
  if (!principal.admin) throw fail.forbidden();
  return principal;
}

export function adminRoutes(parent: FastifyInstance, directory: DirectoryService): void {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['Admin'];

  app.post('/admin/v1/identities', { schema: { tags, body: IdentityBody, response: { 200: Identity, ...ErrorResponses } } }, async (request) => {
    const principal = requireAdmin(request);
    return directory.createIdentity(principal.tenantId, request.body);
  });

  app.get(
    '/admin/v1/identities',
    { schema: { tags, querystring: Page, response: { 200: Type.Array(Identity), ...ErrorResponses } } },
    async (request, reply) => {
      const principal = requireAdmin(request);
      const { limit, offset, count } = request.query;
      if (count) reply.header('X-Total-Count', await directory.countIdentities(principal.tenantId));
      return directory.listIdentities(principal.tenantId, limit, offset);
    },
  );

  app.get('/admin/v1/identities/:id', { schema: { tags, params: IdParam, response: { 200: Identity, ...ErrorResponses } } }, async (request) => {
    const principal = requireAdmin(request);
    const identity = await directory.identityById(principal.tenantId, normalizeId(request.params.id));
    if (!identity) throw fail.notFound();
    return identity;
  });

  app.post(
    '/admin/v1/identities/:id/clients',
    { schema: { tags, params: IdParam, response: { 200: ClientCredentials, ...ErrorResponses } } },
    async (request) => {
      const principal = requireAdmin(request);
      return directory.createClient(principal.tenantId, normalizeId(request.params.id));
    },
  );

  app.get(
    '/admin/v1/identities/:id/clients',
    { schema: { tags, params: IdParam, response: { 200: Type.Array(ClientSummary), ...ErrorResponses } } },
    async (request) => {
      const principal = requireAdmin(request);
      return directory.listClients(principal.tenantId, normalizeId(request.params.id));
    },
  );

  app.delete(
    '/admin/v1/clients/:clientId',
    { schema: { tags, params: ClientIdParam, response: { 204: Type.Null(), ...ErrorResponses } } },
    async (request, reply) => {
      const principal = requireAdmin(request);
      await directory.deleteClient(principal.tenantId, request.params.clientId);
      return reply.code(204).send(null);
    },
  );

  app.post('/admin/v1/workgroups', { schema: { tags, body: WorkgroupBody, response: { 200: Workgroup, ...ErrorResponses } } }, async (request) => {
    const principal = requireAdmin(request);
    return directory.createWorkgroup(principal.tenantId, { ...request.body, members: request.body.members.map(normalizeId) });
  });

  app.get('/admin/v1/workgroups', { schema: { tags, querystring: Page, response: { 200: Type.Array(Workgroup), ...ErrorResponses } } }, async (request) => {
    const principal = requireAdmin(request);
    return directory.listWorkgroups(principal.tenantId, request.query.limit, request.query.offset);
  });

  app.get('/admin/v1/workgroups/:id', { schema: { tags, params: IdParam, response: { 200: Workgroup, ...ErrorResponses } } }, async (request) => {
    const principal = requireAdmin(request);
    return directory.getWorkgroup(principal.tenantId, normalizeId(request.params.id));
  });

  app.patch(
    '/admin/v1/workgroups/:id',
    { schema: { tags, params: IdParam, body: WorkgroupPatch, response: { 200: Workgroup, ...ErrorResponses } } },
    async (request) => {
      const principal = requireAdmin(request);
      const { members, ...rest } = request.body;
      return directory.updateWorkgroup(principal.tenantId, normalizeId(request.params.id), {
        ...rest,
        ...(members ? { members: members.map(normalizeId) } : {}),
      });
    },
  );

  app.delete('/admin/v1/workgroups/:id', { schema: { tags, params: IdParam, response: { 204: Type.Null(), ...ErrorResponses } } }, async (request, reply) => {
    const principal = requireAdmin(request);
    await directory.deleteWorkgroup(principal.tenantId, normalizeId(request.params.id));
    return reply.code(204).send(null);
  });
}
