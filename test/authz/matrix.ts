/**
 * The authorization matrix: every NELM operation (and the bulk-job extensions) against
 * every kind of caller, as data. `matrix.test.ts` turns every cell into a test under every API
 * flavour; `render.ts` prints it as the Markdown table of docs/security.md.
 *
 * A row is an operation (its v2024 operationId) on a target of the fixture world, sometimes in a
 * variant (another parameter, another target). A cell is the exact outcome for one caller: the
 * status and the body shape, and for lists, summaries and CSV exports exactly which objects of
 * the world the caller gets (no more: object-level authorization, OWASP API1).
 *
 * The fixture world (built by matrix.test.ts):
 * - source A (`srcA`): owner `owner`; account managers `manager` (directly) and a governance group
 *   whose member is `groupManager`; approvers `approver` (level 1) then `laterApprover` (level 2);
 *   one custom schema attribute; records `rA1`, `rA2`; a bulk upload job `jobA` (finished, ERROR);
 * - source B (`srcB`): another owner, account manager `otherManager`, another approver; record `rB1`;
 * - request `qA` in A made by `requester`: item `iA1` (level 1, `approver`) PENDING and item `iA2`
 *   (level 2, `laterApprover`) NOT_READY;
 * - request `qB` in B made by `otherManager`: item `iB1` PENDING (B's approver).
 * Cells that succeed on a write act on a fresh object made like the target (same source, same
 * relationships); every other cell of a write must leave the whole database as it was.
 */

/** The kinds of caller, in column order. */
export const CALLERS = [
  'admin',
  'read',
  'create',
  'update',
  'delete',
  'manager',
  'groupManager',
  'otherManager',
  'owner',
  'requester',
  'approver',
  'laterApprover',
  'unrelated',
  'noToken',
  'expired',
  'otherKey',
  'deletedClient',
] as const;
export type CallerKind = (typeof CALLERS)[number];

export const CALLER_LABELS: Record<CallerKind, string> = {
  admin: 'org admin',
  read: '`idn:nesr:read` only',
  create: '`idn:nesr:create` only',
  update: '`idn:nesr:update` only',
  delete: '`idn:nesr:delete` only',
  manager: 'account manager of A',
  groupManager: 'account manager of A through a governance group',
  otherManager: 'account manager of B',
  owner: 'owner of A',
  requester: 'requester of qA',
  approver: 'approver of iA1 (PENDING)',
  laterApprover: 'approver of iA2 (NOT_READY)',
  unrelated: 'unrelated identity',
  noToken: 'no token',
  expired: 'expired token (org admin)',
  otherKey: 'token signed with another key (org admin)',
  deletedClient: 'token of a deleted API client (org admin)',
};

/** Short column headers for the Markdown table. */
export const CALLER_SHORT: Record<CallerKind, string> = {
  admin: 'admin',
  read: 'read',
  create: 'create',
  update: 'update',
  delete: 'delete',
  manager: 'AM',
  groupManager: 'AM grp',
  otherManager: 'AM B',
  owner: 'owner',
  requester: 'reqr',
  approver: 'appr',
  laterApprover: 'appr L2',
  unrelated: 'none',
  noToken: 'no tok',
  expired: 'expired',
  otherKey: 'key',
  deletedClient: 'del cl',
};

/** The objects of the fixture world a cell may name. */
export const REFS = ['srcA', 'srcB', 'rA1', 'rA2', 'rB1', 'qA', 'qB', 'iA1', 'iA2', 'iB1', 'jobA'] as const;
export type Ref = (typeof REFS)[number];

export type Outcome =
  /** 2xx with a JSON object (any content the contract allows). */
  | { status: 200 | 202; body: 'object' }
  /** 200 with a JSON object equal to `equals` (summaries: counts of exactly what the caller may see). */
  | { status: 200; body: 'object'; equals: Readonly<Record<string, number>> }
  /** 200 with a JSON array; with `exactly`, its elements are exactly these objects (by id). */
  | { status: 200; body: 'array'; exactly?: readonly Ref[] }
  /** 200 text/csv; with `exactly`, its rows are exactly these records (by accountName). */
  | { status: 200; body: 'csv'; exactly?: readonly Ref[] }
  | { status: 204; body: 'empty' }
  | { status: 400 | 403 | 404; body: 'ErrorResponseDto' }
  | { status: 401; body: '{error}' };

export interface Row {
  /** The v2024 operationId. */
  op: string;
  /** Empty for the plain form; else a key matrix.test.ts knows how to call. */
  variant: string;
  /** What is called, in words (the table shows it). */
  target: string;
  /** True for operations that change state. */
  write: boolean;
  cells: Readonly<Record<CallerKind, Outcome>>;
}

// Outcomes -------------------------------------------------------------------------------------

const OBJ: Outcome = { status: 200, body: 'object' };
const ARR: Outcome = { status: 200, body: 'array' };
const CSV: Outcome = { status: 200, body: 'csv' };
const ACC: Outcome = { status: 202, body: 'object' };
const DONE: Outcome = { status: 204, body: 'empty' };
const BAD: Outcome = { status: 400, body: 'ErrorResponseDto' };
const NO: Outcome = { status: 403, body: 'ErrorResponseDto' };
const NF: Outcome = { status: 404, body: 'ErrorResponseDto' };
const AUTH: Outcome = { status: 401, body: '{error}' };
/** 200, a JSON array of exactly these objects ("200-filtered"). */
const see = (...refs: Ref[]): Outcome => ({ status: 200, body: 'array', exactly: refs });
/** 200, a CSV export whose rows are exactly these records. */
const csvOf = (...refs: Ref[]): Outcome => ({ status: 200, body: 'csv', exactly: refs });
/** 200, a request summary with exactly these counts. */
const rsum = (pending: number, nonEmployeeCount: number): Outcome => ({
  status: 200,
  body: 'object',
  equals: { approved: 0, rejected: 0, pending, nonEmployeeCount },
});
/** 200, an approval summary with exactly these counts. */
const asum = (pending: number): Outcome => ({ status: 200, body: 'object', equals: { approved: 0, pending, rejected: 0 } });

type Cells = readonly [
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
  Outcome,
];

function row(op: string, variant: string, target: string, write: boolean, cells: Cells): Row {
  return { op, variant, target, write, cells: Object.fromEntries(CALLERS.map((c, i) => [c, cells[i]!])) as Record<CallerKind, Outcome> };
}

const R = false;
const W = true;

// The matrix -----------------------------------------------------------------------------------

// biome-ignore format: a table, one row per operation and one column per caller kind (CALLERS)
// biome-ignore format: a table, one row per operation and one column per caller kind (CALLERS)
export const MATRIX: readonly Row[] = [
  // cells, in CALLERS order: admin, read, create, update, delete, AM, AM grp, AM B, owner, reqr, appr, appr L2, none, no tok, expired, key, del cl
  // Sources
  row('listNonEmployeeSources', '', 'no requested-for', R, [see('srcA', 'srcB'), see('srcA', 'srcB'), NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeSources', 'me', 'requested-for=me', R, [see(), see(), see(), see(), see(), see('srcA'), see('srcA'), see('srcB'), see('srcA'), see(), see(), see(), see(), AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeSources', 'managerId', "requested-for=<A's direct account manager>", R, [see('srcA'), see('srcA'), NO, NO, NO, see('srcA'), NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('createNonEmployeeSource', '', 'a new source', W, [OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeSource', '', 'A', R, [OBJ, OBJ, NO, NO, NO, OBJ, OBJ, NO, OBJ, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('patchNonEmployeeSource', '', 'A: replace /description', W, [OBJ, NO, NO, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('deleteNonEmployeeSource', '', 'A', W, [DONE, NO, NO, NO, DONE, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  // Schema attributes
  row('getNonEmployeeSourceSchemaAttributes', '', 'A', R, [ARR, ARR, NO, NO, NO, ARR, ARR, NO, ARR, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('createNonEmployeeSourceSchemaAttributes', '', 'A', W, [OBJ, NO, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('deleteNonEmployeeSourceSchemaAttributes', '', 'A (all custom)', W, [DONE, NO, NO, NO, DONE, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeSchemaAttribute', '', "A's custom attribute", R, [OBJ, OBJ, NO, NO, NO, OBJ, OBJ, NO, OBJ, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeSchemaAttribute', 'viaB', "A's custom attribute under B's path", R, [NF, NF, NO, NO, NO, NO, NO, NF, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('patchNonEmployeeSchemaAttribute', '', "A's custom attribute: replace /label", W, [OBJ, NO, NO, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('patchNonEmployeeSchemaAttribute', 'viaB', "A's custom attribute under B's path", W, [NF, NO, NO, NF, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('reorderNonEmployeeSourceSchemaAttributes', '', "A's custom attributes, in their order (extension)", W, [ARR, NO, NO, ARR, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('deleteNonEmployeeSchemaAttribute', '', "A's custom attribute", W, [DONE, NO, NO, NO, DONE, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('deleteNonEmployeeSchemaAttribute', 'viaB', "A's custom attribute under B's path", W, [NF, NO, NO, NO, NF, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  // Records
  row('listNonEmployeeRecords', '', 'all (count=true)', R, [see('rA1', 'rA2', 'rB1'), see('rA1', 'rA2', 'rB1'), see(), see(), see(), see('rA1', 'rA2'), see('rA1', 'rA2'), see('rB1'), see('rA1', 'rA2'), see(), see(), see(), see(), AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeRecords', 'orFilter', 'filters=sourceId eq "B" or sourceId eq "A"', R, [see('rA1', 'rA2', 'rB1'), see('rA1', 'rA2', 'rB1'), see(), see(), see(), see('rA1', 'rA2'), see('rA1', 'rA2'), see('rB1'), see('rA1', 'rA2'), see(), see(), see(), see(), AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeRecords', 'merged', 'sorters=lastName, filters=sourceId eq "B" or sourceId eq "A" (the per-source merge plan)', R, [see('rA1', 'rA2', 'rB1'), see('rA1', 'rA2', 'rB1'), see(), see(), see(), see('rA1', 'rA2'), see('rA1', 'rA2'), see('rB1'), see('rA1', 'rA2'), see(), see(), see(), see(), AUTH, AUTH, AUTH, AUTH]),
  row('createNonEmployeeRecord', '', 'a new record in A', W, [OBJ, NO, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeRecord', '', 'rA1', R, [OBJ, OBJ, NO, NO, NO, OBJ, OBJ, NO, OBJ, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('updateNonEmployeeRecord', '', 'rA1: new firstName and endDate', W, [OBJ, NO, NO, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('updateNonEmployeeRecord', 'endDate', 'rA1: new endDate only', W, [OBJ, NO, NO, OBJ, NO, NO, NO, NO, OBJ, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('patchNonEmployeeRecord', '', 'rA1: replace /firstName', W, [OBJ, NO, NO, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('patchNonEmployeeRecord', 'endDate', 'rA1: replace /endDate', W, [OBJ, NO, NO, OBJ, NO, NO, NO, NO, OBJ, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('patchNonEmployeeRecord', 'noop', 'rA1: [] (changes nothing)', W, [OBJ, NO, NO, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('patchNonEmployeeRecord', 'testOnly', 'rA1: test /firstName only', W, [OBJ, NO, NO, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('patchNonEmployeeRecord', 'endDateAndTest', 'rA1: replace /endDate, test /firstName', W, [OBJ, NO, NO, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('deleteNonEmployeeRecord', '', 'rA1', W, [DONE, NO, NO, NO, DONE, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('deleteNonEmployeeRecordsInBulk', '', 'ids: [rA1]', W, [DONE, NO, NO, NO, DONE, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  // Requests
  row('createNonEmployeeRequest', '', 'a new request in A', W, [OBJ, NO, OBJ, NO, NO, OBJ, OBJ, NO, OBJ, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeRequests', 'me', 'requested-for=me (count=true)', R, [see(), see(), see(), see(), see(), see('qA'), see('qA'), see('qB'), see('qA'), see('qA'), see(), see(), see(), AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeRequests', 'requesterId', 'requested-for=<requester of qA>', R, [see('qA'), see('qA'), NO, NO, NO, NO, NO, NO, NO, see('qA'), NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeRequests', 'orFilter', 'requested-for=me, filters=sourceId eq "B" or sourceId eq "A"', R, [see(), see(), see(), see(), see(), see('qA'), see('qA'), see('qB'), see('qA'), see('qA'), see(), see(), see(), AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeRequest', '', 'qA', R, [OBJ, OBJ, NO, NO, NO, OBJ, OBJ, NO, OBJ, OBJ, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('deleteNonEmployeeRequest', '', 'qA', W, [DONE, NO, NO, NO, DONE, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeRequestSummary', 'me', 'requested-for=me', R, [rsum(0, 0), rsum(0, 0), rsum(0, 0), rsum(0, 0), rsum(0, 0), rsum(1, 2), rsum(1, 2), rsum(1, 1), rsum(1, 2), rsum(1, 0), rsum(0, 0), rsum(0, 0), rsum(0, 0), AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeRequestSummary', 'managerId', "requested-for=<A's direct account manager>", R, [rsum(1, 2), rsum(1, 2), NO, NO, NO, rsum(1, 2), NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  // Approvals
  row('listNonEmployeeApprovals', '', 'no requested-for (count=true)', R, [see('iA1', 'iA2', 'iB1'), see('iA1', 'iA2', 'iB1'), see(), see(), see(), see(), see(), see(), see(), see(), see('iA1'), see('iA2'), see(), AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeApprovals', 'me', 'requested-for=me', R, [see(), see(), see(), see(), see(), see(), see(), see(), see(), see(), see('iA1'), see('iA2'), see(), AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeApprovals', 'approverId', 'requested-for=<approver of iA1>', R, [see('iA1'), see('iA1'), NO, NO, NO, NO, NO, NO, NO, NO, see('iA1'), NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeApprovals', 'orFilter', 'filters=approvalStatus eq "NOT_READY" or approvalStatus eq "PENDING"', R, [see('iA1', 'iA2', 'iB1'), see('iA1', 'iA2', 'iB1'), see(), see(), see(), see(), see(), see(), see(), see(), see('iA1'), see('iA2'), see(), AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeApproval', '', 'iA1', R, [OBJ, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, OBJ, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeApproval', 'L2', 'iA2 (NOT_READY)', R, [OBJ, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, OBJ, NO, AUTH, AUTH, AUTH, AUTH]),
  row('approveNonEmployeeRequest', '', 'iA1', W, [NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, OBJ, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('approveNonEmployeeRequest', 'L2', 'iA2 (NOT_READY)', W, [NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, BAD, NO, AUTH, AUTH, AUTH, AUTH]),
  row('rejectNonEmployeeRequest', '', 'iA1', W, [NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, OBJ, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('rejectNonEmployeeRequest', 'L2', 'iA2 (NOT_READY)', W, [NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, BAD, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeApprovalSummary', 'me', 'requested-for=me', R, [asum(0), asum(0), asum(0), asum(0), asum(0), asum(0), asum(0), asum(0), asum(0), asum(0), asum(1), asum(0), asum(0), AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeApprovalSummary', 'approverId', 'requested-for=<approver of iA1>', R, [asum(1), asum(1), NO, NO, NO, NO, NO, NO, NO, NO, asum(1), NO, NO, AUTH, AUTH, AUTH, AUTH]),
  // Bulk upload, export, template; the job extensions
  row('exportNonEmployeeRecords', '', 'A', R, [csvOf('rA1', 'rA2'), csvOf('rA1', 'rA2'), NO, NO, NO, csvOf('rA1', 'rA2'), csvOf('rA1', 'rA2'), NO, csvOf('rA1', 'rA2'), NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('importNonEmployeeRecordsInBulk', '', 'A', W, [ACC, NO, ACC, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeBulkUploadStatus', '', 'A', R, [OBJ, OBJ, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('exportNonEmployeeSourceSchemaTemplate', '', 'A', R, [CSV, CSV, NO, NO, NO, CSV, CSV, NO, CSV, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('listNonEmployeeBulkUploadJobs', '', 'A (extension)', R, [see('jobA'), see('jobA'), see('jobA'), NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeBulkUploadJob', '', 'jobA (extension)', R, [OBJ, OBJ, OBJ, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('getNonEmployeeBulkUploadJob', 'viaB', "jobA under B's path (extension)", R, [NF, NF, NF, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('exportNonEmployeeBulkUploadJobErrors', '', 'jobA (extension)', R, [CSV, CSV, CSV, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
  row('exportNonEmployeeBulkUploadJobErrors', 'viaB', "jobA under B's path (extension)", R, [NF, NF, NF, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, AUTH, AUTH, AUTH, AUTH]),
];
/** The key of a row: `op` or `op/variant`. */
export function rowKey(row: Pick<Row, 'op' | 'variant'>): string {
  return row.variant ? `${row.op}/${row.variant}` : row.op;
}

/** A cell as the table shows it: `200 [rA1 rA2]`, `403`, `204`, … */
export function cellText(outcome: Outcome): string {
  switch (outcome.body) {
    case 'array':
      return outcome.exactly ? `200 [${outcome.exactly.join(' ')}]` : '200 […]';
    case 'csv':
      return outcome.exactly ? `200 csv(${outcome.exactly.join(' ')})` : '200 csv';
    case 'object':
      if ('equals' in outcome) {
        const counts = Object.entries(outcome.equals).filter(([, n]) => n !== 0);
        return counts.length === 0 ? '200 {0}' : `200 {${counts.map(([k, n]) => `${k === 'nonEmployeeCount' ? 'records' : k}:${n}`).join(' ')}}`;
      }
      return `${outcome.status} {…}`;
    case 'empty':
      return '204';
    default:
      return String(outcome.status);
  }
}
