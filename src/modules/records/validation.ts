/**
 * The rules of a NonEmployeeRequestBody, shared by records, requests and CSV bulk
 * import. Pure: the caller looks up the source's schema attributes and whether the manager alias
 * names an identity, and this module says whether the input is a valid record, with one cause per
 * faulty field.
 *
 * Normalisation: text fields are trimmed, `sourceId` is the stored id of the source (the service
 * resolves the body's `sourceId` to it first), dates keep the client's offset (see dates.ts),
 * `data` keeps only string values keyed by the source's custom attributes.
 *
 * Every field, `data` values included, is a single line: a control character (a line break, ESC,
 * C1) is refused (src/domain/text.ts), except in a value an update leaves as stored.
 */
import { isId } from '../../domain/ids.js';
import { controlCharacterProblem } from '../../domain/text.js';
import type { Cause } from '../../errors/api-error.js';
import { parseRecordDate } from './dates.js';
import type { NormalisedRecord, RecordData } from './model.js';
import { RECORD_LIMITS } from './schemas.js';

/** What the validation needs of a schema attribute; `SchemaAttribute` fits. */
export interface RecordAttribute {
  technicalName: string;
  required: boolean;
  system: boolean;
}

export interface RecordValidationContext {
  /** The attributes of the source `sourceId` names (system and custom); null when it names none. */
  attributes: readonly RecordAttribute[] | null;
  /** Whether `manager` is the alias of an existing identity. */
  managerExists: boolean;
  /**
   * The stored record, when the input replaces it (PUT, PATCH). What the update leaves as it was
   * is not checked again against what may have changed since the record was written: a `manager`
   * whose identity has gone, or a custom attribute made required afterwards (left as empty as it
   * was). Otherwise an update of anything else, the source owner's endDate included, could never
   * pass until someone fixes fields the caller may not be allowed to change.
   */
  existing?: NormalisedRecord | undefined;
}

/** A body as received: field types are checked here, so anything object-like will do. */
export type RecordInput = Readonly<Record<string, unknown>>;

export type RecordValidation = { ok: true; value: NormalisedRecord } | { ok: false; causes: Cause[] };

/** The required text fields, in the order causes are listed (the spec's order). */
export const RECORD_TEXT_FIELDS = ['accountName', 'firstName', 'lastName', 'email', 'phone', 'manager'] as const;
export const RECORD_DATE_FIELDS = ['startDate', 'endDate'] as const;
/** Every field of a record a client may write. */
export const RECORD_FIELDS = [...RECORD_TEXT_FIELDS, 'sourceId', ...RECORD_DATE_FIELDS, 'data'] as const;
export type RecordField = (typeof RECORD_FIELDS)[number];

// local@domain.tld: no spaces, one @, dot-separated labels of letters, digits and hyphens.
const EMAIL_LOCAL = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const EMAIL_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

/** True for a plausible email address: `name@example.com`, not `name@localhost` or `a@@b.c`. */
export function isPlausibleEmail(value: string): boolean {
  if (value.length > RECORD_LIMITS.email) return false;
  const at = value.lastIndexOf('@');
  if (at < 1) return false;
  const local = value.slice(0, at);
  const labels = value.slice(at + 1).split('.');
  return local.length <= 64 && EMAIL_LOCAL.test(local) && labels.length >= 2 && labels.every((l) => EMAIL_LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

/**
 * A required single-line text field, trimmed. `stored`: the value the record holds; an update may
 * leave it as it is whatever it holds, as it may leave a manager whose identity has gone.
 */
function requiredText(input: RecordInput, field: string, max: number, causes: Cause[], stored?: string): string {
  const raw = input[field];
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    causes.push({ field, text: `${field} is required` });
    return '';
  }
  if (typeof raw !== 'string') {
    causes.push({ field, text: `${field} must be a string` });
    return '';
  }
  const value = raw.trim();
  const control = value === stored ? undefined : controlCharacterProblem(field, raw);
  if (control !== undefined) causes.push({ field, text: control });
  else if (value.length > max) causes.push({ field, text: `${field} must be at most ${max} characters` });
  return value;
}

function checkData(
  raw: unknown,
  attributes: readonly RecordAttribute[] | null,
  causes: Cause[],
  stored?: Readonly<Record<string, string>>,
): Record<string, string> {
  const data: Record<string, string> = {};
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    causes.push({ field: 'data', text: 'data must be an object of string values' });
    return data;
  }
  const given = (raw ?? {}) as Record<string, unknown>;
  const custom = (attributes ?? []).filter((a) => !a.system);
  const names = custom.map((a) => a.technicalName);
  for (const [key, value] of Object.entries(given)) {
    const field = `data.${key}`;
    if (attributes !== null && !names.includes(key)) {
      const known = names.length > 0 ? `its custom attributes are ${names.join(', ')}` : 'it has no custom attributes';
      causes.push({ field, text: `${field} is not a custom attribute of the source; ${known}` });
    } else if (typeof value !== 'string') {
      causes.push({ field, text: `${field} must be a string` });
    } else {
      const control = value.trim() === stored?.[key] ? undefined : controlCharacterProblem(field, value);
      if (control !== undefined) causes.push({ field, text: control });
      else if (value.trim().length > RECORD_LIMITS.dataValue) causes.push({ field, text: `${field} must be at most ${RECORD_LIMITS.dataValue} characters` });
      else data[key] = value.trim();
    }
  }
  for (const attribute of custom) {
    const key = attribute.technicalName;
    if (!attribute.required || causes.some((c) => c.field === `data.${key}`)) continue;
    const empty = !Object.hasOwn(given, key) || data[key] === '';
    // An update may leave a required value as empty as the stored record has it.
    if (empty && !(stored !== undefined && !stored[key])) causes.push({ field: `data.${key}`, text: `data.${key} is required` });
  }
  // In the order of the source's attributes, whatever the order the client wrote them in.
  return Object.fromEntries(names.filter((name) => Object.hasOwn(data, name)).map((name) => [name, data[name]!]));
}

function fieldRank(field: string | undefined): number {
  const index = (RECORD_FIELDS as readonly string[]).indexOf(field?.split('.')[0] ?? '');
  return index < 0 ? RECORD_FIELDS.length : index;
}

/**
 * Validates and normalises a record body against its source's schema. All problems are reported
 * together, one cause per field, in the order of RECORD_FIELDS (then `data.<key>`).
 */
export function validateRecordInput(input: RecordInput, ctx: RecordValidationContext): RecordValidation {
  const causes: Cause[] = [];
  const text = Object.fromEntries(
    RECORD_TEXT_FIELDS.map((field) => [
      field,
      requiredText(input, field, field === 'email' ? RECORD_LIMITS.email : RECORD_LIMITS.text, causes, ctx.existing?.[field]),
    ]),
  ) as Record<(typeof RECORD_TEXT_FIELDS)[number], string>;
  if (text.email !== '' && !causes.some((c) => c.field === 'email') && !isPlausibleEmail(text.email)) {
    causes.push({ field: 'email', text: `email "${text.email}" is not a valid email address` });
  }
  if (text.manager !== '' && !causes.some((c) => c.field === 'manager') && !ctx.managerExists && text.manager !== ctx.existing?.manager) {
    causes.push({ field: 'manager', text: `manager "${text.manager}" is not the account name (alias) of an identity` });
  }

  const sourceId = requiredText(input, 'sourceId', 64, causes);
  if (sourceId !== '' && !causes.some((c) => c.field === 'sourceId')) {
    if (!isId(sourceId)) causes.push({ field: 'sourceId', text: `sourceId "${sourceId}" is not a valid id` });
    else if (ctx.attributes === null) causes.push({ field: 'sourceId', text: `sourceId ${sourceId} does not name a non-employee source` });
  }

  const dates: Record<string, string> = {};
  const instants: Record<string, string> = {};
  for (const field of RECORD_DATE_FIELDS) {
    const value = requiredText(input, field, 64, causes);
    if (value === '' || causes.some((c) => c.field === field)) continue;
    const parsed = parseRecordDate(value);
    if (parsed.ok) {
      dates[field] = parsed.text;
      instants[field] = parsed.iso;
    } else causes.push({ field, text: `${field} "${value}" ${parsed.reason}` });
  }
  if (instants.startDate && instants.endDate && instants.startDate > instants.endDate) {
    causes.push({ field: 'endDate', text: `endDate ${dates.endDate} is before startDate ${dates.startDate}` });
  }

  const data = checkData(input.data, ctx.attributes, causes, ctx.existing?.data);
  if (causes.length > 0) return { ok: false, causes: causes.sort((a, b) => fieldRank(a.field) - fieldRank(b.field)) };
  return { ok: true, value: { ...text, sourceId, startDate: dates.startDate!, endDate: dates.endDate!, data } };
}

/** The fields whose normalised values differ between two records (`data` compared as a map). */
export function changedFields(before: NormalisedRecord, after: NormalisedRecord): RecordField[] {
  return RECORD_FIELDS.filter((field) => (field === 'data' ? !sameData(before.data, after.data) : before[field] !== after[field]));
}

function sameData(a: RecordData, b: RecordData): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
