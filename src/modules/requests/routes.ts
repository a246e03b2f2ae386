/** The 5 request operations: HTTP in, service call, DTO out. */
import { Type } from '@sinclair/typebox';
import type { Services } from '../../app.js';
import { operation, type Operation } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import type { ApprovalItem, NonEmployeeRequest as Request } from './repository.js';
import { ListRequestsQuery, NonEmployeeRequest, NonEmployeeRequestBody, NonEmployeeRequestSummary, RequestIdParams, SummaryParams } from './schemas.js';

/** NonEmployeeApprovalItemBase on the wire; `comment` only once an approver wrote one. */
export function itemBaseDto(item: ApprovalItem, accountName: string) {
  return {
    id: item.id,
    approver: item.approver,
    accountName,
    approvalStatus: item.status,
    approvalOrder: item.order,
    ...(item.comment !== null ? { comment: item.comment } : {}),
    modified: item.modified,
    created: item.created,
  };
}

/** NonEmployeeSourceLite of a request's source. */
export function sourceLiteDto(r: Request) {
  return { id: r.source.id, sourceId: r.source.iscSourceId, name: r.source.name, description: r.source.description };
}

/** The wire shape of a request: the top-level id is the request's, sourceId/name/description its source's. */
export function requestDto(r: Request) {
  return {
    id: r.id,
    sourceId: r.source.id,
    name: r.source.name,
    description: r.source.description,
    accountName: r.accountName,
    firstName: r.firstName,
    lastName: r.lastName,
    email: r.email,
    phone: r.phone,
    manager: r.manager,
    nonEmployeeSource: sourceLiteDto(r),
    data: r.data,
    approvalItems: r.items.map((i) => itemBaseDto(i, r.accountName)),
    approvalStatus: r.status,
    ...(r.completionDate !== null ? { completionDate: r.completionDate } : {}),
    startDate: r.startDate,
    endDate: r.endDate,
    modified: r.modified,
    created: r.created,
  };
}

const resource = 'non-employee-requests';
const one = { 200: NonEmployeeRequest, ...ErrorResponses };

export function requestOperations({ requests }: Services): Operation[] {
  return [
    operation({
      id: 'createNonEmployeeRequest',
      method: 'POST',
      resource,
      path: '',
      summary: 'Create non-employee request',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:create',
      schema: { body: NonEmployeeRequestBody, response: one },
      handler: async (request) => requestDto(await requests.create(principalOf(request), request.body)),
    }),
    operation({
      id: 'listNonEmployeeRequests',
      method: 'GET',
      resource,
      path: '',
      summary: 'List non-employee requests',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { querystring: ListRequestsQuery, response: { 200: Type.Array(NonEmployeeRequest), ...ErrorResponses } },
      handler: async (request, reply) => {
        const q = request.query;
        const { requests: list, total } = await requests.list(principalOf(request), {
          requestedFor: q['requested-for'],
          filters: q.filters,
          sorters: q.sorters,
          limit: q.limit,
          offset: q.offset,
          count: q.count,
        });
        if (total !== undefined) reply.header('X-Total-Count', total);
        return list.map(requestDto);
      },
    }),
    operation({
      id: 'getNonEmployeeRequest',
      method: 'GET',
      resource,
      path: '/:id',
      summary: 'Get a non-employee request',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { params: RequestIdParams, response: one },
      handler: async (request) => requestDto(await requests.get(principalOf(request), request.params.id)),
    }),
    operation({
      id: 'deleteNonEmployeeRequest',
      method: 'DELETE',
      resource,
      path: '/:id',
      summary: 'Delete non-employee request',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:delete',
      schema: { params: RequestIdParams, response: { 204: Type.Null(), ...ErrorResponses } },
      handler: async (request, reply) => {
        await requests.delete(principalOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    }),
    operation({
      id: 'getNonEmployeeRequestSummary',
      method: 'GET',
      resource,
      path: '/summary/:requestedFor',
      summary: 'Get summary of non-employee requests',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      wireParamNames: { requestedFor: 'requested-for' },
      schema: { params: SummaryParams, response: { 200: NonEmployeeRequestSummary, ...ErrorResponses } },
      handler: async (request) => requests.summary(principalOf(request), request.params.requestedFor),
    }),
  ];
}
