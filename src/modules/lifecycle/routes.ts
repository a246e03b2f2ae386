/**
 * The lifecycle's admin API (docs/lifecycle.md): the policy under /admin/v1/lifecycle-policy (org
 * admins), and the decisions in place of an approver: by the source's owner once an item was
 * escalated, by an org admin with a comment. SailPoint's approve and reject keep their rule (only
 * the requested approver).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { type Route, route } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { adminOf, principalOf } from '../../plugins/auth.js';
import type { Services } from '../../services.js';
import type { ApprovalItemView } from '../requests/model.js';
import {
  ApprovalIdParam,
  EscalationDecision,
  LifecyclePolicy,
  LifecyclePolicyBody,
  OverrideDecision,
  SourceIdParam,
  SourceLifecyclePolicy,
  SourceOverridesBody,
} from './schemas.js';

const requireAdmin = (request: FastifyRequest) => adminOf(request, 'manage the lifecycle policy');

const Decided = Type.Object(
  {
    id: Type.String({ description: 'Approval item id' }),
    approvalStatus: Type.String({ example: 'APPROVED' }),
    comment: Type.Union([Type.String(), Type.Null()]),
    decidedBy: Type.Union([Type.String(), Type.Null()], { description: 'The identity that decided' }),
    decidedAs: Type.Union([Type.Literal('escalation'), Type.Literal('override')]),
    modified: Type.String({ format: 'date-time' }),
  },
  { title: 'LifecycleDecision' },
);

const decided = (item: ApprovalItemView, decidedAs: 'escalation' | 'override') => ({
  id: item.id,
  approvalStatus: item.status,
  comment: item.comment,
  decidedBy: item.decidedBy,
  decidedAs,
  modified: item.modified,
});

const tag = 'Lifecycle';
const errors = ErrorResponses;

export function lifecycleRoutes({ lifecycle }: Services): Route[] {
  return [
    route({
      id: 'getLifecyclePolicy',
      method: 'GET',
      url: '/admin/v1/lifecycle-policy',
      tag,
      summary: "Get the tenant's lifecycle policy: reminders, approval reminders and escalation, retention",
      schema: { response: { 200: LifecyclePolicy, ...errors } },
      handler: async (request) => lifecycle.tenantPolicy(requireAdmin(request).tenantId),
    }),
    route({
      id: 'putLifecyclePolicy',
      method: 'PUT',
      url: '/admin/v1/lifecycle-policy',
      tag,
      summary: "Replace the tenant's lifecycle policy (settings left out take their defaults)",
      schema: { body: LifecyclePolicyBody, response: { 200: LifecyclePolicy, ...errors } },
      handler: async (request) => lifecycle.setTenantPolicy(requireAdmin(request), request.body),
    }),
    route({
      id: 'getSourceLifecyclePolicy',
      method: 'GET',
      url: '/admin/v1/lifecycle-policy/sources/:sourceId',
      tag,
      summary: "A source's lifecycle overrides and its effective policy",
      schema: { params: SourceIdParam, response: { 200: SourceLifecyclePolicy, ...errors } },
      handler: async (request) => lifecycle.sourcePolicy(requireAdmin(request).tenantId, request.params.sourceId),
    }),
    route({
      id: 'putSourceLifecyclePolicy',
      method: 'PUT',
      url: '/admin/v1/lifecycle-policy/sources/:sourceId',
      tag,
      summary: "Replace a source's lifecycle overrides (settings left out follow the tenant's policy)",
      schema: { params: SourceIdParam, body: SourceOverridesBody, response: { 200: SourceLifecyclePolicy, ...errors } },
      handler: async (request) => lifecycle.setSourcePolicy(requireAdmin(request), request.params.sourceId, request.body),
    }),
    route({
      id: 'deleteSourceLifecyclePolicy',
      method: 'DELETE',
      url: '/admin/v1/lifecycle-policy/sources/:sourceId',
      tag,
      summary: "Remove a source's lifecycle overrides: it follows the tenant's policy",
      schema: { params: SourceIdParam, response: { 204: Type.Null(), ...errors } },
      handler: async (request, reply) => {
        await lifecycle.deleteSourcePolicy(requireAdmin(request), request.params.sourceId);
        return reply.code(204).send(null);
      },
    }),
    route({
      id: 'decideEscalatedApproval',
      method: 'POST',
      url: '/admin/v1/approvals/:id/escalation',
      tag,
      summary: 'Decide an escalated approval item as the owner of its source (recorded as decided by escalation)',
      schema: { params: ApprovalIdParam, body: EscalationDecision, response: { 200: Decided, ...errors } },
      handler: async (request) => {
        const { decision, comment } = request.body;
        const item = await lifecycle.decideEscalated(principalOf(request), request.params.id, decision === 'APPROVE' ? 'approve' : 'reject', comment ?? null);
        return decided(item, 'escalation');
      },
    }),
    route({
      id: 'overrideApproval',
      method: 'POST',
      url: '/admin/v1/approvals/:id/override',
      tag,
      summary: 'Decide any PENDING approval item as an org admin, with a required comment (recorded as an override)',
      schema: { params: ApprovalIdParam, body: OverrideDecision, response: { 200: Decided, ...errors } },
      handler: async (request) => {
        const { decision, comment } = request.body;
        const item = await lifecycle.decideOverride(principalOf(request), request.params.id, decision === 'APPROVE' ? 'approve' : 'reject', comment);
        return decided(item, 'override');
      },
    }),
  ];
}
