/**
 * The PostgreSQL adapter (src/db/postgres.ts): the timestamp parser, the named-statement pool,
 * rows in SQLite's shapes, broken connections and an unreachable server (on PostgreSQL itself when
 * DATABASE_URL starts with "postgres").
 */
import { randomBytes } from 'node:crypto';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../../src/db/dialect.js';
import { openDatabase } from '../../src/db/open.js';
import { NamingPool, pgTimestampToIso } from '../../src/db/postgres.js';

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

describe('NamingPool (PostgreSQL)', { skip: !process.env.DATABASE_URL?.startsWith('postgres') && 'PostgreSQL only' }, () => {
  test('runs each text as one named statement per connection; long texts and other commands unnamed', async () => {
    const pool = new NamingPool(new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 }));
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

describe('broken connections (PostgreSQL)', { skip: !process.env.DATABASE_URL?.startsWith('postgres') && 'PostgreSQL only' }, () => {
  test('an idle pooled connection that breaks is dropped and reported to onConnectionLost, never thrown', async () => {
    const db = await openDatabase({ engine: 'postgres', databaseUrl: process.env.DATABASE_URL!, databaseSchema: undefined });
    const killer = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await killer.connect();
    try {
      const heard: Error[] = [];
      const removed: Error[] = [];
      db.onConnectionLost((error) => heard.push(error));
      // A listener removed before the break hears nothing.
      db.onConnectionLost((error) => removed.push(error))();
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
});

describe('rows in the shapes SQLite gives (PostgreSQL)', { skip: !process.env.DATABASE_URL?.startsWith('postgres') && 'PostgreSQL only' }, () => {
  test('timestamps as ISO strings, bigints as numbers, JSON as its text', async () => {
    const db = await openDatabase({ engine: 'postgres', databaseUrl: process.env.DATABASE_URL!, databaseSchema: undefined });
    try {
      const { rows } = await db.kysely.executeQuery(
        CompiledQuery.raw(`select timestamptz '2020-03-24 00:00:00-05' as at, 5::int8 as n, '{"b": "x", "a": "y"}'::jsonb as j, '[1]'::json as k`, []),
      );
      assert.deepEqual(rows, [{ at: '2020-03-24T05:00:00.000Z', n: 5, j: '{"a": "y", "b": "x"}', k: '[1]' }]);
    } finally {
      await db.close();
    }
  });
});

describe('introspection (PostgreSQL)', { skip: !process.env.DATABASE_URL?.startsWith('postgres') && 'PostgreSQL only' }, () => {
  test('sees the tables of its own schema only, so schemas dropped by others cannot fail it', async () => {
    const suffix = randomBytes(4).toString('hex');
    const [mine, other] = [`intro_mine_${suffix}`, `intro_other_${suffix}`];
    const db = await openDatabase({ engine: 'postgres', databaseUrl: process.env.DATABASE_URL!, databaseSchema: mine });
    try {
      await sql`create table ${sql.id(mine, 'kept')} (id serial primary key, name text not null, note text)`.execute(db.kysely);
      await sql`create schema ${sql.id(other)}`.execute(db.kysely);
      await sql`create table ${sql.id(other, 'elsewhere')} (id int)`.execute(db.kysely);
      const tables = await db.kysely.introspection.getTables();
      assert.deepEqual(
        tables.map((t) => [t.schema, t.name, t.columns.map((c) => [c.name, c.dataType, c.isNullable, c.isAutoIncrementing])]),
        [
          [
            mine,
            'kept',
            [
              ['id', 'int4', false, true],
              ['name', 'text', false, false],
              ['note', 'text', true, false],
            ],
          ],
        ],
      );
    } finally {
      await sql`drop schema if exists ${sql.id(mine)} cascade`.execute(db.kysely);
      await sql`drop schema if exists ${sql.id(other)} cascade`.execute(db.kysely);
      await db.close();
    }
  });
});

test('an unreachable PostgreSQL server is a connection failure that names the server, once', async () => {
  const started = Date.now();
  await assert.rejects(
    openDatabase({ engine: 'postgres', databaseUrl: 'postgres://someone:secret@127.0.0.1:1/nowhere', databaseSchema: undefined }),
    (error: Error) => {
      assert.equal(error.name, 'DatabaseUnreachableError');
      assert.match(error.message, /^Could not connect to PostgreSQL at 127\.0\.0\.1:1\/nowhere: the connection was refused \(ECONNREFUSED\)\./);
      assert.ok(!error.message.includes('secret'), 'the password is not repeated');
      assert.equal(error.message.split('ECONNREFUSED').length, 2, `said once: ${error.message}`);
      return true;
    },
  );
  assert.ok(Date.now() - started < 5000);
});
