/**
 * The rules of replacing (PUT, `updateNonEmployeeRecord`) and patching (`patchNonEmployeeRecord`)
 * a record, as pure decisions; the service reads and writes around them.
 * - `idn:nesr:update` may change every writable field; the owner of the record's source may
 *   change endDate only: a PUT that changes anything else, or a PATCH whose operations touch any
 *   other path (a `test` included: it reads that field), or that has no operation but `test` on
 *   endDate (it would only read the record, which GET refuses the owner), is a 403;
 * - id, created and modified are read-only and a record cannot move to another source: PATCH on
 *   those paths, or a PUT naming another source, is a 400 (400.1.3). PUT bodies drop unknown
 *   fields, so a record read with GET can be sent back as is;
 * - the result is validated like a create, except that what it leaves as stored is not checked
 *   again against references that changed since (validation.ts, `existing`). Nothing changed:
 *   nothing is written and `modified` stays, so a repeated PUT (the SDK retries PUT on 5xx) yields
 *   the same record.
 */
import { isId } from '../../domain/ids.js';
import { applyPatch, type PatchOperation } from '../../domain/json-patch.js';
import { type Cause, fail } from '../../errors/api-error.js';
import { type NonEmployeeRecord, type NormalisedRecord, normalisedOf } from './model.js';
import { changedFields, type RecordInput } from './validation.js';

/** The paths a PATCH may touch (first segment); `/data/<technicalName>` included. */
export const PATCHABLE = ['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager', 'startDate', 'endDate', 'data'] as const;
const READ_ONLY = ['id', 'created', 'modified', 'sourceId'];

const moveText = 'sourceId cannot be changed: a non-employee record cannot move to another source';

/** A PUT naming another source: 400.1.3. `namedId` is the stored id of the source the body names, if any. */
export function checkReplace(existing: NonEmployeeRecord, input: RecordInput, namedId: string | undefined): void {
  const sourceId = typeof input.sourceId === 'string' ? input.sourceId.trim() : '';
  if (isId(sourceId) && namedId !== existing.sourceId) throw fail.illegalUpdate(moveText, [{ field: 'sourceId', text: moveText }]);
}

/**
 * PATCH operations on read-only paths: 400.1.3; for the source owner (`full` false), operations
 * on anything but endDate, or only tests: 403.
 */
export function checkPatch(operations: readonly PatchOperation[], full: boolean): void {
  const causes: Cause[] = [];
  operations.forEach((op, i) => {
    for (const [name, pointer] of [
      ['path', op.path],
      ['from', op.from],
    ] as const) {
      const first = pointer?.split('/')[1];
      if (first === undefined || !READ_ONLY.includes(first)) continue;
      const field = `operations[${i}].${name}`;
      causes.push({ field, text: first === 'sourceId' ? `${field}: ${moveText}` : `${field}: ${first} is read-only` });
    }
  });
  if (causes.length > 0) throw fail.illegalUpdate(causes.map((c) => c.text).join('; '), causes);
  if (full) return;
  const touched = operations.filter((op) => op.path !== '/endDate' || (op.from !== undefined && op.from !== '/endDate'));
  if (touched.length > 0) {
    // The caller's own paths, so they may be named.
    const paths = new Set(touched.flatMap((op) => [op.path, ...(op.from ? [op.from] : [])]).filter((p) => p !== '/endDate'));
    throw fail.forbidden(`The owner of the source may change only endDate, not ${[...paths].join(', ')}.`);
  }
  if (operations.every((op) => op.op === 'test')) {
    throw fail.forbidden('The owner of the source may change endDate; a patch that changes nothing would only read the record, which requires idn:nesr:read.');
  }
}

/** The body a PATCH makes of the record, to be validated as a PUT body is. */
export function patchedBody(existing: NonEmployeeRecord, operations: readonly PatchOperation[]): RecordInput {
  const { sourceId, ...document } = normalisedOf(existing);
  return { ...applyPatch(document as Record<string, unknown>, operations, PATCHABLE), sourceId };
}

/**
 * The record an update makes of `existing` with the validated `value`, modified `now`; undefined
 * when nothing changes. The source owner (`full` false) changing anything but endDate is a 403
 * that does not say which fields differ: the owner may not read the record, and naming them would
 * let a caller find each value by guessing one field at a time.
 */
export function updatedRecord(existing: NonEmployeeRecord, value: NormalisedRecord, full: boolean, now: string): NonEmployeeRecord | undefined {
  const changed = changedFields(normalisedOf(existing), value);
  if (!full && changed.some((f) => f !== 'endDate')) {
    throw fail.forbidden('The owner of the source may change only endDate; this request would change other fields of the record.');
  }
  return changed.length === 0 ? undefined : { ...existing, ...value, modified: now };
}
