/**
 * The admin API under /admin/v1: identities, their API clients and governance groups. Not part of
 * SailPoint's NELM API (SailPoint keeps these in its identity platform). Org admins only.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { normalizeId } from '../../domain/ids.js';
import { type Route, route, BODY_LIMITS } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { adminOf } from '../../plugins/auth.js';
import { actorOf } from '../events/model.js';
import type { Services } from '../../services.js';
import {
  ClientCredentials,
  ClientIdParam,
  ClientSummary,
  Identity,
  IdentityBody,
  IdentityPatch,
  IdParam,
  Page,
  Workgroup,
  WorkgroupBody,
  WorkgroupPatch,
} from './schemas.js';

const requireAdmin = (request: FastifyRequest) => adminOf(request, 'use the admin API');

/** The org admin's tenant, and the admin as the actor of the change. */
function adminChange(request: FastifyRequest) {
  const principal = requireAdmin(request);
  return { tenantId: principal.tenantId, actor: actorOf(principal) };
}

const tag = 'Admin';
const none = { 204: Type.Null(), ...ErrorResponses };

export function adminRoutes({ directory }: Services): Route[] {
  return [
    route({
      id: 'createIdentity',
      method: 'POST',
      url: '/admin/v1/identities',
      tag,
      summary: 'Create an identity',
      schema: { body: IdentityBody, response: { 200: Identity, ...ErrorResponses } },
      handler: async (request) => {
        const { tenantId, actor } = adminChange(request);
        return directory.createIdentity(tenantId, request.body, actor);
      },
    }),
    route({
      id: 'listIdentities',
      method: 'GET',
      url: '/admin/v1/identities',
      tag,
      summary: 'List identities, by alias',
      schema: { querystring: Page, response: { 200: Type.Array(Identity), ...ErrorResponses } },
      handler: async (request, reply) => {
        const { tenantId } = requireAdmin(request);
        const { limit, offset, count } = request.query;
        if (count) reply.header('X-Total-Count', await directory.countIdentities(tenantId));
        return directory.listIdentities(tenantId, limit, offset);
      },
    }),
    route({
      id: 'getIdentity',
      method: 'GET',
      url: '/admin/v1/identities/:id',
      tag,
      summary: 'Get an identity',
      schema: { params: IdParam, response: { 200: Identity, ...ErrorResponses } },
      handler: async (request) => directory.findIdentity(requireAdmin(request).tenantId, normalizeId(request.params.id)),
    }),
    route({
      id: 'updateIdentity',
      method: 'PATCH',
      url: '/admin/v1/identities/:id',
      tag,
      summary: "Change an identity's name, email, admin flag or rights",
      schema: { params: IdParam, body: IdentityPatch, response: { 200: Identity, ...ErrorResponses } },
      handler: async (request) => {
        const { tenantId, actor } = adminChange(request);
        return directory.updateIdentity(tenantId, normalizeId(request.params.id), request.body, actor);
      },
    }),
    route({
      id: 'createClient',
      method: 'POST',
      url: '/admin/v1/identities/:id/clients',
      tag,
      summary: 'Create an API client of an identity; its secret is shown once',
      schema: { params: IdParam, response: { 200: ClientCredentials, ...ErrorResponses } },
      handler: async (request) => {
        const { tenantId, actor } = adminChange(request);
        return directory.createClient(tenantId, normalizeId(request.params.id), actor);
      },
    }),
    route({
      id: 'listClients',
      method: 'GET',
      url: '/admin/v1/identities/:id/clients',
      tag,
      summary: "List an identity's API clients",
      schema: { params: IdParam, response: { 200: Type.Array(ClientSummary), ...ErrorResponses } },
      handler: async (request) => directory.listClients(requireAdmin(request).tenantId, normalizeId(request.params.id)),
    }),
    route({
      id: 'deleteClient',
      method: 'DELETE',
      url: '/admin/v1/clients/:clientId',
      tag,
      summary: 'Delete an API client; its tokens stop working',
      schema: { params: ClientIdParam, response: none },
      handler: async (request, reply) => {
        const { tenantId, actor } = adminChange(request);
        await directory.deleteClient(tenantId, request.params.clientId, actor);
        return reply.code(204).send(null);
      },
    }),
    route({
      id: 'createWorkgroup',
      method: 'POST',
      url: '/admin/v1/workgroups',
      tag,
      summary: 'Create a governance group',
      schema: { body: WorkgroupBody, response: { 200: Workgroup, ...ErrorResponses } },
      bodyLimit: BODY_LIMITS.large,
      handler: async (request) => {
        const { tenantId, actor } = adminChange(request);
        return directory.workgroups.create(tenantId, { ...request.body, members: request.body.members.map(normalizeId) }, actor);
      },
    }),
    route({
      id: 'listWorkgroups',
      method: 'GET',
      url: '/admin/v1/workgroups',
      tag,
      summary: 'List governance groups, by name',
      schema: { querystring: Page, response: { 200: Type.Array(Workgroup), ...ErrorResponses } },
      handler: async (request) => directory.workgroups.list(requireAdmin(request).tenantId, request.query.limit, request.query.offset),
    }),
    route({
      id: 'getWorkgroup',
      method: 'GET',
      url: '/admin/v1/workgroups/:id',
      tag,
      summary: 'Get a governance group',
      schema: { params: IdParam, response: { 200: Workgroup, ...ErrorResponses } },
      handler: async (request) => directory.workgroups.get(requireAdmin(request).tenantId, normalizeId(request.params.id)),
    }),
    route({
      id: 'updateWorkgroup',
      method: 'PATCH',
      url: '/admin/v1/workgroups/:id',
      tag,
      summary: "Change a governance group's name, description or members",
      schema: { params: IdParam, body: WorkgroupPatch, response: { 200: Workgroup, ...ErrorResponses } },
      bodyLimit: BODY_LIMITS.large,
      handler: async (request) => {
        const { members, ...rest } = request.body;
        const changes = { ...rest, ...(members ? { members: members.map(normalizeId) } : {}) };
        const { tenantId, actor } = adminChange(request);
        return directory.workgroups.update(tenantId, normalizeId(request.params.id), changes, actor);
      },
    }),
    route({
      id: 'deleteWorkgroup',
      method: 'DELETE',
      url: '/admin/v1/workgroups/:id',
      tag,
      summary: 'Delete a governance group no source names',
      schema: { params: IdParam, response: none },
      handler: async (request, reply) => {
        const { tenantId, actor } = adminChange(request);
        await directory.workgroups.delete(tenantId, normalizeId(request.params.id), actor);
        return reply.code(204).send(null);
      },
    }),
  ];
}
