/**
 * Compiles parsed filters and sorters to Kysely against a per-endpoint whitelist.
 *
 * NULL semantics (the same on SQLite and PostgreSQL): NULL never satisfies a comparison other than
 * `isnull`, and negation is the exact complement of what it negates. So `ne` is the complement of
 * `eq` (`manager ne "x"` includes rows whose manager is NULL), and `not (...)` includes the rows
 * the inner expression excludes, NULLs included. This is done by pushing `not` down to the
 * comparisons (De Morgan) and giving each comparison a negated form that adds `OR col IS NULL`,
 * which keeps the SQL plain and index-friendly (no COALESCE around columns).
 *
 * Values are always bound as parameters; only column names (from the whitelist, never from the
 * client) and fixed SQL text are written into the statement.
 */
import { expressionBuilder, sql, type Expression, type ExpressionBuilder, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { fail } from '../errors/api-error.js';
import { filterError, parseFilter, type FilterNode, type FilterOp, type Literal } from './filter.js';

/**
 * How a client value is checked: 'string', 'date' and 'enum' take strings, 'boolean' true/false,
 * 'number' a number. PostgreSQL types a parameter after its column, so an integer column given
 * 22.5 fails there: give integer columns `normalize: integerValue`.
 */
export type FieldType = 'string' | 'date' | 'enum' | 'boolean' | 'number';
export interface FilterField {
  /** the SQL column (may be qualified, e.g. 'r.last_name'); co/sw/pr only make sense on text columns */
  column: string;
  type: FieldType;
  /** the operators allowed for this field */
  ops: readonly FilterOp[];
  /** turns the client value into the stored value (e.g. upper-casing an enum, normalising a date); may throw an ApiError */
  normalize?: (v: Literal) => Literal;
}
export type FilterSpec = Readonly<Record<string, FilterField>>;
export interface SortSpec {
  /** sorter name -> column */
  fields: Readonly<Record<string, string>>;
  /** a unique column, appended last so that paging is stable */
  tiebreak: string;
  /** used when the client sends no sorters, e.g. '-created' */
  default?: string;
  /** the sorter names of text columns, which sort regardless of case (`alpha` before `Mike`) */
  caseless?: readonly string[];
}

type EB = ExpressionBuilder<any, any>;
type Cond = Expression<SqlBool>;

/** Compiles a filter AST into a WHERE condition, validating it against `spec`. */
export function filterExpression(eb: EB, node: FilterNode, spec: FilterSpec): Cond {
  return compile(eb, node, spec, false);
}

/**
 * The `filters` parameter of a list over `spec`, parsed and checked whole (every field, operator
 * and value, as `filterExpression` does), or undefined when there is none. A bad filter is then a
 * 400 even where the list answers without a query (nothing to read, `limit=0`).
 */
export function parseListFilter(text: string | undefined, spec: FilterSpec): FilterNode | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const node = parseFilter(text);
  compile(expressionBuilder() as unknown as EB, node, spec, false);
  return node;
}

function compile(eb: EB, node: FilterNode, spec: FilterSpec, negated: boolean): Cond {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const items = node.items.map((item) => compile(eb, item, spec, negated));
      // De Morgan: not (a and b) = not a or not b.
      return (node.kind === 'and') !== negated ? eb.and(items) : eb.or(items);
    }
    case 'not':
      return compile(eb, node.item, spec, !negated);
    case 'compare':
      return comparison(eb, node, spec, negated);
  }
}

const COMPARISON = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;
/** The complement of each ordering, for the negated form. */
const FLIPPED = { gt: 'le', ge: 'lt', lt: 'ge', le: 'gt' } as const;

function comparison(eb: EB, node: Extract<FilterNode, { kind: 'compare' }>, spec: FilterSpec, negated: boolean): Cond {
  const field = lookupField(node.field, spec);
  if (!field.ops.includes(node.op) || node.op === 'ca') {
    // `ca` is parsed but no field supports it: it is rejected here like any operator not offered.
    const offered = field.ops.filter((op) => op !== 'ca');
    throw filterError(`operator '${node.op}' is not supported for field '${node.field}'; supported operators: ${offered.join(', ')}`);
  }
  const col = eb.ref(field.column);
  const isNull = eb(col, 'is', null);
  const orNull = (cond: Cond): Cond => eb.or([cond, isNull]);
  const isText = field.type === 'string' || field.type === 'enum';

  switch (node.op) {
    case 'isnull':
      return negated ? eb(col, 'is not', null) : isNull;
    case 'pr': {
      // present = not null and, for text, not the empty string
      if (!isText) return negated ? isNull : eb(col, 'is not', null);
      return negated ? eb.or([isNull, eb(col, '=', '')]) : eb.and([eb(col, 'is not', null), eb(col, '<>', '')]);
    }
    case 'in': {
      const values = (node.values ?? []).map((v) => checkValue(node.field, field, v));
      return negated ? orNull(eb(col, 'not in', values)) : eb(col, 'in', values);
    }
    case 'co':
    case 'sw': {
      const value = checkValue(node.field, field, node.value);
      const escaped = String(value).replace(/[\\%_]/g, (c) => `\\${c}`);
      const pattern = node.op === 'co' ? `%${escaped}%` : `${escaped}%`;
      // lower() on both sides makes this case-insensitive on both engines (SQLite's lower() folds
      // ASCII only; PostgreSQL folds per its collation). The escape char is a fixed literal.
      const like = negated ? sql.raw('not like') : sql.raw('like');
      const cond = sql<SqlBool>`lower(${col}) ${like} lower(${pattern}) escape '\\'`;
      return negated ? orNull(cond) : cond;
    }
    case 'eq':
    case 'ne': {
      const value = checkValue(node.field, field, node.value);
      // ne is the complement of eq, so it is eq with the negation flipped
      const positive = (node.op === 'eq') !== negated;
      return positive ? eb(col, '=', value) : orNull(eb(col, '<>', value));
    }
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le': {
      const value = checkValue(node.field, field, node.value);
      return negated ? orNull(eb(col, COMPARISON[FLIPPED[node.op]], value)) : eb(col, COMPARISON[node.op], value);
    }
  }
}

function lookupField(name: string, spec: FilterSpec): FilterField {
  // Object.hasOwn: a field called 'constructor' or '__proto__' must not reach Object.prototype.
  const field = Object.hasOwn(spec, name) ? spec[name] : undefined;
  if (!field) {
    const names = Object.keys(spec);
    throw filterError(`field '${name}' is not filterable; filterable fields: ${names.length ? names.join(', ') : '(none)'}`);
  }
  return field;
}

const EXPECTED: Record<FieldType, 'string' | 'number' | 'boolean'> = {
  string: 'string',
  date: 'string',
  enum: 'string',
  boolean: 'boolean',
  number: 'number',
};

/** Checks a client value against the field type, normalises it and makes it bindable. */
function checkValue(name: string, field: FilterField, value: Literal | undefined): Exclude<Literal, boolean | null> {
  if (value === null || value === undefined) {
    throw filterError(`null is not a value for field '${name}'; use 'isnull' or 'pr' to test for absence`);
  }
  const expected = EXPECTED[field.type];
  if (typeof value !== expected) {
    throw filterError(`field '${name}' expects a ${expected} value, got ${JSON.stringify(value)}`);
  }
  const stored = field.normalize ? field.normalize(value) : value;
  // better-sqlite3 cannot bind booleans; 1/0 works on both engines (PostgreSQL infers the
  // parameter's type from a boolean column and accepts '1'/'0' as boolean input).
  if (typeof stored === 'boolean') return stored ? 1 : 0;
  if (stored === null) throw filterError(`null is not a value for field '${name}'`);
  return stored;
}

/** A `normalize` for integer columns: rejects fractional numbers with a 400. */
export function integerValue(v: Literal): Literal {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw filterError(`${v} is not an integer`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Sorters

export interface Sorter {
  column: string;
  direction: 'asc' | 'desc';
  /** sort by `lower(column)`: the expression the per-source indexes of text columns hold */
  caseless?: boolean;
}

/** What a sorter orders by: its column, or the column in lower case. */
export function sortKey(sorter: Sorter): RawBuilder<unknown> {
  return sorter.caseless ? sql`lower(${sql.ref(sorter.column)})` : sql`${sql.ref(sorter.column)}`;
}

function sortersError(message: string) {
  const text = `Invalid sorters: ${message}`;
  return fail.badRequest(text, [{ field: 'sorters', text }]);
}

/**
 * Parses `sorters` (e.g. `lastName,-created`) against `spec`; with no text, uses `spec.default`.
 * The result always ends with the tiebreak column (ascending, unless the client sorted on it).
 */
export function parseSorters(text: string | undefined, spec: SortSpec): Sorter[] {
  const source = text === undefined || text.trim() === '' ? (spec.default ?? '') : text;
  const sorters: Sorter[] = [];
  if (source.trim() !== '') {
    if (source.length > 1024) throw sortersError('longer than 1024 characters');
    const seen = new Set<string>();
    for (const raw of source.split(',')) {
      const item = raw.trim();
      if (item === '') throw sortersError(`empty sort field in '${source}'`);
      const direction = item.startsWith('-') ? 'desc' : 'asc';
      const name = direction === 'desc' ? item.slice(1) : item;
      const column = Object.hasOwn(spec.fields, name) ? spec.fields[name] : undefined;
      if (column === undefined) {
        throw sortersError(`'${name}' is not sortable; sortable fields: ${Object.keys(spec.fields).join(', ')}`);
      }
      if (seen.has(name)) throw sortersError(`'${name}' appears more than once`);
      seen.add(name);
      // Two sorter names may share a column; the second would change nothing.
      if (!sorters.some((s) => s.column === column)) sorters.push({ column, direction, ...(spec.caseless?.includes(name) ? { caseless: true } : {}) });
    }
  }
  if (!sorters.some((s) => s.column === spec.tiebreak)) sorters.push({ column: spec.tiebreak, direction: 'asc' });
  return sorters;
}

/**
 * Adds ORDER BY for each sorter. NULLs sort as if larger than any value (last ascending, first
 * descending), stated explicitly because SQLite and PostgreSQL differ by default.
 */
export function applySorters<QB extends SelectQueryBuilder<any, any, any>>(qb: QB, sorters: readonly Sorter[]): QB {
  let out: SelectQueryBuilder<any, any, any> = qb;
  for (const sorter of sorters) {
    out = out.orderBy(sortKey(sorter), (ob) => (sorter.direction === 'asc' ? ob.asc().nullsLast() : ob.desc().nullsFirst()));
  }
  return out as QB;
}
