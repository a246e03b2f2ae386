/** Non-employee requests and their approval items (one aggregate), and the mapping of their rows. */
import type { ApprovalItemTable, RequestTable } from '../../db/types.js';
import type { Member } from '../directory/model.js';
import { renderRecordDate, splitRecordDate } from '../records/dates.js';
import type { RecordData } from '../records/model.js';
import type { ApprovalStatus, RequestStatus } from './state.js';

/** One approver's step of a request. */
export interface ApprovalItem {
  id: string;
  requestId: string;
  /** 1-based level. */
  order: number;
  approver: Member;
  status: ApprovalStatus;
  comment: string | null;
  /** The identity that decided (a member, when the approver is a governance group). */
  decidedBy: string | null;
  created: string;
  modified: string;
}

/** An item with what the approval lists show of its request. */
export interface ApprovalItemView extends ApprovalItem {
  requesterId: string;
  /** The requester's display name; null when the identity has none or is gone. */
  requesterName?: string | null;
  accountName: string;
}

/** The source as a request shows it (NonEmployeeSourceLite). */
export interface RequestSource {
  id: string;
  iscSourceId: string;
  name: string;
  description: string;
}

export interface NonEmployeeRequest {
  id: string;
  source: RequestSource;
  requesterId: string;
  accountName: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  manager: string;
  startDate: string;
  endDate: string;
  data: RecordData;
  status: RequestStatus;
  /** What the requester wrote when filing it; null when nothing. */
  comment: string | null;
  completionDate: string | null;
  /** The record created when the request was approved. */
  recordId: string | null;
  items: ApprovalItem[];
  created: string;
  modified: string;
}

/** A request's row with its source's name, description and ISC source id. */
export type RequestRow = RequestTable & { source_name: string; source_description: string; isc_source_id: string };

export function toItem(row: ApprovalItemTable): ApprovalItem {
  return {
    id: row.id,
    requestId: row.request_id,
    order: Number(row.approval_order),
    approver: { type: row.approver_type, id: row.approver_id },
    status: row.approval_status,
    comment: row.comment,
    decidedBy: row.decided_by,
    created: row.created,
    modified: row.modified,
  };
}

export function toItemView(row: ApprovalItemTable & { requester_id: string; account_name: string }): ApprovalItemView {
  return { ...toItem(row), requesterId: row.requester_id, accountName: row.account_name };
}

export function toRequest(row: RequestRow, items: ApprovalItem[]): NonEmployeeRequest {
  return {
    id: row.id,
    source: { id: row.source_id, iscSourceId: row.isc_source_id, name: row.source_name, description: row.source_description },
    requesterId: row.requester_id,
    accountName: row.account_name,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    phone: row.phone,
    manager: row.manager,
    startDate: renderRecordDate(row.start_date, row.start_zone),
    endDate: renderRecordDate(row.end_date, row.end_zone),
    data: JSON.parse(row.data) as RecordData,
    status: row.approval_status as RequestStatus,
    comment: row.comment,
    completionDate: row.completion_date,
    recordId: row.record_id,
    items,
    created: row.created,
    modified: row.modified,
  };
}

export function toRequestRow(tenantId: string, r: NonEmployeeRequest): RequestTable {
  const start = splitRecordDate(r.startDate);
  const end = splitRecordDate(r.endDate);
  return {
    tenant_id: tenantId,
    id: r.id,
    source_id: r.source.id,
    requester_id: r.requesterId,
    account_name: r.accountName,
    first_name: r.firstName,
    last_name: r.lastName,
    email: r.email,
    phone: r.phone,
    manager: r.manager,
    start_date: start.instant,
    end_date: end.instant,
    start_zone: start.zone,
    end_zone: end.zone,
    data: JSON.stringify(r.data),
    approval_status: r.status,
    comment: r.comment,
    completion_date: r.completionDate,
    record_id: r.recordId,
    created: r.created,
    modified: r.modified,
  };
}

export function toItemRow(tenantId: string, i: ApprovalItem): ApprovalItemTable {
  return {
    tenant_id: tenantId,
    id: i.id,
    request_id: i.requestId,
    approval_order: i.order,
    approver_type: i.approver.type,
    approver_id: i.approver.id,
    approval_status: i.status,
    comment: i.comment,
    decided_by: i.decidedBy,
    created: i.created,
    modified: i.modified,
  };
}

/**
 * The request's `comment`: what its requester wrote, or, when they wrote nothing, the comment of
 * the decision that ended it (the rejection's, or the last approval's); null while neither exists.
 */
export function requestComment(r: Pick<NonEmployeeRequest, 'comment' | 'status' | 'items'>): string | null {
  if (r.comment !== null) return r.comment;
  if (r.status === 'REJECTED') return r.items.find((i) => i.status === 'REJECTED')?.comment ?? null;
  if (r.status === 'APPROVED') return r.items.at(-1)?.comment ?? null;
  return null;
}
