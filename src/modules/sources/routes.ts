/** The 5 source operations: HTTP in, service call, DTO out. */
import { Type } from '@sinclair/typebox';
import type { Services } from '../../services.js';
import { operation, type Operation } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { JsonPatch } from '../../http/nelm-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import type { Source } from './model.js';
import {
  BetaNonEmployeeSource,
  BetaNonEmployeeSourceWithNECount,
  BetaNonEmployeeSourceWithCloudExternalId,
  ListSourcesQuery,
  NonEmployeeSource,
  NonEmployeeSourceWithCloudExternalId,
  NonEmployeeSourceWithNECount,
  SourceIdParams,
  SourceRequestBody,
} from './schemas.js';

/** The wire shape of a source. `nonEmployeeCount` is null unless asked for (beta carries it everywhere). */
function sourceDto(source: Source, withCount = false) {
  return {
    id: source.id,
    sourceId: source.iscSourceId,
    name: source.name,
    description: source.description,
    approvers: source.approvers,
    accountManagers: source.accountManagers,
    modified: source.modified,
    created: source.created,
    cloudExternalId: source.cloudExternalId,
    nonEmployeeCount: withCount ? source.recordCount : null,
  };
}

const resource = 'non-employee-sources';

export function sourceOperations({ sources }: Services): Operation[] {
  return [
    operation({
      id: 'listNonEmployeeSources',
      method: 'GET',
      resource,
      path: '',
      summary: 'List non-employee sources',
      scope: 'idn:nelm:read',
      schema: { querystring: ListSourcesQuery, response: { 200: Type.Array(NonEmployeeSourceWithNECount), ...ErrorResponses } },
      beta: { response: { 200: Type.Array(BetaNonEmployeeSourceWithNECount), ...ErrorResponses } },
      handler: async (request, reply, { flavour }) => {
        const q = request.query;
        const { sources: list, total } = await sources.list(principalOf(request), {
          requestedFor: q['requested-for'],
          sorters: q.sorters,
          limit: q.limit,
          offset: q.offset,
          count: q.count,
        });
        if (total !== undefined) reply.header('X-Total-Count', total);
        const withCount = q['non-employee-count'];
        return list.map((s) => {
          const dto = sourceDto(s, withCount);
          return flavour === 'beta' && !withCount ? { ...dto, nonEmployeeCount: undefined } : dto;
        });
      },
    }),
    operation({
      id: 'createNonEmployeeSource',
      method: 'POST',
      resource,
      path: '',
      summary: 'Create non-employee source',
      scope: 'idn:nelm:manage',
      schema: { body: SourceRequestBody, response: { 200: NonEmployeeSourceWithCloudExternalId, ...ErrorResponses } },
      beta: { response: { 200: BetaNonEmployeeSourceWithCloudExternalId, ...ErrorResponses } },
      handler: async (request) => sourceDto(await sources.create(principalOf(request), request.body)),
    }),
    operation({
      id: 'getNonEmployeeSource',
      method: 'GET',
      resource,
      path: '/:sourceId',
      summary: 'Get a non-employee source',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { params: SourceIdParams, response: { 200: NonEmployeeSource, ...ErrorResponses } },
      beta: { response: { 200: BetaNonEmployeeSource, ...ErrorResponses } },
      handler: async (request) => sourceDto(await sources.get(principalOf(request), request.params.sourceId)),
    }),
    operation({
      id: 'patchNonEmployeeSource',
      method: 'PATCH',
      resource,
      path: '/:sourceId',
      summary: 'Patch a non-employee source',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:update',
      consumes: ['application/json-patch+json'],
      schema: { params: SourceIdParams, body: JsonPatch, response: { 200: NonEmployeeSource, ...ErrorResponses } },
      beta: { response: { 200: BetaNonEmployeeSource, ...ErrorResponses } },
      handler: async (request) => sourceDto(await sources.patch(principalOf(request), request.params.sourceId, request.body)),
    }),
    operation({
      id: 'deleteNonEmployeeSource',
      method: 'DELETE',
      resource,
      path: '/:sourceId',
      summary: 'Delete non-employee source',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:delete',
      schema: { params: SourceIdParams, response: { 204: Type.Null(), ...ErrorResponses } },
      handler: async (request, reply) => {
        await sources.delete(principalOf(request), request.params.sourceId);
        return reply.code(204).send(null);
      },
    }),
  ];
}
