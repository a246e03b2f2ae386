/**
 * The approval state machine of non-employee requests, in one place: the transition tables, the
 * initial state of a new request, and the plan of every decision. Pure: the workflow applies a
 * plan with conditional updates inside one transaction (workflow.ts).
 *
 * A request snapshots its source's approvers (at most 3) as approval items, one per approver, in
 * order: level 1 starts PENDING, later levels NOT_READY. Exactly one item is PENDING while the
 * request is PENDING.
 *
 *   Approval item                                 Request
 *
 *   level 1 ────► PENDING ──approve──► APPROVED     with approvers ──► PENDING ──last level approved──► APPROVED
 *                  ▲  │ └───reject───► REJECTED                            └─────any level rejected──► REJECTED
 *          activate│  └────cancel────► CANCELLED
 *                  │                      ▲         without approvers ───────────────────────────────► APPROVED
 *   levels 2, 3 ► NOT_READY ───cancel─────┘
 *
 * | item from  | event    | item to   | and then                                                         |
 * |------------|----------|-----------|------------------------------------------------------------------|
 * | PENDING    | approve  | APPROVED  | level k+1 NOT_READY → PENDING; or, at the last level, request     |
 * |            |          |           | PENDING → APPROVED (completionDate, the record is created)        |
 * | PENDING    | reject   | REJECTED  | request PENDING → REJECTED; every other open item → CANCELLED      |
 * | NOT_READY  | activate | PENDING   | (the previous level was approved)                                 |
 * | PENDING,   | cancel   | CANCELLED | (a rejection at another level)                                   |
 * | NOT_READY  |          |           |                                                                  |
 *
 * APPROVED, REJECTED and CANCELLED are final, for items and requests alike. A request with no
 * approvers is created APPROVED at once. Deciding an item that is not PENDING is 400.1.3. Deleting
 * a request removes it and its items in any state (a PENDING one is withdrawn: workflow.remove);
 * CANCELLED remains a request status SailPoint's API names, which this server no longer gives.
 */
import { fail, type ApiError } from '../../errors/api-error.js';

export const APPROVAL_STATUSES = ['APPROVED', 'REJECTED', 'PENDING', 'NOT_READY', 'CANCELLED'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
/** A request is never NOT_READY. */
export type RequestStatus = Exclude<ApprovalStatus, 'NOT_READY'>;

export type ItemEvent = 'approve' | 'reject' | 'activate' | 'cancel';
export type RequestEvent = 'complete' | 'reject';
export type Decision = 'approve' | 'reject';

type Table<S extends string, E extends string> = Readonly<Record<S, Readonly<Partial<Record<E, S>>>>>;

export const ITEM_TRANSITIONS: Table<ApprovalStatus, ItemEvent> = {
  NOT_READY: { activate: 'PENDING', cancel: 'CANCELLED' },
  PENDING: { approve: 'APPROVED', reject: 'REJECTED', cancel: 'CANCELLED' },
  APPROVED: {},
  REJECTED: {},
  CANCELLED: {},
};

export const REQUEST_TRANSITIONS: Table<RequestStatus, RequestEvent> = {
  PENDING: { complete: 'APPROVED', reject: 'REJECTED' },
  APPROVED: {},
  REJECTED: {},
  CANCELLED: {},
};

/** The item status `event` leads to from `from`, or undefined when the event is not allowed. */
export function itemTransition(from: ApprovalStatus, event: ItemEvent): ApprovalStatus | undefined {
  return ITEM_TRANSITIONS[from][event];
}

export function requestTransition(from: RequestStatus, event: RequestEvent): RequestStatus | undefined {
  return REQUEST_TRANSITIONS[from][event];
}

/** Statuses from which an item may still be cancelled: the open ones. */
export const OPEN_ITEM_STATUSES: readonly ApprovalStatus[] = APPROVAL_STATUSES.filter((s) => itemTransition(s, 'cancel') !== undefined);

/** The state of a new request with `approverCount` approvers. */
export function initialState(approverCount: number): { request: RequestStatus; items: ApprovalStatus[] } {
  if (approverCount === 0) return { request: 'APPROVED', items: [] };
  return { request: 'PENDING', items: Array.from({ length: approverCount }, (_, i) => (i === 0 ? 'PENDING' : 'NOT_READY')) };
}

export interface ItemState {
  id: string;
  /** 1-based level. */
  order: number;
  status: ApprovalStatus;
}

/** What a decision changes; the service applies each change as a conditional update. */
export interface DecisionPlan {
  /** The decided item's new status. */
  decided: ApprovalStatus;
  /** Items to move NOT_READY → PENDING (the next level). */
  activate: string[];
  /** Items to move to CANCELLED. */
  cancel: string[];
  /** The request's event, if the decision ends it. */
  requestEvent?: RequestEvent;
}

const WHY: Record<ApprovalStatus, string> = {
  NOT_READY: 'it is NOT_READY: an earlier approval level has not been approved yet',
  APPROVED: 'it was already APPROVED',
  REJECTED: 'it was already REJECTED',
  CANCELLED: 'it was CANCELLED (the request was rejected at another level)',
  PENDING: 'it is PENDING',
};

/** The 400.1.3 for deciding an item that is not PENDING. */
export function notDecidable(itemId: string, status: ApprovalStatus): ApiError {
  const text = `Approval item ${itemId} cannot be decided: ${WHY[status]}.`;
  return fail.illegalUpdate(text, [{ field: 'approvalStatus', text }]);
}

/**
 * Plans approving or rejecting `itemId` among the items of one request. Throws 400.1.3 when the
 * item is not PENDING.
 */
export function planDecision(items: readonly ItemState[], itemId: string, decision: Decision): DecisionPlan {
  const item = items.find((i) => i.id === itemId);
  if (!item) throw fail.notFound(`Approval item ${itemId} was not found.`);
  const decided = itemTransition(item.status, decision);
  if (decided === undefined) throw notDecidable(itemId, item.status);
  const others = items.filter((i) => i.id !== itemId);
  if (decision === 'reject') {
    return { decided, activate: [], cancel: others.filter((i) => OPEN_ITEM_STATUSES.includes(i.status)).map((i) => i.id), requestEvent: 'reject' };
  }
  const next = others.filter((i) => i.order > item.order && i.status === 'NOT_READY').sort((a, b) => a.order - b.order)[0];
  if (next) return { decided, activate: [next.id], cancel: [] };
  return { decided, activate: [], cancel: [], requestEvent: 'complete' };
}

/** Parses an approvalStatus filter value in any case (`"Pending"` in the spec's example). */
export function parseApprovalStatus(value: string): ApprovalStatus | undefined {
  const upper = value.trim().toUpperCase().replace(/[\s-]/g, '_');
  return (APPROVAL_STATUSES as readonly string[]).includes(upper) ? (upper as ApprovalStatus) : undefined;
}
