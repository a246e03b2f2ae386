/** The 6 schema-attribute operations. */
import { Type } from '@sinclair/typebox';
import type { Services } from '../../services.js';
import { operation, type Operation } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { JsonPatch } from '../../http/nelm-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import { attributeDto } from './model.js';
import {
  AttributeOrderBody,
  AttributeParams,
  BetaListQuery,
  BetaNonEmployeeSchemaAttribute,
  NonEmployeeSchemaAttribute,
  SchemaAttributeBody,
  SourceIdParams,
} from './schemas.js';

const resource = 'non-employee-sources';
const one = (beta: boolean) => ({ 200: beta ? BetaNonEmployeeSchemaAttribute : NonEmployeeSchemaAttribute, ...ErrorResponses });

export function schemaAttributeOperations({ attributes }: Services): Operation[] {
  return [
    operation({
      id: 'getNonEmployeeSourceSchemaAttributes',
      method: 'GET',
      resource,
      path: '/:sourceId/schema-attributes',
      summary: 'List schema attributes non-employee source',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { params: SourceIdParams, response: { 200: Type.Array(NonEmployeeSchemaAttribute, { maxItems: 18 }), ...ErrorResponses } },
      // Beta's list takes limit and offset.
      beta: { querystring: BetaListQuery, response: { 200: Type.Array(BetaNonEmployeeSchemaAttribute, { maxItems: 18 }), ...ErrorResponses } },
      handler: async (request, _reply, { flavour }) => {
        const query = request.query as { limit?: number; offset?: number } | undefined;
        const page = flavour === 'beta' && query?.limit !== undefined ? { limit: query.limit, offset: query.offset ?? 0 } : undefined;
        return (await attributes.list(principalOf(request), request.params.sourceId, page)).map(attributeDto);
      },
    }),
    operation({
      id: 'createNonEmployeeSourceSchemaAttributes',
      method: 'POST',
      resource,
      path: '/:sourceId/schema-attributes',
      summary: 'Create a new schema attribute for non-employee source',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:create',
      schema: { params: SourceIdParams, body: SchemaAttributeBody, response: one(false) },
      beta: { response: one(true) },
      handler: async (request) => attributeDto(await attributes.create(principalOf(request), request.params.sourceId, request.body)),
    }),
    operation({
      id: 'deleteNonEmployeeSourceSchemaAttributes',
      method: 'DELETE',
      resource,
      path: '/:sourceId/schema-attributes',
      summary: 'Delete all custom schema attributes for non-employee source',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:delete',
      schema: { params: SourceIdParams, response: { 204: Type.Null(), ...ErrorResponses } },
      handler: async (request, reply) => {
        await attributes.deleteAllCustom(principalOf(request), request.params.sourceId);
        return reply.code(204).send(null);
      },
    }),
    operation({
      id: 'reorderNonEmployeeSourceSchemaAttributes',
      method: 'PUT',
      resource,
      path: '/:sourceId/schema-attributes-order',
      summary: "Put the source's custom schema attributes in a new order, after the system ones (extension)",
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:update',
      extension: true,
      schema: {
        params: SourceIdParams,
        body: AttributeOrderBody,
        response: { 200: Type.Array(NonEmployeeSchemaAttribute, { maxItems: 18 }), ...ErrorResponses },
      },
      handler: async (request) => (await attributes.reorder(principalOf(request), request.params.sourceId, request.body.order)).map(attributeDto),
    }),
    operation({
      id: 'getNonEmployeeSchemaAttribute',
      method: 'GET',
      resource,
      path: '/:sourceId/schema-attributes/:attributeId',
      summary: 'Get schema attribute non-employee source',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { params: AttributeParams, response: one(false) },
      beta: { response: one(true) },
      handler: async (request) => attributeDto(await attributes.get(principalOf(request), request.params.sourceId, request.params.attributeId)),
    }),
    operation({
      id: 'patchNonEmployeeSchemaAttribute',
      method: 'PATCH',
      resource,
      path: '/:sourceId/schema-attributes/:attributeId',
      summary: 'Patch a schema attribute for non-employee source',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:update',
      consumes: ['application/json-patch+json'],
      schema: { params: AttributeParams, body: JsonPatch, response: one(false) },
      beta: { response: one(true) },
      handler: async (request) => attributeDto(await attributes.patch(principalOf(request), request.params.sourceId, request.params.attributeId, request.body)),
    }),
    operation({
      id: 'deleteNonEmployeeSchemaAttribute',
      method: 'DELETE',
      resource,
      path: '/:sourceId/schema-attributes/:attributeId',
      summary: 'Delete a schema attribute for non-employee source',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:delete',
      schema: { params: AttributeParams, response: { 204: Type.Null(), ...ErrorResponses } },
      handler: async (request, reply) => {
        await attributes.delete(principalOf(request), request.params.sourceId, request.params.attributeId);
        return reply.code(204).send(null);
      },
    }),
  ];
}
