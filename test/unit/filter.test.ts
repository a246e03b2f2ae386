import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter, FILTER_LIMITS, type FilterNode } from '../../src/collections/filter.js';
import { ApiError } from '../../src/errors/api-error.js';

const cmp = (field: string, op: string, value?: unknown): FilterNode =>
  (value === undefined ? { kind: 'compare', field, op } : { kind: 'compare', field, op, value }) as FilterNode;

/** Asserts that parsing fails with a 400 ApiError whose message matches `pattern`. */
function rejects(text: string, pattern: RegExp) {
  assert.throws(
    () => parseFilter(text),
    (err: unknown) => {
      assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
      assert.equal(err.status, 400);
      assert.match(err.text, /^Invalid filter: /);
      assert.match(err.text, pattern);
      assert.deepEqual(err.causes, [{ field: 'filters', text: err.text }]);
      return true;
    },
  );
}

describe('parseFilter: comparisons', () => {
  for (const op of ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'co', 'sw']) {
    test(`binary operator ${op}`, () => {
      assert.deepEqual(parseFilter(`name ${op} "x"`), cmp('name', op, 'x'));
    });
  }

  test('pr and isnull are postfix', () => {
    assert.deepEqual(parseFilter('email pr'), cmp('email', 'pr'));
    assert.deepEqual(parseFilter('manager isnull'), cmp('manager', 'isnull'));
  });

  test('in takes a list', () => {
    assert.deepEqual(parseFilter('id in ("a","b", "c")'), {
      kind: 'compare',
      field: 'id',
      op: 'in',
      values: ['a', 'b', 'c'],
    });
    assert.deepEqual(parseFilter('n in (1)'), { kind: 'compare', field: 'n', op: 'in', values: [1] });
  });

  test('ca is recognised (and left for the compiler to reject)', () => {
    assert.deepEqual(parseFilter('tags ca ("a")'), { kind: 'compare', field: 'tags', op: 'ca', values: ['a'] });
  });

  test('numbers, booleans and null', () => {
    assert.deepEqual(parseFilter('n eq 42'), cmp('n', 'eq', 42));
    assert.deepEqual(parseFilter('n eq -1.5'), cmp('n', 'eq', -1.5));
    assert.deepEqual(parseFilter('n eq 1e3'), cmp('n', 'eq', 1000));
    assert.deepEqual(parseFilter('n eq 0'), cmp('n', 'eq', 0));
    assert.deepEqual(parseFilter('b eq true'), cmp('b', 'eq', true));
    assert.deepEqual(parseFilter('b eq false'), cmp('b', 'eq', false));
    assert.deepEqual(parseFilter('b eq null'), cmp('b', 'eq', null));
    assert.deepEqual(parseFilter('n in (1, true, null, "x")'), {
      kind: 'compare',
      field: 'n',
      op: 'in',
      values: [1, true, null, 'x'],
    });
  });

  test('quoted numbers and keywords stay strings', () => {
    assert.deepEqual(parseFilter('n eq "42"'), cmp('n', 'eq', '42'));
    assert.deepEqual(parseFilter('n eq "true"'), cmp('n', 'eq', 'true'));
    assert.deepEqual(parseFilter('n eq "and"'), cmp('n', 'eq', 'and'));
  });

  test('string escapes', () => {
    assert.deepEqual(parseFilter('a eq "say \\"hi\\""'), cmp('a', 'eq', 'say "hi"'));
    assert.deepEqual(parseFilter('a eq "back\\\\slash"'), cmp('a', 'eq', 'back\\slash'));
    assert.deepEqual(parseFilter('a eq "\\\\"'), cmp('a', 'eq', '\\'));
    assert.deepEqual(parseFilter('a eq ""'), cmp('a', 'eq', ''));
    assert.deepEqual(parseFilter('a eq "( ) , and or not"'), cmp('a', 'eq', '( ) , and or not'));
    assert.deepEqual(parseFilter('a eq "héllo ✓"'), cmp('a', 'eq', 'héllo ✓'));
  });

  test('field names with digits, underscores and dots', () => {
    assert.deepEqual(parseFilter('data.cost_center1 eq "x"'), cmp('data.cost_center1', 'eq', 'x'));
    assert.deepEqual(parseFilter('_x eq "x"'), cmp('_x', 'eq', 'x'));
  });

  test('whitespace variants', () => {
    const expected = { kind: 'and', items: [cmp('a', 'eq', 'x'), cmp('b', 'in', undefined)] };
    (expected.items[1] as { values?: unknown[] }).values = ['y', 'z'];
    for (const text of [
      'a eq "x" and b in ("y","z")',
      '  a   eq   "x"   and   b   in   (  "y"  ,  "z"  )  ',
      'a\teq\t"x"\nand\r\nb in("y","z")',
      'a eq"x"and b in ("y" ,"z")',
    ]) {
      assert.deepEqual(parseFilter(text), expected, JSON.stringify(text));
    }
  });
});

describe('parseFilter: logic', () => {
  const a = cmp('a', 'eq', '1');
  const b = cmp('b', 'eq', '2');
  const c = cmp('c', 'eq', '3');

  test('and binds tighter than or', () => {
    assert.deepEqual(parseFilter('a eq "1" or b eq "2" and c eq "3"'), {
      kind: 'or',
      items: [a, { kind: 'and', items: [b, c] }],
    });
    assert.deepEqual(parseFilter('a eq "1" and b eq "2" or c eq "3"'), {
      kind: 'or',
      items: [{ kind: 'and', items: [a, b] }, c],
    });
  });

  test('chains flatten', () => {
    assert.deepEqual(parseFilter('a eq "1" and b eq "2" and c eq "3"'), { kind: 'and', items: [a, b, c] });
    assert.deepEqual(parseFilter('a eq "1" or b eq "2" or c eq "3"'), { kind: 'or', items: [a, b, c] });
  });

  test('parentheses override precedence', () => {
    assert.deepEqual(parseFilter('(a eq "1" or b eq "2") and c eq "3"'), {
      kind: 'and',
      items: [{ kind: 'or', items: [a, b] }, c],
    });
    assert.deepEqual(parseFilter('((a eq "1"))'), a);
  });

  test('not binds tighter than and', () => {
    assert.deepEqual(parseFilter('not a eq "1" and b eq "2"'), {
      kind: 'and',
      items: [{ kind: 'not', item: a }, b],
    });
    assert.deepEqual(parseFilter('not (a eq "1" or b eq "2")'), {
      kind: 'not',
      item: { kind: 'or', items: [a, b] },
    });
    assert.deepEqual(parseFilter('not not a eq "1"'), { kind: 'not', item: { kind: 'not', item: a } });
    assert.deepEqual(parseFilter('a eq "1" or not(b eq "2")'), { kind: 'or', items: [a, { kind: 'not', item: b }] });
  });
});

describe('parseFilter: errors', () => {
  test('empty input', () => {
    rejects('', /empty expression/);
    rejects('   ', /empty expression/);
  });
  test('unterminated string', () => rejects('a eq "abc', /unterminated string starting at position 6/));
  test('string ending in a backslash', () => rejects('a eq "abc\\"', /unterminated string starting at position 6/));
  test('unknown escape', () => rejects('a eq "a\\nb"', /invalid escape '\\n' at position 8/));
  test('dangling and', () => rejects('a eq "1" and', /unexpected end of input at position 13/));
  test('dangling or', () => rejects('a eq "1" or ', /unexpected end of input at position 13/));
  test('leading and', () => rejects('and a eq "1"', /unexpected token 'and' at position 1/));
  test('missing value', () => rejects('a eq', /unexpected end of input at position 5; expected a value/));
  test('missing value before and', () => rejects('a eq and b pr', /unexpected token 'and' at position 6/));
  test('missing operator', () => rejects('a', /unexpected end of input at position 2; expected an operator/));
  test('upper-case operator', () => rejects('a EQ "1"', /unknown operator 'EQ' at position 3/));
  test('unknown operator', () => rejects('name like "x"', /unknown operator 'like' at position 6/));
  test('upper-case logical', () => rejects('a eq "1" AND b eq "2"', /unexpected token 'AND' at position 10/));
  test('bare word value', () => rejects('a eq foo', /unexpected token 'foo' at position 6/));
  test('malformed number', () => {
    rejects('a eq 12abc', /unexpected token '12abc' at position 6/);
    rejects('a eq 01', /unexpected token '01'/);
    rejects('a eq 1e999', /unexpected token '1e999'/);
    rejects('a eq +1', /unexpected token '\+1'/);
  });
  test('trailing garbage', () => {
    rejects('a eq "1" xx', /unexpected token 'xx' at position 10/);
    rejects('a eq "1")', /unexpected token '\)' at position 9/);
    rejects('a pr "x"', /unexpected token '"x"' at position 6/);
  });
  test('empty parentheses', () => rejects('()', /unexpected token '\)' at position 2/));
  test('unclosed parenthesis', () => rejects('(a eq "1"', /unexpected end of input at position 10; expected '\)'/));
  test('empty in list', () => rejects('a in ()', /unexpected token '\)' at position 7/));
  test('in without a list', () => rejects('a in "x"', /unexpected token '"x"' at position 6; expected '\('/));
  test('in list with a trailing comma', () => rejects('a in ("x",)', /unexpected token '\)' at position 11/));
  test('in list without commas', () => rejects('a in ("x" "y")', /unexpected token '"y"' at position 11/));
  test('list after a binary operator', () => rejects('a eq ("x")', /unexpected token '\(' at position 6/));
  test('not without an operand', () => rejects('a pr and not', /unexpected end of input at position 13/));
  test('reserved word as a field', () => {
    rejects('or pr', /unexpected token 'or' at position 1; expected a field name/);
    rejects('a pr or and pr', /unexpected token 'and' at position 9/);
  });
  test('invalid field characters', () => rejects('a-b eq "x"', /unexpected token 'a-b' at position 1/));
  test('comma outside a list', () => rejects('a eq "1", b eq "2"', /unexpected token ',' at position 9/));

  test('length limit', () => {
    const long = `a eq "${'x'.repeat(FILTER_LIMITS.maxLength)}"`;
    rejects(long, new RegExp(`longer than ${FILTER_LIMITS.maxLength} characters`));
  });

  test('depth limit (parentheses and not)', () => {
    const ok = `${'('.repeat(FILTER_LIMITS.maxDepth)}a pr${')'.repeat(FILTER_LIMITS.maxDepth)}`;
    assert.deepEqual(parseFilter(ok), cmp('a', 'pr'));
    const deep = `${'('.repeat(FILTER_LIMITS.maxDepth + 1)}a pr${')'.repeat(FILTER_LIMITS.maxDepth + 1)}`;
    rejects(deep, new RegExp(`nesting deeper than ${FILTER_LIMITS.maxDepth} levels at position ${FILTER_LIMITS.maxDepth + 1}`));
    rejects(`${'not '.repeat(FILTER_LIMITS.maxDepth + 1)}a pr`, /nesting deeper than/);
  });

  test('term limit', () => {
    const terms = (n: number) => Array.from({ length: n }, (_, i) => `f${i} pr`).join(' or ');
    const parsed = parseFilter(terms(FILTER_LIMITS.maxTerms));
    assert.equal(parsed.kind === 'or' && parsed.items.length, FILTER_LIMITS.maxTerms);
    rejects(terms(FILTER_LIMITS.maxTerms + 1), new RegExp(`more than ${FILTER_LIMITS.maxTerms} comparisons`));
  });

  test('in list size limit', () => {
    const list = (n: number) => `id in (${Array.from({ length: n }, (_, i) => i).join(',')})`;
    const parsed = parseFilter(list(FILTER_LIMITS.maxListSize));
    assert.equal(parsed.kind === 'compare' && parsed.values?.length, FILTER_LIMITS.maxListSize);
    rejects(list(FILTER_LIMITS.maxListSize + 1), new RegExp(`more than ${FILTER_LIMITS.maxListSize} values`));
  });
});

describe('parseFilter: round trip of quoted strings', () => {
  test('any string survives quoting with \\" and \\\\', () => {
    const samples = ['', 'plain', 'a"b', 'a\\b', '\\"', '"\\\\"', ' spaces ', '%_', 'ünï©ødé', 'x\ny'];
    for (const s of samples) {
      const quoted = `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
      assert.deepEqual(parseFilter(`f eq ${quoted}`), cmp('f', 'eq', s));
    }
  });
});
