/**
 * The events of the approval workflow (docs/events.md): `request.*` with the request as their
 * object, `approval.*` with the approval item as their object and the request it belongs to as
 * context, so a consumer (mails, webhooks) needs nothing else to tell people about it.
 */
import type { Actor, Changes, EventInput } from '../events/model.js';
import type { ApprovalItem, NonEmployeeRequest } from './model.js';

/** A request without its items: the context of an approval event. */
export type RequestContext = Omit<NonEmployeeRequest, 'items'> & { levels: number };

export function requestContext(request: NonEmployeeRequest): RequestContext {
  const { items, ...rest } = request;
  return { ...rest, levels: items.length };
}

export function requestEvent(actor: Actor, verb: 'created' | 'approved' | 'rejected' | 'deleted', request: NonEmployeeRequest, changes?: Changes): EventInput {
  return {
    type: `request.${verb}`,
    actor,
    target: { type: 'request', id: request.id, sourceId: request.source.id },
    data: changes ? { object: request, changes } : { object: request },
  };
}

/**
 * `approval.requested` (the item became PENDING), `approval.approved` or `approval.rejected`; the
 * lifecycle's `approval.reminder` and `approval.escalated` of an item still PENDING.
 */
export function approvalEvent(
  actor: Actor,
  verb: 'requested' | 'approved' | 'rejected' | 'reminder' | 'escalated',
  item: ApprovalItem,
  request: NonEmployeeRequest,
): EventInput {
  return {
    type: `approval.${verb}`,
    actor,
    target: { type: 'approval', id: item.id, sourceId: request.source.id },
    data: { object: item, request: requestContext(request) },
  };
}
