/**
 * The 5 request and 5 approval operations: HTTP in, service call, DTO out. Get, approve and reject
 * an approval are "userAuth only" upstream; this server has no user/application token distinction
 * (every token belongs to an identity), so they accept any valid token and the approver rule decides.
 */
import { Type } from '@sinclair/typebox';
import type { Services } from '../../services.js';
import { operation, BODY_LIMITS, type Operation } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import { attributeDto } from '../schema-attributes/model.js';
import type { ApprovalDetail } from './approvals.js';
import { type ApprovalItem, type ApprovalItemView, type NonEmployeeRequest as Request, requestComment } from './model.js';
import {
  ApprovalIdParams,
  ApprovalSummaryParams,
  BetaGetApprovalQuery,
  BetaNonEmployeeApprovalItemDetail,
  GetApprovalQuery,
  ListApprovalsQuery,
  ListRequestsQuery,
  NonEmployeeApprovalDecision,
  NonEmployeeApprovalItem,
  NonEmployeeApprovalItemDetail,
  NonEmployeeApprovalSummary,
  NonEmployeeRejectApprovalDecision,
  NonEmployeeRequest,
  NonEmployeeRequestCreateBody,
  NonEmployeeRequestSummary,
  RequestIdParams,
  SummaryParams,
} from './schemas.js';

/** NonEmployeeApprovalItemBase on the wire; `comment` only once an approver wrote one. */
function itemBaseDto(item: ApprovalItem, accountName: string) {
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
function sourceLiteDto(r: Request) {
  return { id: r.source.id, sourceId: r.source.iscSourceId, name: r.source.name, description: r.source.description };
}

/** `comment` when the request has one (the field is optional and not nullable upstream). */
function optionalComment(r: Request): { comment?: string } {
  const comment = requestComment(r);
  return comment === null ? {} : { comment };
}

/** The wire shape of a request: the top-level id is the request's, sourceId/name/description its source's. */
function requestDto(r: Request) {
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
    ...optionalComment(r),
    ...(r.completionDate !== null ? { completionDate: r.completionDate } : {}),
    startDate: r.startDate,
    endDate: r.endDate,
    modified: r.modified,
    created: r.created,
  };
}

const requester = (item: ApprovalItemView) => ({
  type: 'IDENTITY' as const,
  id: item.requesterId,
  ...(item.requesterName ? { name: item.requesterName } : {}),
});

/** NonEmployeeApprovalItem: the item and NonEmployeeRequestLite. */
function approvalItemDto(item: ApprovalItemView) {
  return { ...itemBaseDto(item, item.accountName), nonEmployeeRequest: { id: item.requestId, requester: requester(item) } };
}

/** NonEmployeeApprovalItemDetail; dates of the request as YYYY-MM-DD (the local date the client wrote). */
function approvalDetailDto({ item, request, schemaAttributes }: ApprovalDetail) {
  const base = itemBaseDto(item, item.accountName);
  if (!request) return base;
  return {
    ...base,
    nonEmployeeRequest: {
      id: request.id,
      requester: requester(item),
      accountName: request.accountName,
      firstName: request.firstName,
      lastName: request.lastName,
      email: request.email,
      phone: request.phone,
      manager: request.manager,
      nonEmployeeSource: { ...sourceLiteDto(request), schemaAttributes: (schemaAttributes ?? []).map(attributeDto) },
      data: request.data,
      approvalStatus: request.status,
      ...optionalComment(request),
      ...(request.completionDate !== null ? { completionDate: request.completionDate } : {}),
      startDate: request.startDate.slice(0, 10),
      endDate: request.endDate.slice(0, 10),
      modified: request.modified,
      created: request.created,
    },
  };
}

/** `include-detail`: true unless false (boolean) or "false" / "0" (beta's string). */
function includeDetail(value: boolean | string | undefined): boolean {
  return !(value === false || (typeof value === 'string' && (value.toLowerCase() === 'false' || value === '0')));
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
      schema: { body: NonEmployeeRequestCreateBody, response: one },
      bodyLimit: BODY_LIMITS.large,
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

const approvalResource = 'non-employee-approvals';
const item = { 200: NonEmployeeApprovalItem, ...ErrorResponses };

export function approvalOperations({ approvals }: Services): Operation[] {
  return [
    operation({
      id: 'listNonEmployeeApprovals',
      betaId: 'listNonEmployeeApproval',
      method: 'GET',
      resource: approvalResource,
      path: '',
      summary: 'List of non-employee approval requests',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { querystring: ListApprovalsQuery, response: { 200: Type.Array(NonEmployeeApprovalItem), ...ErrorResponses } },
      handler: async (request, reply) => {
        const q = request.query;
        const { items, total } = await approvals.list(principalOf(request), {
          requestedFor: q['requested-for'],
          filters: q.filters,
          sorters: q.sorters,
          limit: q.limit,
          offset: q.offset,
          count: q.count,
        });
        if (total !== undefined) reply.header('X-Total-Count', total);
        return items.map(approvalItemDto);
      },
    }),
    operation({
      id: 'getNonEmployeeApproval',
      method: 'GET',
      resource: approvalResource,
      path: '/:id',
      summary: 'Get a non-employee approval item detail',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { params: ApprovalIdParams, querystring: GetApprovalQuery, response: { 200: NonEmployeeApprovalItemDetail, ...ErrorResponses } },
      beta: { querystring: BetaGetApprovalQuery, response: { 200: BetaNonEmployeeApprovalItemDetail, ...ErrorResponses } },
      handler: async (request) => {
        const detail = await approvals.get(
          principalOf(request),
          request.params.id,
          includeDetail(request.query['include-detail'] as boolean | string | undefined),
        );
        return approvalDetailDto(detail);
      },
    }),
    operation({
      id: 'approveNonEmployeeRequest',
      method: 'POST',
      resource: approvalResource,
      path: '/:id/approve',
      summary: 'Approve a non-employee request',
      scope: 'idn:nelm:manage',
      schema: { params: ApprovalIdParams, body: NonEmployeeApprovalDecision, response: item },
      handler: async (request) => approvalItemDto(await approvals.approve(principalOf(request), request.params.id, request.body.comment)),
    }),
    operation({
      id: 'rejectNonEmployeeRequest',
      method: 'POST',
      resource: approvalResource,
      path: '/:id/reject',
      summary: 'Reject a non-employee request',
      scope: 'idn:nelm:manage',
      schema: { params: ApprovalIdParams, body: NonEmployeeRejectApprovalDecision, response: item },
      handler: async (request) => approvalItemDto(await approvals.reject(principalOf(request), request.params.id, request.body.comment)),
    }),
    operation({
      id: 'getNonEmployeeApprovalSummary',
      method: 'GET',
      resource: approvalResource,
      path: '/summary/:requestedFor',
      summary: 'Get summary of non-employee approval requests',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      wireParamNames: { requestedFor: 'requested-for' },
      schema: { params: ApprovalSummaryParams, response: { 200: NonEmployeeApprovalSummary, ...ErrorResponses } },
      handler: async (request) => approvals.summary(principalOf(request), request.params.requestedFor),
    }),
  ];
}
