/**
 * Replace (PUT, `updateNonEmployeeRecord`) and patch (`patchNonEmployeeRecord`) of a record:
 * - `idn:nesr:update` may change every writable field; the owner of the record's source may
 *   change endDate only: a PUT that changes anything else, or a PATCH whose operations touch any
 *   other path (a `test` included: it reads that field), or that has no operation but `test` on
 *   endDate (it would only read the record, which GET refuses the owner), is a 403;
 * - id, created and modified are read-only and a record cannot move to another source: PATCH on
 *   those paths, or a PUT naming another source, is a 400 (400.1.3). PUT bodies drop unknown
 *   fields, so a record read with GET can be sent back as is;
 * - the result is validated like a create, except that what it leaves as stored is not checked
 *   again against references that changed since (a manager alias gone, a custom attribute made
 *   required later and still empty; RecordValidationContext.existing). Nothing changed: nothing is written and `modified`
 *   stays, so a repeated PUT (the SDK retries PUT on 5xx) yields the same record.
 */
import { fail, assertThat, type Cause } from '../../errors/api-error.js';
import { hasRight, type Principal } from '../../auth/principal.js';
import { applyPatch, type PatchOperation } from '../../domain/json-patch.js';
import { isId, normalizeId, nowIso } from '../../domain/ids.js';
import { changedFields, type NormalisedRecord, type RecordInput } from '../../domain/records/validation.js';
import type { NonEmployeeRecord } from './repository.js';
import type { RecordService } from './service.js';

/** The paths a PATCH may touch (first segment); `/data/<technicalName>` included. */
export const PATCHABLE = ['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager', 'startDate', 'endDate', 'data'] as const;
const READ_ONLY = ['id', 'created', 'modified', 'sourceId'];

export function normalisedOf(record: NonEmployeeRecord): NormalisedRecord {
  const { id: _id, created: _created, modified: _modified, ...rest } = record;
  return rest;
}

const moveText = 'sourceId cannot be changed: a non-employee record cannot move to another source';

/** True for `idn:nesr:update`, false for the source owner (endDate only); 403 for anyone else. */
async function fullAccess(service: RecordService, principal: Principal, record: NonEmployeeRecord): Promise<boolean> {
  if (hasRight(principal, 'idn:nesr:update')) return true;
  const source = await service.repo.source(principal.tenantId, record.sourceId);
  assertThat(source?.ownerId === principal.identityId, () =>
    fail.forbidden('Updating a non-employee record requires idn:nesr:update; the owner of its source may change only endDate.'),
  );
  return false;
}

/** A PATCH of the source owner touching `paths`: they are the caller's own, so they are named. */
function ownerOnlyForbidden(paths: readonly string[]) {
  return fail.forbidden(`The owner of the source may change only endDate, not ${paths.join(', ')}.`);
}

/**
 * A PUT of the source owner that differs from the record elsewhere than endDate. Which fields
 * differ is not said: the owner may not read the record, and naming them would let a caller find
 * each field's value by guessing one field at a time.
 */
function ownerReplaceForbidden() {
  return fail.forbidden('The owner of the source may change only endDate; this request would change other fields of the record.');
}

async function save(service: RecordService, tenantId: string, existing: NonEmployeeRecord, value: NormalisedRecord, full: boolean): Promise<NonEmployeeRecord> {
  const changed = changedFields(normalisedOf(existing), value);
  const others = changed.filter((f) => f !== 'endDate');
  if (!full && others.length > 0) throw ownerReplaceForbidden();
  if (changed.length === 0) return existing;
  const next: NonEmployeeRecord = { ...existing, ...value, modified: nowIso() };
  const updated = await service.conflictsAsErrors(value.accountName, 'update', () => service.repo.update(tenantId, next));
  assertThat(updated, () => fail.notFound(`Non-employee record ${existing.id} was not found.`));
  return next;
}

export async function replaceRecord(service: RecordService, principal: Principal, id: string, input: RecordInput): Promise<NonEmployeeRecord> {
  const existing = await service.find(principal.tenantId, id);
  const full = await fullAccess(service, principal, existing);
  const sourceId = typeof input.sourceId === 'string' ? input.sourceId.trim() : '';
  if (isId(sourceId) && normalizeId(sourceId) !== existing.sourceId) throw fail.illegalUpdate(moveText, [{ field: 'sourceId', text: moveText }]);
  const { record } = await service.prepare(principal.tenantId, input, normalisedOf(existing));
  return save(service, principal.tenantId, existing, record, full);
}

export async function patchRecord(service: RecordService, principal: Principal, id: string, operations: readonly PatchOperation[]): Promise<NonEmployeeRecord> {
  const existing = await service.find(principal.tenantId, id);
  const full = await fullAccess(service, principal, existing);

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
  if (!full) {
    const touched = operations.filter((op) => op.path !== '/endDate' || (op.from !== undefined && op.from !== '/endDate'));
    if (touched.length > 0)
      throw ownerOnlyForbidden([...new Set(touched.flatMap((op) => [op.path, ...(op.from ? [op.from] : [])]).filter((p) => p !== '/endDate'))]);
    // Nothing but tests (or nothing): a read of the record, not an update of its endDate.
    if (operations.every((op) => op.op === 'test'))
      throw fail.forbidden(
        'The owner of the source may change endDate; a patch that changes nothing would only read the record, which requires idn:nesr:read.',
      );
  }

  const { sourceId, ...document } = normalisedOf(existing);
  const patched = applyPatch(document as Record<string, unknown>, operations, PATCHABLE);
  const { record } = await service.prepare(principal.tenantId, { ...patched, sourceId }, normalisedOf(existing));
  return save(service, principal.tenantId, existing, record, full);
}
