/**
 * The 5 approval operations: HTTP in, service call, DTO out. Get, approve and
 * reject are "userAuth only" upstream; this server has no user/application token distinction (every
 * token belongs to an identity), so they accept any valid token and the approver rule decides.
 */
import { Type } from '@sinclair/typebox';
import type { Services } from '../../app.js';
import { operation, type Operation } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import { attributeDto } from '../schema-attributes/routes.js';
import { itemBaseDto, sourceLiteDto } from '../requests/routes.js';
import type { ApprovalItemView } from './repository.js';
import type { ApprovalDetail } from './service.js';
import {
  ApprovalIdParams,
  ApprovalSummaryParams,
  BetaGetApprovalQuery,
  BetaNonEmployeeApprovalItemDetail,
  GetApprovalQuery,
  ListApprovalsQuery,
  NonEmployeeApprovalDecision,
  NonEmployeeApprovalItem,
  NonEmployeeApprovalItemDetail,
  NonEmployeeApprovalSummary,
  NonEmployeeRejectApprovalDecision,
} from './schemas.js';

const requester = (item: ApprovalItemView) => ({ type: 'IDENTITY' as const, id: item.requesterId });

/** NonEmployeeApprovalItem: the item and NonEmployeeRequestLite. */
export function approvalItemDto(item: ApprovalItemView) {
  return { ...itemBaseDto(item, item.accountName), nonEmployeeRequest: { id: item.requestId, requester: requester(item) } };
}

/** NonEmployeeApprovalItemDetail; dates of the request as YYYY-MM-DD (UTC). */
export function approvalDetailDto({ item, request, schemaAttributes }: ApprovalDetail) {
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
      ...(request.completionDate !== null ? { completionDate: request.completionDate } : {}),
      startDate: request.startDate.slice(0, 10),
      endDate: request.endDate.slice(0, 10),
      modified: request.modified,
      created: request.created,
    },
  };
}

/** `include-detail`: true unless false (boolean) or "false" (beta's string). */
function includeDetail(value: boolean | string | undefined): boolean {
  return !(value === false || (typeof value === 'string' && value.toLowerCase() === 'false'));
}

const resource = 'non-employee-approvals';
const item = { 200: NonEmployeeApprovalItem, ...ErrorResponses };
const IdParams = ApprovalIdParams;

export function approvalOperations({ approvals }: Services): Operation[] {
  return [
    operation({
      id: 'listNonEmployeeApprovals',
      betaId: 'listNonEmployeeApproval',
      method: 'GET',
      resource,
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
      resource,
      path: '/:id',
      summary: 'Get a non-employee approval item detail',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { params: IdParams, querystring: GetApprovalQuery, response: { 200: NonEmployeeApprovalItemDetail, ...ErrorResponses } },
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
      resource,
      path: '/:id/approve',
      summary: 'Approve a non-employee request',
      scope: 'idn:nelm:manage',
      schema: { params: IdParams, body: NonEmployeeApprovalDecision, response: item },
      handler: async (request) => approvalItemDto(await approvals.approve(principalOf(request), request.params.id, request.body.comment)),
    }),
    operation({
      id: 'rejectNonEmployeeRequest',
      method: 'POST',
      resource,
      path: '/:id/reject',
      summary: 'Reject a non-employee request',
      scope: 'idn:nelm:manage',
      schema: { params: IdParams, body: NonEmployeeRejectApprovalDecision, response: item },
      handler: async (request) => approvalItemDto(await approvals.reject(principalOf(request), request.params.id, request.body.comment)),
    }),
    operation({
      id: 'getNonEmployeeApprovalSummary',
      method: 'GET',
      resource,
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
