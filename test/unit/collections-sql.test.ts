/**
 * Runs compiled filters and sorters for real: always on in-memory SQLite, and on PostgreSQL too
 * when DATABASE_URL starts with "postgres" (a uniquely named temp table, dropped afterwards).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { parseFilter } from '../../src/collections/filter.js';
import { applySorters, filterExpression, integerValue, parseSorters, type FilterSpec, type SortSpec } from '../../src/collections/query.js';
import { ApiError, fail } from '../../src/errors/api-error.js';

const isoDate = (v: unknown) => {
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime())) throw fail.illegalValue('filters', `Invalid date: ${String(v)}`);
  return d.toISOString();
};

const FILTERS: FilterSpec = {
  id: { column: 'p.id', type: 'string', ops: ['eq', 'in'] },
  firstName: { column: 'p.first_name', type: 'string', ops: ['eq', 'ne', 'in', 'co', 'sw', 'pr', 'isnull', 'ca'] },
  lastName: { column: 'last_name', type: 'string', ops: ['eq', 'co', 'sw'] },
  email: { column: 'p.email', type: 'string', ops: ['eq', 'ne', 'in', 'co', 'pr', 'isnull'] },
  status: { column: 'p.status', type: 'enum', ops: ['eq', 'ne', 'in'], normalize: (v) => String(v).toUpperCase() },
  startDate: { column: 'p.start_date', type: 'date', ops: ['eq', 'gt', 'ge', 'lt', 'le', 'isnull', 'pr'], normalize: isoDate },
  age: { column: 'p.age', type: 'number', ops: ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'in', 'isnull'], normalize: integerValue },
  active: { column: 'p.active', type: 'boolean', ops: ['eq', 'ne'] },
};

const SORTS: SortSpec = {
  fields: { id: 'p.id', age: 'p.age', startDate: 'p.start_date', status: 'p.status', firstName: 'p.first_name' },
  tiebreak: 'p.id',
  default: '-startDate',
};

type Row = [id: string, first: string, last: string, email: string | null, status: string, start: string | null, age: number | null, active: boolean | null];
const PEOPLE: Row[] = [
  ['p01', 'Alice', 'Smith', 'alice@example.com', 'ACTIVE', '2024-01-15T00:00:00.000Z', 30, true],
  ['p02', 'Bob', 'Jones', 'bob@example.com', 'PENDING', '2024-03-01T00:00:00.000Z', 45, false],
  ['p03', 'carol', 'smith', null, 'ACTIVE', null, null, true],
  ['p04', 'Dave', '100%_Real', 'dave%@example.com', 'REJECTED', '2023-12-31T23:59:59.000Z', 22, false],
  ['p05', 'Eve', 'O_Neil', '', 'PENDING', '2024-06-30T12:00:00.000Z', 45, true],
  ['p06', 'Frank', 'Back\\slash', 'frank_b@example.com', 'ACTIVE', '2024-01-15T00:00:00.000Z', null, null],
];
const ALL = PEOPLE.map((r) => r[0]);
const except = (...ids: string[]) => ALL.filter((id) => !ids.includes(id));

/** [filter text, expected ids]; every engine must return exactly these. */
const CASES: [string, string[]][] = [
  ['firstName eq "Alice"', ['p01']],
  ['firstName eq "alice"', []],
  ['firstName ne "Alice"', except('p01')],
  ['email ne "bob@example.com"', except('p02')],
  ['firstName in ("Alice", "Bob", "Zed")', ['p01', 'p02']],
  ['id in ("p03")', ['p03']],
  ['lastName eq "Back\\\\slash"', ['p06']],
  // co / sw: case-insensitive, with %, _ and \ taken literally
  ['lastName co "SMITH"', ['p01', 'p03']],
  ['lastName co "mit"', ['p01', 'p03']],
  ['lastName sw "s"', ['p01', 'p03']],
  ['firstName sw "CAR"', ['p03']],
  ['lastName co "%"', ['p04']],
  ['lastName co "_"', ['p04', 'p05']],
  ['lastName co "0%_r"', ['p04']],
  ['lastName sw "_"', []],
  ['lastName sw "%"', []],
  ['lastName co "\\\\"', ['p06']],
  ['email co "%@"', ['p04']],
  ['email co "_b"', ['p06']],
  ['email co "@EXAMPLE.COM"', ['p01', 'p02', 'p04', 'p06']],
  // pr / isnull
  ['email pr', ['p01', 'p02', 'p04', 'p06']],
  ['not email pr', ['p03', 'p05']],
  ['email isnull', ['p03']],
  ['not email isnull', except('p03')],
  ['startDate pr', except('p03')],
  ['not startDate pr', ['p03']],
  // dates (normalised to ISO timestamps by the spec)
  ['startDate eq "2024-01-15"', ['p01', 'p06']],
  ['startDate gt "2024-01-15"', ['p02', 'p05']],
  ['startDate ge "2024-01-15T00:00:00Z"', ['p01', 'p02', 'p05', 'p06']],
  ['startDate lt "2024-01-15"', ['p04']],
  ['startDate le "2024-01-15"', ['p01', 'p04', 'p06']],
  ['not startDate gt "2024-01-15"', ['p01', 'p03', 'p04', 'p06']],
  ['startDate isnull', ['p03']],
  // numbers
  ['age eq 45', ['p02', 'p05']],
  ['age ne 45', ['p01', 'p03', 'p04', 'p06']],
  ['age gt 30', ['p02', 'p05']],
  ['age ge 30', ['p01', 'p02', 'p05']],
  ['age lt 30', ['p04']],
  ['age le 22', ['p04']],
  ['age gt -1', except('p03', 'p06')],
  ['age in (22, 30)', ['p01', 'p04']],
  ['not age in (22, 30)', ['p02', 'p03', 'p05', 'p06']],
  ['not age lt 30', ['p01', 'p02', 'p03', 'p05', 'p06']],
  ['not age ge 30', ['p03', 'p04', 'p06']],
  // enums and booleans
  ['status eq "active"', ['p01', 'p03', 'p06']],
  ['status ne "Active"', ['p02', 'p04', 'p05']],
  ['status in ("pending", "REJECTED")', ['p02', 'p04', 'p05']],
  ['active eq true', ['p01', 'p03', 'p05']],
  ['active eq false', ['p02', 'p04']],
  ['active ne true', ['p02', 'p04', 'p06']],
  // and / or / not
  ['firstName eq "Alice" or firstName eq "Bob" and age eq 30', ['p01']],
  ['(firstName eq "Alice" or firstName eq "Bob") and age eq 45', ['p02']],
  ['status eq "ACTIVE" and email pr and age isnull', ['p06']],
  ['not (lastName co "smith" or age gt 40)', ['p04', 'p06']],
  ['not lastName co "smith" and not age isnull', ['p02', 'p04', 'p05']],
  ['not not firstName eq "Alice"', ['p01']],
  ['not (firstName eq "Alice" and age eq 30)', except('p01')],
  ['not (firstName ne "Alice")', ['p01']],
  ['not (lastName sw "s")', ['p02', 'p04', 'p05', 'p06']],
  ['not (not (email co "example") or status eq "PENDING")', ['p01', 'p04', 'p06']],
  ['firstName isnull or not firstName pr', []],
];

/** [filter text, pattern the 400 message must match] */
const FILTER_ERRORS: [string, RegExp][] = [
  ['foo eq "x"', /^Invalid filter: field 'foo' is not filterable; filterable fields: id, firstName, lastName, email, status, startDate, age, active$/],
  ['constructor eq "x"', /field 'constructor' is not filterable/],
  ['__proto__ eq "x"', /field '__proto__' is not filterable/],
  ['status co "x"', /^Invalid filter: operator 'co' is not supported for field 'status'; supported operators: eq, ne, in$/],
  ['lastName pr', /operator 'pr' is not supported for field 'lastName'/],
  ['firstName ca ("x")', /operator 'ca' is not supported for field 'firstName'; supported operators: eq, ne, in, co, sw, pr, isnull$/],
  ['age eq "30"', /field 'age' expects a number value, got "30"/],
  ['firstName eq 3', /field 'firstName' expects a string value, got 3/],
  ['active eq "true"', /field 'active' expects a boolean value/],
  ['age in (1, "2")', /field 'age' expects a number value, got "2"/],
  ['firstName eq null', /null is not a value for field 'firstName'; use 'isnull' or 'pr'/],
  ['firstName in ("a", null)', /null is not a value for field 'firstName'/],
  ['age gt 22.5', /^Invalid filter: 22.5 is not an integer$/],
  ['startDate gt "not a date"', /Invalid date: not a date/],
  ['age gt 1 or nope pr', /field 'nope' is not filterable/],
];

function assertBadRequest(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.match(err.text, pattern);
    return true;
  });
}

interface Engine {
  name: string;
  open(): Promise<{ db: Kysely<any>; table: string; bool: (b: boolean | null) => unknown }>;
}

const engines: Engine[] = [
  {
    name: 'sqlite',
    open: async () => ({
      db: new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) }),
      table: 'people',
      bool: (b) => (b === null ? null : b ? 1 : 0),
    }),
  },
];
const url = process.env.DATABASE_URL;
if (url?.startsWith('postgres')) {
  engines.push({
    name: 'postgres',
    // max: 1 so that every query sees the session's temp table
    open: async () => ({
      db: new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) }),
      table: `people_${process.pid}_${Date.now().toString(36)}`,
      bool: (b) => b,
    }),
  });
}

for (const engine of engines) {
  describe(`collections on ${engine.name}`, () => {
    let db: Kysely<any>;
    let table: string;

    before(async () => {
      const opened = await engine.open();
      ({ db, table } = opened);
      const pgsql = engine.name === 'postgres';
      let create = pgsql ? db.schema.createTable(table).temporary() : db.schema.createTable(table);
      create = create
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('first_name', 'text', (c) => c.notNull())
        .addColumn('last_name', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('start_date', 'text')
        .addColumn('age', 'integer')
        .addColumn('active', pgsql ? 'boolean' : 'integer');
      await create.execute();
      await db
        .insertInto(table)
        .values(
          PEOPLE.map(([id, first, last, email, status, start, age, active]) => ({
            id,
            first_name: first,
            last_name: last,
            email,
            status,
            start_date: start,
            age,
            active: opened.bool(active),
          })),
        )
        .execute();
    });

    after(async () => {
      await db.schema.dropTable(table).ifExists().execute();
      await db.destroy();
    });

    const people = () => db.selectFrom(`${table} as p`).select('p.id');
    const ids = async (filter: string) =>
      (
        await people()
          .where((eb) => filterExpression(eb, parseFilter(filter), FILTERS))
          .orderBy('p.id')
          .execute()
      ).map((r) => r.id);
    const sorted = async (sorters: string | undefined, filter?: string) => {
      let qb = people();
      if (filter) qb = qb.where((eb) => filterExpression(eb, parseFilter(filter), FILTERS));
      return (await applySorters(qb, parseSorters(sorters, SORTS)).execute()).map((r) => r.id);
    };

    describe('filters', () => {
      for (const [filter, expected] of CASES) {
        test(filter, async () => assert.deepEqual(await ids(filter), expected));
      }
    });

    describe('filter errors are 400s', () => {
      for (const [filter, pattern] of FILTER_ERRORS) {
        test(filter, () =>
          assertBadRequest(
            () =>
              people()
                .where((eb) => filterExpression(eb, parseFilter(filter), FILTERS))
                .compile(),
            pattern,
          ),
        );
      }
    });

    test('values are bound as parameters, never interpolated', async () => {
      const evil = `x'); drop table ${table}; --`;
      const filter = `firstName eq "${evil}" or lastName co "${evil}"`;
      const compiled = people()
        .where((eb) => filterExpression(eb, parseFilter(filter), FILTERS))
        .compile();
      assert.ok(!compiled.sql.includes('drop'), compiled.sql);
      assert.ok(compiled.parameters.includes(evil));
      assert.deepEqual(await ids(filter), []);
      assert.equal((await ids('firstName pr')).length, ALL.length, 'table still there');
    });

    describe('sorters', () => {
      test('ascending with NULLs last and the tiebreak', async () => {
        assert.deepEqual(await sorted('age'), ['p04', 'p01', 'p02', 'p05', 'p03', 'p06']);
      });
      test('descending with NULLs first and the tiebreak ascending', async () => {
        assert.deepEqual(await sorted('-age'), ['p03', 'p06', 'p02', 'p05', 'p01', 'p04']);
      });
      test('several fields, spaces tolerated', async () => {
        assert.deepEqual(await sorted(' status , -startDate '), ['p03', 'p01', 'p06', 'p05', 'p02', 'p04']);
      });
      test('a descending tiebreak is kept as given', async () => {
        assert.deepEqual(await sorted('-id'), [...ALL].reverse());
        assert.deepEqual(await sorted('age,-id'), ['p04', 'p01', 'p05', 'p02', 'p06', 'p03']);
      });
      test('the default applies when no sorters are sent', async () => {
        const expected = ['p03', 'p05', 'p02', 'p01', 'p06', 'p04'];
        assert.deepEqual(await sorted(undefined), expected);
        assert.deepEqual(await sorted('  '), expected);
      });
      test('combined with a filter and paging', async () => {
        const qb = applySorters(
          people().where((eb) => filterExpression(eb, parseFilter('status ne "rejected"'), FILTERS)),
          parseSorters('-age', SORTS),
        );
        const page = await qb.limit(2).offset(2).execute();
        assert.deepEqual(
          page.map((r) => r.id),
          ['p02', 'p05'],
        );
      });
    });
  });
}

describe('parseSorters', () => {
  test('shapes', () => {
    assert.deepEqual(parseSorters('age,-startDate', SORTS), [
      { column: 'p.age', direction: 'asc' },
      { column: 'p.start_date', direction: 'desc' },
      { column: 'p.id', direction: 'asc' },
    ]);
    assert.deepEqual(parseSorters(undefined, { fields: { a: 'a' }, tiebreak: 't' }), [{ column: 't', direction: 'asc' }]);
    assert.deepEqual(parseSorters(' -id ', SORTS), [{ column: 'p.id', direction: 'desc' }]);
  });
  const errors: [string, RegExp][] = [
    ['foo', /^Invalid sorters: 'foo' is not sortable; sortable fields: id, age, startDate, status, firstName$/],
    ['Age', /'Age' is not sortable/],
    ['-', /'' is not sortable/],
    ['+age', /'\+age' is not sortable/],
    ['- age', /' age' is not sortable/],
    ['constructor', /'constructor' is not sortable/],
    ['age,,id', /^Invalid sorters: empty sort field in 'age,,id'$/],
    ['age,', /empty sort field/],
    [',age', /empty sort field/],
    ['age,-age', /^Invalid sorters: 'age' appears more than once$/],
  ];
  for (const [text, pattern] of errors) {
    test(`rejects ${JSON.stringify(text)}`, () => assertBadRequest(() => parseSorters(text, SORTS), pattern));
  }
});
