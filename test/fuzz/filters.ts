/**
 * Generated `filters` texts: SailPoint's V3 grammar with real and made-up fields, every operator
 * and some that are not, values of every type (injection strings included), nesting past the depth
 * limit, lists past the size limit, and texts broken at random places.
 */
import fc from 'fast-check';
import { FILTER_LIMITS } from '../../src/collections/filter.js';
import { nastyString, type World } from './support.js';

/** The fields some list endpoint filters on, and names that must never reach SQL. */
export const FILTERS = [
  'sourceId',
  'accountName',
  'email',
  'manager',
  'firstName',
  'lastName',
  'startDate',
  'endDate',
  'created',
  'modified',
  'approvalStatus',
  'id',
  'name',
  '__proto__',
  'constructor',
  'toString',
  'r.account_name',
  'data.dept',
  '1',
];

const OPS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'co', 'sw', 'ca', 'in', 'pr', 'isnull', 'EQ', 'like', '=', 'and'];

/** A filter value literal as text: quoted strings (escaped), numbers, booleans, null, junk. */
function literal(w: World): fc.Arbitrary<string> {
  const quoted = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  return fc.oneof(
    {
      arbitrary: fc
        .constantFrom(w.sourceId, 'seed.one', 'PENDING', 'pending', 'admin', '2024-01-01', '2024-01-01T00:00:00Z', '9999-12-31', 'not a date')
        .map(quoted),
      weight: 4,
    },
    { arbitrary: nastyString.filter((s) => s.length < 300).map(quoted), weight: 3 },
    { arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })).map(String), weight: 1 },
    { arbitrary: fc.constantFrom('true', 'false', 'null', '"unterminated', '"bad \\x escape"', '1e400', '0x1F', '-', "'single'"), weight: 1 },
  );
}

/** A filter expression `depth` levels of grouping deep at most. */
export function filterExpr(w: World, maxDepth: number): fc.Arbitrary<string> {
  const field = fc.constantFrom(...FILTERS);
  const comparison = fc.oneof(
    fc.tuple(field, fc.constantFrom(...OPS), literal(w)).map(([f, op, v]) => `${f} ${op} ${v}`),
    fc.tuple(field, fc.constantFrom('in', 'ca'), fc.array(literal(w), { minLength: 1, maxLength: 8 })).map(([f, op, vs]) => `${f} ${op} (${vs.join(', ')})`),
    fc.tuple(field, fc.constantFrom('pr', 'isnull')).map(([f, op]) => `${f} ${op}`),
  );
  const { expr } = fc.letrec<{ expr: string }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', maxDepth, withCrossShrink: true },
      comparison,
      fc.tuple(tie('expr'), fc.constantFrom('and', 'or', 'AND', '&&'), tie('expr')).map(([a, op, b]) => `${a} ${op} ${b}`),
      tie('expr').map((e) => `not ${e}`),
      tie('expr').map((e) => `(${e})`),
    ),
  }));
  return expr;
}

/** Any filter text: grammatical, at and past every limit, or broken. */
export function filterText(w: World): fc.Arbitrary<string> {
  const { maxDepth, maxTerms, maxListSize, maxLength } = FILTER_LIMITS;
  const atLimits = fc.oneof(
    fc.integer({ min: maxDepth - 1, max: maxDepth + 2 }).map((d) => `${'('.repeat(d)}accountName eq "x"${')'.repeat(d)}`),
    fc.integer({ min: maxDepth - 1, max: maxDepth + 2 }).map((d) => `${'not '.repeat(d)}accountName eq "x"`),
    fc.integer({ min: maxTerms - 1, max: maxTerms + 2 }).map((n) => Array.from({ length: n }, (_, i) => `accountName eq "a${i}"`).join(' or ')),
    fc.integer({ min: maxListSize - 1, max: maxListSize + 2 }).map((n) => `accountName in (${Array.from({ length: n }, (_, i) => `"a${i}"`).join(',')})`),
    fc.integer({ min: maxLength - 2, max: maxLength + 2 }).map((n) => `accountName eq "${'x'.repeat(Math.max(0, n - 17))}"`),
    fc.constantFrom('('.repeat(10_000), ')'.repeat(100), `${'not '.repeat(5000)}id pr`, '"'.repeat(999)),
  );
  const broken = fc.tuple(filterExpr(w, 3), fc.nat(), fc.constantFrom('', '(', ')', '"', '\\', ',', ' and ', '\u0000', '%')).map(([e, at, insert]) => {
    const cut = at % (e.length + 1);
    return e.slice(0, cut) + insert + e.slice(cut + (at % 3 === 0 ? 1 : 0));
  });
  return fc.oneof({ arbitrary: filterExpr(w, 4), weight: 5 }, { arbitrary: atLimits, weight: 2 }, { arbitrary: broken, weight: 2 });
}
