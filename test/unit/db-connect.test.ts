/**
 * The engine adapters of src/db/connect.ts: the SQLite statement cache and the PostgreSQL
 * timestamp parser and the named-statement pool (those two on PostgreSQL itself when
 * DATABASE_URL starts with "postgres").
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { PreparingPool, StatementCache, openDatabase, pgEachRow, pgTimestampToIso, type Db } from '../../src/db/connect.js';

describe('StatementCache', () => {
  test('prepares a SQL text once and hands the same statement back', () => {
    const cache = new StatementCache(new Database(':memory:'));
    const a = cache.prepare('select 1 as one');
    assert.equal(cache.prepare('select 1 as one'), a);
    assert.notEqual(cache.prepare('select 2 as two'), a);
    assert.equal(cache.size, 2);
    cache.close();
  });

  test('drops the least recently used statement past its capacity', () => {
    const cache = new StatementCache(new Database(':memory:'), 2);
    const one = cache.prepare('select 1');
    const two = cache.prepare('select 2');
    assert.equal(cache.prepare('select 1'), one); // 1 is now the most recent
    const three = cache.prepare('select 3'); // drops 2
    assert.equal(cache.size, 2);
    assert.equal(cache.prepare('select 1'), one);
    assert.notEqual(cache.prepare('select 2'), two, '2 was dropped'); // and now drops 3
    assert.notEqual(cache.prepare('select 3'), three, '3 was dropped');
    cache.close();
  });

  test('a statement being iterated is not handed out again: a twin runs beside it', () => {
    const cache = new StatementCache(new Database(':memory:'));
    const text = 'select value from json_each(?)';
    const outer = cache.prepare(text);
    const seen: number[][] = [];
    for (const row of outer.iterate(['[1,2]']) as Iterable<{ value: number }>) {
      const inner = cache.prepare(text);
      assert.notEqual(inner, outer);
      seen.push([row.value, ...(inner.all(['[7]']) as { value: number }[]).map((r) => r.value)]);
    }
    assert.deepEqual(seen, [
      [1, 7],
      [2, 7],
    ]);
    cache.close();
  });

  test('Kysely over the cache: parameters bind per call, streams and transactions work, schema changes are seen', async () => {
    const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new SqliteDialect({ database: new StatementCache(new Database(':memory:')) }) });
    await sql`create table t (id integer primary key, name text not null)`.execute(db);
    for (const name of ['a', 'b', 'c']) await db.insertInto('t').values({ name }).execute();
    assert.deepEqual(await db.selectFrom('t').select('name').where('id', '=', 2).execute(), [{ name: 'b' }]);
    assert.deepEqual(await db.selectFrom('t').select('name').where('id', '=', 3).execute(), [{ name: 'c' }]);
    const streamed: string[] = [];
    for await (const row of db.selectFrom('t').select('name').orderBy('id').stream()) streamed.push(String(row.name));
    assert.deepEqual(streamed, ['a', 'b', 'c']);
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ name: 'd' }).execute();
        throw new Error('roll back');
      }),
    );
    assert.equal((await db.selectFrom('t').selectAll().execute()).length, 3);
    await sql`alter table t add column extra text not null default 'x'`.execute(db);
    assert.deepEqual(await db.selectFrom('t').selectAll().where('id', '=', 1).execute(), [{ id: 1, name: 'a', extra: 'x' }]);
    await db.destroy();
  });
});

describe('pgTimestampToIso', () => {
  test('writes what Date#toISOString writes, for every precision PostgreSQL prints', () => {
    const cases: [string, string][] = [
      ['2026-11-23 16:05:00+00', '2026-11-23T16:05:00.000Z'],
      ['2026-11-23 16:05:00.1+00', '2026-11-23T16:05:00.100Z'],
      ['2026-11-23 16:05:00.12+00', '2026-11-23T16:05:00.120Z'],
      ['2026-11-23 16:05:00.123+00', '2026-11-23T16:05:00.123Z'],
      ['2026-11-23 16:05:00.123999+00', '2026-11-23T16:05:00.123Z'],
      ['2026-11-23 16:05:00.5', '2026-11-23T16:05:00.500Z'],
      ['2020-03-24 00:00:00-05', '2020-03-24T05:00:00.000Z'],
      ['2020-03-24 00:00:00+05:30', '2020-03-23T18:30:00.000Z'],
      ['2020-03-24 00:00:00.25-05', '2020-03-24T05:00:00.250Z'],
    ];
    for (const [text, iso] of cases) assert.equal(pgTimestampToIso(text), iso, text);
  });

  test('agrees with Date over random instants', () => {
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor(Math.random() * 253402300799999);
      const iso = new Date(ms).toISOString();
      const micro = String(Math.floor(Math.random() * 1000)).padStart(3, '0');
      const pgText = `${`${iso.slice(0, 10)} ${iso.slice(11, 23)}${micro}`.replace(/\.?0+$/, '')}+00`;
      assert.equal(pgTimestampToIso(pgText), iso, pgText);
    }
  });

  const url = process.env.DATABASE_URL;
  test('reads PostgreSQL timestamptz values (UTC session)', { skip: !url?.startsWith('postgres') && 'PostgreSQL only' }, async () => {
    const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
    await client.connect();
    try {
      const { rows } = await client.query<{ t: string }>(
        `select t::text from unnest(array['2026-11-23T16:05:00Z', '2026-11-23T16:05:00.1Z', '2019-08-23T18:52:59.162Z', '2020-03-24T00:00:00-05:00', '2020-03-24T00:00:00.123456Z']::timestamptz[]) as t`,
      );
      assert.deepEqual(
        rows.map((r) => pgTimestampToIso(r.t)),
        ['2026-11-23T16:05:00.000Z', '2026-11-23T16:05:00.100Z', '2019-08-23T18:52:59.162Z', '2020-03-24T05:00:00.000Z', '2020-03-24T00:00:00.123Z'],
      );
    } finally {
      await client.end();
    }
  });
});

describe('PreparingPool (PostgreSQL)', { skip: !process.env.DATABASE_URL?.startsWith('postgres') && 'PostgreSQL only' }, () => {
  test('runs each text as one named statement per connection; long texts and other commands unnamed', async () => {
    const pool = new PreparingPool(new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 }));
    const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new PostgresDialect({ pool }) });
    try {
      for (const n of [1, 2, 3]) assert.deepEqual((await sql<{ x: number }>`select ${n}::int * 2 as x`.execute(db)).rows, [{ x: n * 2 }]);
      // A statement that fails when it runs fails alone: the next call of the same text works.
      await assert.rejects(sql`select 1 / ${0}::int as x`.execute(db), /division by zero/);
      assert.deepEqual((await sql<{ x: number }>`select 1 / ${1}::int as x`.execute(db)).rows, [{ x: 1 }]);
      const long = `select 1 as x where ${Array.from({ length: 800 }, (_, i) => `${i} = ${i}`).join(' and ')}`;
      await sql.raw(long).execute(db);
      await db.transaction().execute(async (trx) => {
        await sql`select ${5}::int as x`.execute(trx);
      });
      const { rows } = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements order by name`.execute(db);
      const texts = rows.map((r) => r.statement);
      assert.ok(
        rows.every((r) => /^nelm_\d+$/.test(r.name)),
        JSON.stringify(rows.map((r) => r.name)),
      );
      assert.ok(texts.includes('select $1::int * 2 as x'), 'the repeated text is prepared once');
      assert.equal(texts.filter((t) => t === 'select $1::int * 2 as x').length, 1);
      assert.ok(!texts.includes(long), 'a long text runs unnamed');
      assert.equal(pool.nameOf('begin'), undefined);
      assert.equal(pool.nameOf('select $1::int * 2 as x'), pool.nameOf('select $1::int * 2 as x'));
    } finally {
      await db.destroy();
    }
  });

  test('openDatabase: named statements unless pgPreparedStatements is false', async () => {
    const prepared = async (pgPreparedStatements: boolean) => {
      const db = await openDatabase({ engine: 'postgres', databaseUrl: process.env.DATABASE_URL!, databaseSchema: undefined, pgPreparedStatements });
      try {
        // The pool has up to 10 connections: ask on one (in a transaction) after using it.
        return await db.kysely.transaction().execute(async (trx) => {
          await sql`select ${1}::int as x`.execute(trx);
          await sql`select ${2}::int as x`.execute(trx);
          return (await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements where name like 'nelm_%'`.execute(trx)).rows[0]!.n;
        });
      } finally {
        await db.close();
      }
    };
    assert.ok((await prepared(true)) >= 1);
    assert.equal(await prepared(false), 0);
  });
});

/** Ends, as an administrator would, the backend running the query whose text holds `marker` (waiting for it to start). */
async function terminateRunning(db: Db, marker: string): Promise<void> {
  const activity = sql<{ pid: number }>`select pid from pg_stat_activity where query like ${`%${marker}%`} and pid <> pg_backend_pid()`;
  let pid: number | undefined;
  for (let i = 0; i < 100 && pid === undefined; i++) {
    pid = (await activity.execute(db.kysely)).rows[0]?.pid;
    if (pid === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(pid !== undefined, `a query holding ${marker} runs`);
  await sql`select pg_terminate_backend(${pid})`.execute(db.kysely);
}

describe('pgEachRow (PostgreSQL)', { skip: !process.env.DATABASE_URL?.startsWith('postgres') && 'PostgreSQL only' }, () => {
  test('hands over rows as arrays of text in select order, named when asked; failures reject and free the connection', async () => {
    const db = await openDatabase({ engine: 'postgres', databaseUrl: process.env.DATABASE_URL!, databaseSchema: undefined });
    try {
      const rows: unknown[][] = [];
      const text = `select n, 'r' || n as label, timestamptz '2026-11-23 16:05:00.5+00' as at, null::text as nothing from generate_series(1, $1::int) n`;
      await db.eachRow!(CompiledQuery.raw(text, [3]), (v) => rows.push(v));
      // Each column as PostgreSQL writes it (the session runs in UTC, ISO style): no type parser.
      assert.deepEqual(rows, [
        ['1', 'r1', '2026-11-23 16:05:00.5+00', null],
        ['2', 'r2', '2026-11-23 16:05:00.5+00', null],
        ['3', 'r3', '2026-11-23 16:05:00.5+00', null],
      ]);
      // Array parameters are written as pg writes them (array literals, quoting included).
      const ids: unknown[][] = [];
      await db.eachRow!(CompiledQuery.raw('select x from unnest($1::text[]) x order by x', [['a"b', 'c,d', 'e\\f', '']]), (v) => ids.push(v));
      assert.deepEqual(ids, [[''], ['a"b'], ['c,d'], ['e\\f']]);
      // A parameter pg cannot write rejects, and the connection serves the next query.
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await assert.rejects(
        db.eachRow!(CompiledQuery.raw('select $1::jsonb', [circular]), () => {}),
        /circular/i,
      );
      await assert.rejects(
        db.eachRow!(CompiledQuery.raw('select $1::int', ['not a number']), () => {}),
        /invalid input syntax/,
      );
      await assert.rejects(
        db.eachRow!(CompiledQuery.raw('selec 1', []), () => {}),
        /syntax error/,
      );
      await db.eachRow!(CompiledQuery.raw('select 1 as x where false', []), () => assert.fail('no row'));
      // A database error rejects; so does a throwing callback (after the rows are read); the pool's
      // 10 connections still serve 30 queries afterwards.
      await assert.rejects(
        db.eachRow!(CompiledQuery.raw('select 1 / $1::int', [0]), () => {}),
        /division by zero/,
      );
      await assert.rejects(
        db.eachRow!(CompiledQuery.raw(text, [5]), () => {
          throw new Error('callback failed');
        }),
        /callback failed/,
      );
      const counts = await Promise.all(
        Array.from({ length: 30 }, async () => {
          let n = 0;
          await db.eachRow!(CompiledQuery.raw(text, [2]), () => n++);
          return n;
        }),
      );
      assert.deepEqual(new Set(counts), new Set([2]));
      // The pool's Kysely queries still run on those connections, typed as before.
      assert.deepEqual((await db.kysely.executeQuery(CompiledQuery.raw('select 1::int8 as n', []))).rows, [{ n: 1 }]);
    } finally {
      await db.close();
    }
  });

  test('a connection that breaks during a read rejects the read; the pool replaces it', async () => {
    const db = await openDatabase({ engine: 'postgres', databaseUrl: process.env.DATABASE_URL!, databaseSchema: undefined });
    try {
      const marker = `each_row_break_${process.pid}_${Date.now()}`;
      const rows: unknown[][] = [];
      // Its rejection may come before the terminating query's answer: expected from the start.
      const reading = assert.rejects(
        db.eachRow!(CompiledQuery.raw(`select '${marker}' as m, pg_sleep(30)::text`, []), (v) => rows.push(v)),
        /terminat/i,
      );
      await terminateRunning(db, marker);
      await reading;
      assert.deepEqual(rows, []);
      // Ten reads at once (the pool's size): every connection serves, none is the broken one.
      const counts = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const seen: unknown[][] = [];
          await db.eachRow!(CompiledQuery.raw('select n::text from generate_series(1, 2) n', []), (v) => seen.push(v));
          return seen;
        }),
      );
      for (const seen of counts) assert.deepEqual(seen, [['1'], ['2']]);
    } finally {
      await db.close();
    }
  });

  test('an idle pooled connection that breaks is dropped and reported to onConnectionLost, never thrown', async () => {
    const db = await openDatabase({ engine: 'postgres', databaseUrl: process.env.DATABASE_URL!, databaseSchema: undefined });
    const killer = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await killer.connect();
    try {
      const heard: Error[] = [];
      const removed: Error[] = [];
      db.onConnectionLost!((error) => heard.push(error));
      // A listener removed before the break hears nothing.
      db.onConnectionLost!((error) => removed.push(error))();
      const pidOf = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db.kysely)).rows[0]!.pid;
      const pid = await pidOf();
      // Idle in the pool now; PostgreSQL ends it (as a restart or an administrator would).
      await killer.query('select pg_terminate_backend($1)', [pid]);
      for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(heard.length, 1);
      assert.match(heard[0]!.message, /terminat/i);
      assert.deepEqual(removed, []);
      const next = await pidOf();
      assert.notEqual(next, pid, 'a new connection serves the next query');
    } finally {
      await killer.end();
      await db.close();
    }
  });

  test('a Kysely query whose backend is terminated fails alone: its connection is not handed out again', async () => {
    for (const pgPreparedStatements of [true, false]) {
      const db = await openDatabase({ engine: 'postgres', databaseUrl: process.env.DATABASE_URL!, databaseSchema: undefined, pgPreparedStatements });
      try {
        const marker = `kysely_break_${process.pid}_${Date.now()}`;
        // Its rejection may come before the terminating query's answer: expected from the start.
        const sleeping = assert.rejects(sql.raw(`select pg_sleep(30) as ${marker}`).execute(db.kysely), /terminat/i);
        await terminateRunning(db, marker);
        await sleeping;
        // The pool's most recently given back connection goes out first: it must not be the dead one.
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => sql<{ x: number }>`select ${i}::int as x`.execute(db.kysely)));
        assert.deepEqual(
          results.map((r) => r.rows[0]!.x),
          Array.from({ length: 10 }, (_, i) => i),
          `pgPreparedStatements ${pgPreparedStatements}`,
        );
      } finally {
        await db.close();
      }
    }
  });

  test('a text is prepared under the name nameOf gives it, once per connection; without a name it runs unnamed', async () => {
    const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
    try {
      const text = 'select $1::text as a, 2 as b';
      const seen: unknown[][] = [];
      await pgEachRow(pool)(CompiledQuery.raw(text, ['x']), (v) => seen.push(v));
      const statements = async () => (await pool.query('select name, statement from pg_prepared_statements')).rows as { name: string; statement: string }[];
      assert.deepEqual(await statements(), []);
      const named = pgEachRow(pool, (t) => (t === text ? 'each_row_test' : undefined));
      for (const value of ['y', 'z']) await named(CompiledQuery.raw(text, [value]), (v) => seen.push(v));
      assert.deepEqual(seen, [
        ['x', '2'],
        ['y', '2'],
        ['z', '2'],
      ]);
      assert.deepEqual(await statements(), [{ name: 'each_row_test', statement: text }]);
    } finally {
      await pool.end();
    }
  });
});
