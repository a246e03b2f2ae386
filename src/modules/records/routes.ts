/** The 7 record operations: HTTP in, service call, DTO out. */
import { Type } from '@sinclair/typebox';
import type { Services } from '../../services.js';
import { operation, BODY_LIMITS, type Operation } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { JsonPatch } from '../../http/nelm-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import { BulkDeleteBody, ListRecordsQuery, NonEmployeeRecord, NonEmployeeRequestBody, RecordIdParams } from './schemas.js';

const resource = 'non-employee-records';
const one = { 200: NonEmployeeRecord, ...ErrorResponses };

export function recordOperations({ records }: Services): Operation[] {
  return [
    operation({
      id: 'listNonEmployeeRecords',
      method: 'GET',
      resource,
      path: '',
      summary: 'List non-employee records',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { querystring: ListRecordsQuery, response: { 200: Type.Array(NonEmployeeRecord), ...ErrorResponses } },
      handler: async (request, reply) => {
        const q = request.query;
        const { records: page, total } = await records.list(principalOf(request), {
          filters: q.filters,
          sorters: q.sorters,
          limit: q.limit,
          offset: q.offset,
          count: q.count,
        });
        if (total !== undefined) reply.header('X-Total-Count', total);
        return page;
      },
    }),
    operation({
      id: 'createNonEmployeeRecord',
      method: 'POST',
      resource,
      path: '',
      summary: 'Create non-employee record',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:create',
      schema: { body: NonEmployeeRequestBody, response: one },
      bodyLimit: BODY_LIMITS.large,
      handler: async (request) => records.create(principalOf(request), request.body),
    }),
    operation({
      id: 'getNonEmployeeRecord',
      method: 'GET',
      resource,
      path: '/:id',
      summary: 'Get a non-employee record',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { params: RecordIdParams, response: one },
      handler: async (request) => records.get(principalOf(request), request.params.id),
    }),
    operation({
      id: 'updateNonEmployeeRecord',
      betaId: 'putNonEmployeeRecord',
      method: 'PUT',
      resource,
      path: '/:id',
      summary: 'Update non-employee record',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:update',
      schema: { params: RecordIdParams, body: NonEmployeeRequestBody, response: one },
      bodyLimit: BODY_LIMITS.large,
      handler: async (request) => records.replace(principalOf(request), request.params.id, request.body),
    }),
    operation({
      id: 'patchNonEmployeeRecord',
      method: 'PATCH',
      resource,
      path: '/:id',
      summary: 'Patch non-employee record',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:update',
      consumes: ['application/json-patch+json'],
      schema: { params: RecordIdParams, body: JsonPatch, response: one },
      bodyLimit: BODY_LIMITS.large,
      handler: async (request) => records.patch(principalOf(request), request.params.id, request.body),
    }),
    operation({
      id: 'deleteNonEmployeeRecord',
      method: 'DELETE',
      resource,
      path: '/:id',
      summary: 'Delete non-employee record',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:delete',
      schema: { params: RecordIdParams, response: { 204: Type.Null(), ...ErrorResponses } },
      handler: async (request, reply) => {
        await records.delete(principalOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    }),
    operation({
      id: 'deleteNonEmployeeRecordsInBulk',
      betaId: 'deleteNonEmployeeRecordInBulk',
      method: 'POST',
      resource,
      path: '/bulk-delete',
      summary: 'Delete multiple non-employee records',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:delete',
      schema: { body: BulkDeleteBody, response: { 204: Type.Null(), ...ErrorResponses } },
      bodyLimit: BODY_LIMITS.large,
      handler: async (request, reply) => {
        await records.bulkDelete(principalOf(request), request.body.ids);
        return reply.code(204).send(null);
      },
    }),
  ];
}
