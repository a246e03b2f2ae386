/**
 * The rows of an uploaded CSV as record bodies. Pure: no HTTP, no SQL.
 *
 * - Columns are matched to the source's schema attributes by technical name, in any case, with
 *   surrounding spaces ignored. Every system attribute and every required custom attribute must
 *   have a column; unknown, unnamed and repeated columns are refused. A non-required custom
 *   attribute may be left out: records the file updates keep their value of it.
 * - Each row becomes a NonEmployeeRequestBody (`sourceId` = the source uploaded to) and is
 *   validated with the records' own validation (records/validation.ts). An empty cell of a
 *   custom attribute means "no value".
 * - An accountName that appears on two rows is an error on the later one.
 */
import { caselessKey } from '../../domain/text.js';
import type { Cause } from '../../errors/api-error.js';
import type { NormalisedRecord } from '../records/model.js';
import { type RecordAttribute, validateRecordInput } from '../records/validation.js';
import type { RowError } from './model.js';
import type { CsvReader, CsvRow } from './csv.js';

export interface Column {
  /** Position in the file. */
  index: number;
  /** The header cell as written. */
  name: string;
  technicalName: string;
  system: boolean;
}

export interface ColumnMap {
  columns: Column[];
  /** Custom attributes without a column: updated records keep their values. */
  absent: string[];
}

/**
 * Header problems listed one by one; past this many, one more cause counts the rest (a header of a
 * million columns must not become a million causes).
 */
export const MAX_HEADER_PROBLEMS = 50;

/** A header cell as a problem quotes it: cut after 64 characters (the longest technical name). */
const shown = (name: string) => (name.length > 64 ? `${name.slice(0, 64)}…` : name);

/** Matches the header to the attributes; one cause per problem (field `data`, the upload part). */
export function mapColumns(header: readonly string[], attributes: readonly RecordAttribute[]): { map: ColumnMap; problems: Cause[] } {
  const byName = new Map(attributes.map((a) => [a.technicalName.toLowerCase(), a]));
  const problems: Cause[] = [];
  const columns: Column[] = [];
  const seen = new Map<string, number>();
  let more = 0;
  const problem = (text: () => string) => {
    if (problems.length < MAX_HEADER_PROBLEMS) problems.push({ field: 'data', text: text() });
    else more++;
  };
  const known = attributes.map((a) => a.technicalName).join(', ');
  for (const [index, raw] of header.entries()) {
    const name = raw.trim();
    const at = `column ${index + 1}`;
    const attribute = name === '' ? undefined : byName.get(name.toLowerCase());
    const first = attribute && seen.get(attribute.technicalName);
    if (name === '') problem(() => `${at} of the header has no name`);
    else if (!attribute) problem(() => `${at} "${shown(name)}" is not an attribute of the source; its columns are ${known}`);
    else if (first !== undefined) problem(() => `${at} "${name}" repeats column ${first + 1} (${attribute.technicalName})`);
    else {
      seen.set(attribute.technicalName, index);
      columns.push({ index, name, technicalName: attribute.technicalName, system: attribute.system });
    }
  }
  const absent: string[] = [];
  for (const a of attributes) {
    if (seen.has(a.technicalName)) continue;
    if (a.system || a.required) problem(() => `the required column "${a.technicalName}" is missing`);
    else absent.push(a.technicalName);
  }
  if (more > 0) problems.push({ field: 'data', text: `and ${more} more problems with the header` });
  return { map: { columns, absent }, problems };
}

/** The record body of a row. */
export function rowInput(row: CsvRow, map: ColumnMap, sourceId: string): Record<string, unknown> {
  const input: Record<string, unknown> = { sourceId };
  const data: Record<string, string> = {};
  for (const column of map.columns) {
    const value = row.cells[column.index] ?? '';
    if (column.system) input[column.technicalName] = value;
    else if (value.trim() !== '') data[column.technicalName] = value;
  }
  input.data = data;
  return input;
}

/** Counts the rows and collects the distinct values (trimmed, not empty) of one column. */
export async function columnValues(reader: CsvReader, map: ColumnMap, technicalName: string): Promise<{ rows: number; values: Set<string> }> {
  const column = map.columns.find((c) => c.technicalName === technicalName);
  const values = new Set<string>();
  let rows = 0;
  for await (const row of reader.rows()) {
    rows++;
    const value = column ? (row.cells[column.index] ?? '').trim() : '';
    if (value !== '') values.add(value);
  }
  return { rows, values };
}

export interface RowContext {
  sourceId: string;
  attributes: readonly RecordAttribute[];
  /** The manager aliases that name identities. */
  managers: ReadonlySet<string>;
}

export interface RowsValidation {
  rows: number;
  valid: NormalisedRecord[];
  /** At most `maxErrors` of them; `errorCount` counts all. */
  errors: RowError[];
  errorCount: number;
  /** Rows with at least one problem. */
  failed: number;
}

/**
 * Validates every row as it is read; a row with any problem counts once in `failed`. The records
 * of valid rows are kept in `valid`, or handed to `onValid` instead when it is given.
 */
export async function validateRows(
  reader: CsvReader,
  map: ColumnMap,
  ctx: RowContext,
  maxErrors = Infinity,
  onValid?: (record: NormalisedRecord) => void,
): Promise<RowsValidation> {
  const out: RowsValidation = { rows: 0, valid: [], errors: [], errorCount: 0, failed: 0 };
  const lineOf = new Map<string, number>();
  const columnOf = new Map(map.columns.map((c) => [c.technicalName, c]));
  const accountColumn = columnOf.get('accountName');
  const problem = (row: CsvRow, name: string | undefined, message: string) => {
    out.errorCount++;
    if (out.errors.length >= maxErrors) return;
    const column = name !== undefined ? columnOf.get(name) : undefined;
    out.errors.push({ line: row.line, column: column?.name ?? name ?? null, value: column ? (row.cells[column.index] ?? '') : null, message });
  };
  for await (const row of reader.rows()) {
    out.rows++;
    const before = out.errorCount;
    const input = rowInput(row, map, ctx.sourceId);
    const manager = typeof input.manager === 'string' ? input.manager.trim() : '';
    const result = validateRecordInput(input, { attributes: ctx.attributes, managerExists: ctx.managers.has(manager) });
    if (!result.ok) {
      for (const cause of result.causes) problem(row, cause.field?.startsWith('data.') ? cause.field.slice(5) : cause.field, cause.text);
    }
    const name = accountColumn ? (row.cells[accountColumn.index] ?? '').trim() : '';
    const first = lineOf.get(caselessKey(name));
    if (name !== '' && first !== undefined) problem(row, 'accountName', `accountName "${name}" is already on line ${first}`);
    else if (name !== '') lineOf.set(caselessKey(name), row.line);
    if (out.errorCount > before) out.failed++;
    else if (result.ok) {
      if (onValid) onValid(result.value);
      else out.valid.push(result.value);
    }
  }
  return out;
}
