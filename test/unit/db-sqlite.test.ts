/**
 * The SQLite adapter (src/db/sqlite.ts): the statement cache, the write and read connections
 * (reads never wait for a transaction and see only what is committed; writes outside a
 * transaction wait for it), the server's lock on its file, the temporary `:memory:` file, and
 * commands that must not create a database. Always on SQLite, whatever DATABASE_URL says.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import { type Generated, Kysely, SqliteDialect, sql } from 'kysely';
import { DatabaseLockedError, DatabaseMissingError, openSqlite, StatementCache } from '../../src/db/sqlite.js';
import type { Db } from '../../src/db/dialect.js';
import { WriterThread } from '../../src/db/sqlite-writes.js';
import { threadNices } from '../helpers/threads.js';

setFlagsFromString('--expose-gc');
const dir = mkdtempSync(path.join(tmpdir(), 'nelm-sqlite-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => path.join(dir, `db-${++files}.sqlite`);

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

type T = { t: { id: Generated<number>; name: string } };
const kysely = (db: Db) => db.kysely as unknown as Kysely<T>;

async function withTable(work: (db: Kysely<T>, raw: Db) => Promise<void>, location = newFile()): Promise<void> {
  const raw = openSqlite(location);
  try {
    const db = kysely(raw);
    await sql`create table t (id integer primary key, name text not null)`.execute(db);
    await db.insertInto('t').values({ id: 1, name: 'committed' }).execute();
    await work(db, raw);
  } finally {
    await raw.close();
  }
}

/** A promise's state after the event loop has run what is due: settled or not. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('the write and read connections', () => {
  test('a read outside a transaction is answered while one is open, from the committed state', async () => {
    await withTable(async (db) => {
      let release!: () => void;
      const hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      const transaction = db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ id: 2, name: 'uncommitted' }).execute();
        assert.equal((await trx.selectFrom('t').selectAll().execute()).length, 2, 'the transaction sees its own write');
        await hold;
      });
      await new Promise((resolve) => setImmediate(resolve));
      const read = db.selectFrom('t').select('name').orderBy('id').execute();
      assert.ok(await settled(read), 'the read did not wait for the transaction');
      assert.deepEqual(await read, [{ name: 'committed' }]);
      release();
      await transaction;
      assert.deepEqual(await db.selectFrom('t').select('name').orderBy('id').execute(), [{ name: 'committed' }, { name: 'uncommitted' }]);
    });
  });

  test('a write outside a transaction waits for it, and is not part of it', async () => {
    await withTable(async (db) => {
      let release!: () => void;
      const hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      const transaction = db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ id: 2, name: 'rolled back' }).execute();
        await hold;
        throw new Error('roll back');
      });
      await new Promise((resolve) => setImmediate(resolve));
      const write = db.insertInto('t').values({ id: 3, name: 'outside' }).execute();
      assert.equal(await settled(write), false, 'the write waits for the transaction');
      release();
      await assert.rejects(transaction, /roll back/);
      await write;
      assert.deepEqual(await db.selectFrom('t').select('name').orderBy('id').execute(), [{ name: 'committed' }, { name: 'outside' }]);
    });
  });

  test('writes run on the writer thread: the event loop turns while a long statement and its commit run', async () => {
    await withTable(async (db) => {
      let longest = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
      }, 1);
      const start = performance.now();
      try {
        await db.transaction().execute(async (trx) => {
          await sql`with recursive n(x) as (select 2 union all select x + 1 from n where x < 1000000)
                    insert into t (id, name) select x, printf('row %d', x) from n`.execute(trx);
        });
      } finally {
        clearInterval(timer);
      }
      const took = performance.now() - start;
      assert.equal((await db.selectFrom('t').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n, 1_000_000);
      assert.ok(took > 200, `the write took ${took.toFixed(0)} ms: too short to tell`);
      assert.ok(longest < took / 4, `the event loop stopped ${longest.toFixed(0)} ms of the write's ${took.toFixed(0)} ms`);
    });
  });

  test('values cross the writer thread as they are: a BLOB read in a transaction is a Buffer, as outside one', async () => {
    await withTable(async (db) => {
      await sql`create table blobs (id integer primary key, body blob not null)`.execute(db);
      const body = Buffer.from([0, 1, 2, 255]);
      const inside = await db.transaction().execute(async (trx) => {
        await sql`insert into blobs (id, body) values (1, ${body})`.execute(trx);
        return (await sql<{ body: Buffer; id: number }>`select id, body from blobs`.execute(trx)).rows[0]!;
      });
      const outside = (await sql<{ body: Buffer }>`select body from blobs`.execute(db)).rows[0]!;
      for (const read of [inside.body, outside.body]) assert.ok(Buffer.isBuffer(read) && read.equals(body), String(read));
      assert.equal(inside.id, 1);
    });
  });

  test('a statement on a column added since the read connection last read the schema is run, not refused', async () => {
    await withTable(async (db) => {
      // The read connection loads the schema, then the writer changes it.
      assert.equal((await db.selectFrom('t').select('name').execute()).length, 1);
      await sql`alter table t add column extra integer`.execute(db);
      await sql`update t set extra = 7`.execute(db);
      assert.deepEqual((await sql<{ extra: number }>`select extra from t`.execute(db)).rows, [{ extra: 7 }]);
    });
  });

  test('a stream inside a transaction reads from the writer, its own writes included', async () => {
    await withTable(async (db) => {
      const streamed = await db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ id: 2, name: 'uncommitted' }).execute();
        const names: string[] = [];
        for await (const row of trx.selectFrom('t').select('name').orderBy('id').stream()) names.push(row.name);
        return names;
      });
      assert.deepEqual(streamed, ['committed', 'uncommitted']);
    });
  });

  test("SQLite's errors reach the caller with their codes; a transaction SQLite ended is not continued", async () => {
    await withTable(async (db) => {
      await assert.rejects(db.insertInto('t').values({ id: 1, name: 'again' }).execute(), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('t').values({ id: 2, name: 'in it' }).execute();
          // SQLite rolls the transaction back itself (as it does on SQLITE_FULL): what follows must not commit alone.
          await sql`rollback`.execute(trx);
          await trx.insertInto('t').values({ id: 3, name: 'after it' }).execute();
        }),
        { name: 'TransactionLostError', code: 'SQLITE_ABORT' },
      );
      assert.deepEqual(await db.selectFrom('t').select('name').orderBy('id').execute(), [{ name: 'committed' }]);
      await db.insertInto('t').values({ id: 4, name: 'later' }).execute();
      assert.deepEqual(await db.selectFrom('t').select('id').orderBy('id').execute(), [{ id: 1 }, { id: 4 }]);
    });
  });

  test('transactions run one after another; streams read from the read connection', async () => {
    await withTable(async (db) => {
      const order: string[] = [];
      const step = (name: string) =>
        db.transaction().execute(async (trx) => {
          order.push(`${name} begins`);
          await new Promise((resolve) => setTimeout(resolve, 5));
          await trx.insertInto('t').values({ name }).execute();
          order.push(`${name} ends`);
        });
      await Promise.all([step('a'), step('b'), step('c')]);
      assert.deepEqual(order, ['a begins', 'a ends', 'b begins', 'b ends', 'c begins', 'c ends']);
      const streamed: string[] = [];
      for await (const row of db.selectFrom('t').select('name').orderBy('id').stream()) streamed.push(row.name);
      assert.deepEqual(streamed, ['committed', 'a', 'b', 'c']);
    });
  });

  test('queries do not accumulate memory: a connection handed out is taken back and reused', async () => {
    await withTable(async (db) => {
      const gc = runInNewContext('gc') as () => void;
      const heap = () => {
        gc();
        return process.memoryUsage().heapUsed;
      };
      const read = () => db.selectFrom('t').select('name').where('id', '=', 1).executeTakeFirstOrThrow();
      const write = () => db.updateTable('t').set({ name: 'committed' }).where('id', '=', 1).execute();
      for (let i = 0; i < 1000; i++) await Promise.all([read(), write()]);
      const before = heap();
      for (let i = 0; i < 30_000; i++) await Promise.all([read(), read(), write()]);
      const grown = heap() - before;
      assert.ok(grown < 2 * 1024 * 1024, `90,000 queries grew the heap by ${grown} bytes`);
    });
  });

  test(':memory: is a temporary file of its own, removed when the database closes', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('nelm-')));
    const raw = openSqlite(':memory:');
    const made = readdirSync(tmpdir()).filter((n) => n.startsWith('nelm-') && !before.has(n));
    assert.equal(made.length, 1);
    assert.equal(raw.description, 'a temporary SQLite database');
    await sql`create table t (id integer primary key, name text not null)`.execute(raw.kysely);
    await kysely(raw).insertInto('t').values({ name: 'x' }).execute();
    assert.equal((await kysely(raw).selectFrom('t').selectAll().execute()).length, 1);
    await raw.close();
    assert.equal(existsSync(path.join(tmpdir(), made[0]!)), false);
  });
});

test("the write connection's thread runs at nice 10 where the OS sets priorities per thread (Linux)", { skip: !existsSync('/proc/thread-self') }, async () => {
  const background = () => threadNices().filter((nice) => nice === 10).length;
  const before = background();
  await withTable(async (db) => {
    await db.insertInto('t').values({ id: 2, name: 'written' }).execute();
    assert.equal(background(), before + 1, 'one more thread at nice 10: the writer');
  });
  assert.equal(background(), before, "the writer's thread has ended with the database");
});

test("ping: answered by the read connection and the writer's thread; refused once the thread has ended", async () => {
  const raw = openSqlite(newFile());
  await raw.ping();
  const writer = new WriterThread(newFile());
  await writer.ping();
  await writer.close();
  await assert.rejects(writer.ping(), /the SQLite write connection is closed/);
  await raw.close();
  await assert.rejects(raw.ping());
});

describe('who may open a file', () => {
  test('one owner at a time: a second exclusive open is refused naming the file; others may open it', async () => {
    const file = newFile();
    const owner = openSqlite(file, { exclusive: true });
    try {
      assert.throws(
        () => openSqlite(file, { exclusive: true }),
        (error: Error) => error instanceof DatabaseLockedError && error.message.includes(path.resolve(file)) && /Another nelm server/.test(error.message),
      );
      const command = openSqlite(file);
      await command.close();
    } finally {
      await owner.close();
    }
    const next = openSqlite(file, { exclusive: true });
    await next.close();
  });

  test('a command that only reads does not create a database: the error names the path', async () => {
    const file = path.join(dir, 'nowhere', 'nelm.sqlite');
    assert.throws(
      () => openSqlite(file, { mustExist: true }),
      (error: Error) => error instanceof DatabaseMissingError && error.message.includes(file),
    );
    assert.equal(existsSync(path.dirname(file)), false);
    const created = openSqlite(file);
    assert.equal(created.description, `the SQLite file ${file}`);
    await created.close();
    (await Promise.resolve(openSqlite(file, { mustExist: true }))).close();
  });
});

test('checkpoints run on the worker thread: a write reaches the file soon after, without the writer copying it', async () => {
  const file = path.join(dir, 'checkpoints.sqlite');
  const db = openSqlite(file);
  try {
    await sql`create table blobs (id integer primary key, body blob not null)`.execute(db.kysely);
    const mib = Buffer.alloc(1024 * 1024, 7);
    await db.kysely.transaction().execute(async (trx) => {
      for (let i = 0; i < 4; i++) await sql`insert into blobs (body) values (${mib})`.execute(trx);
    });
    // The write connection does not checkpoint: the 4 MiB are in the log, not yet in the file.
    assert.ok(statSync(file).size < 1024 * 1024, `file ${statSync(file).size} bytes right after the commit`);
    const deadline = Date.now() + 5000;
    while (statSync(file).size < 4 * 1024 * 1024 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(statSync(file).size >= 4 * 1024 * 1024, 'the worker copied the log into the file');
  } finally {
    await db.close();
  }
});
