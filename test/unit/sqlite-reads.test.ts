/**
 * SQLite point reads (src/db/sqlite-reads.ts) on a real file: the first read of an event-loop
 * turn on the server's connection, the rest of the turn by the read thread; what each sees while a
 * transaction is open; errors; a failed thread; closing. Runs on SQLite whatever DATABASE_URL says.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { CompiledQuery, sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/connect.js';
import { SqliteReads } from '../../src/db/sqlite-reads.js';

const ROWS = 200;

async function withDb(readThread: boolean, work: (db: Db, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'nelm-reads-'));
  const file = path.join(dir, 'db.sqlite');
  const db = await openDatabase({ engine: 'sqlite', databaseUrl: file, databaseSchema: undefined, sqliteReadThread: readThread });
  try {
    await sql`create table t (id text primary key, v text not null)`.execute(db.kysely);
    await db.kysely
      .insertInto('t' as never)
      .values(Array.from({ length: ROWS }, (_, i) => ({ id: `k${i}`, v: `value ${i}` })) as never)
      .execute();
    await work(db, file);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const READ = 'select v from t where id = ?';
type Row = { v: string };

/** `n` reads issued in one turn (no await between them), as a loaded server issues its gets. */
function oneTurn(db: Db, ids: string[]): Promise<(Row | undefined)[]> {
  return Promise.all(ids.map((id) => db.readFirst!<Row>(READ, [id])));
}

describe('SQLite reads', () => {
  test('the first read of a turn runs at once, the others by the read thread, all answered right', async () => {
    await withDb(true, async (db) => {
      const ids = Array.from({ length: 60 }, (_, i) => (i % 10 === 9 ? `missing${i}` : `k${(i * 7) % ROWS}`));
      const rows = await oneTurn(db, ids);
      assert.deepEqual(
        rows,
        ids.map((id) => (id.startsWith('k') ? { v: `value ${id.slice(1)}` } : undefined)),
      );
      assert.deepEqual(db.readCounts, { main: 1, thread: 59, queued: 0 });
      // One read per turn never leaves the main thread.
      for (const id of ['k1', 'k2', 'k3']) {
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(await db.readFirst!<Row>(READ, [id]), { v: `value ${id.slice(1)}` });
      }
      assert.deepEqual(db.readCounts, { main: 4, thread: 59, queued: 0 });
    });
  });

  test('BLOBs are Buffers whichever thread read them', async () => {
    await withDb(true, async (db) => {
      const rows = await Promise.all(['k1', 'k2', 'k3'].map((id) => db.readFirst!<{ b: Buffer }>('select cast(v as blob) as b from t where id = ?', [id])));
      assert.deepEqual(db.readCounts, { main: 1, thread: 2, queued: 0 });
      for (const [i, row] of rows.entries()) {
        assert.ok(Buffer.isBuffer(row!.b), `row ${i}: a Buffer`);
        assert.equal(row!.b.toString('utf8'), `value ${i + 1}`);
      }
    });
  });

  test('the read thread sees every committed write, and never an uncommitted one', async () => {
    await withDb(true, async (db) => {
      await oneTurn(db, ['k0', 'k1']); // the thread is up
      await db.kysely
        .updateTable('t' as never)
        .set({ v: 'changed' } as never)
        .where('id' as never, '=', 'k1' as never)
        .execute();
      assert.deepEqual(await oneTurn(db, ['k0', 'k1']), [{ v: 'value 0' }, { v: 'changed' }]);

      let during: (Row | undefined)[] = [];
      await assert.rejects(
        db.kysely.transaction().execute(async (trx) => {
          await trx
            .insertInto('t' as never)
            .values({ id: 'new', v: 'uncommitted' } as never)
            .execute();
          await trx
            .updateTable('t' as never)
            .set({ v: 'uncommitted' } as never)
            .where('id' as never, '=', 'k2' as never)
            .execute();
          // Other requests' gets while the transaction is open: the server's connection holds the
          // transaction, so all of them, the turn's first too, go to the thread and see the
          // committed state without waiting for the transaction.
          during = await oneTurn(db, ['new', 'k2', 'k3']);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      assert.deepEqual(during, [undefined, { v: 'value 2' }, { v: 'value 3' }]);
      assert.deepEqual(await oneTurn(db, ['new', 'k2']), [undefined, { v: 'value 2' }], 'the rolled-back writes were never read');
    });
  });

  test('without the read thread, a read during a transaction waits for it to end', async () => {
    await withDb(false, async (db) => {
      assert.deepEqual(await oneTurn(db, ['k0', 'k1', 'nope']), [{ v: 'value 0' }, { v: 'value 1' }, undefined]);
      assert.deepEqual(db.readCounts, { main: 3, thread: 0, queued: 0 });
      let during: Promise<(Row | undefined)[]> | undefined;
      await db.kysely.transaction().execute(async (trx) => {
        await trx
          .insertInto('t' as never)
          .values({ id: 'new', v: 'committed at the end' } as never)
          .execute();
        during = oneTurn(db, ['new']);
      });
      assert.deepEqual(await during, [{ v: 'committed at the end' }]);
      assert.equal(db.readCounts!.queued, 1);
    });
  });

  test('a failing statement fails only its own read; the thread runs read-only statements only', async () => {
    await withDb(true, async (db) => {
      const reads = [
        db.readFirst!<Row>(READ, ['k5']),
        db.readFirst!<Row>('select nope from t', []),
        db.readFirst!<Row>("delete from t where id = 'k6'", []),
        db.readFirst!<Row>(READ, ['k6']),
      ];
      const settled = await Promise.allSettled(reads);
      assert.deepEqual(settled[0], { status: 'fulfilled', value: { v: 'value 5' } });
      assert.equal(settled[1]!.status, 'rejected');
      assert.match(String((settled[1] as PromiseRejectedResult).reason.message), /no such column: nope/);
      assert.equal((settled[1] as PromiseRejectedResult).reason.code, 'SQLITE_ERROR');
      assert.equal(settled[2]!.status, 'rejected');
      assert.match(String((settled[2] as PromiseRejectedResult).reason.message), /read-only/);
      assert.deepEqual(settled[3], { status: 'fulfilled', value: { v: 'value 6' } });
      assert.equal(
        (
          (await db.kysely
            .selectFrom('t' as never)
            .select(sql`count(*)`.as('n'))
            .executeTakeFirst()) as { n: number }
        ).n,
        ROWS,
        'nothing deleted',
      );
    });
  });

  test('a thread that cannot start: its reads, and all later ones, run on the main thread', async () => {
    const database = new Database(':memory:');
    database.exec("create table t (id text primary key, v text); insert into t values ('a', 'one'), ('b', 'two')");
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    const reads = new SqliteReads({
      database,
      prepare: (text) => database.prepare(text),
      viaConnection: async () => assert.fail('no transaction is open'),
      file: path.join(tmpdir(), 'nelm-no-such-dir', 'missing.sqlite'),
      mmapBytes: 0,
    });
    try {
      assert.deepEqual(await Promise.all([reads.first(READ, ['a']), reads.first(READ, ['b']), reads.first(READ, ['c'])]), [
        { v: 'one' },
        { v: 'two' },
        undefined,
      ]);
      assert.deepEqual(await Promise.all([reads.first(READ, ['b']), reads.first(READ, ['a'])]), [{ v: 'two' }, { v: 'one' }]);
      assert.equal(reads.counts.thread, 2, 'two were sent before the thread failed');
      assert.equal(reads.counts.main, 5, 'then every read ran on the main thread');
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(warnings.filter((w) => /SQLite reads continue on the main thread/.test(w)).length, 1);
      assert.equal(database.pragma('wal_autocheckpoint', { simple: true }), 1000, 'the connection checkpoints by itself again');
    } finally {
      process.off('warning', onWarning);
      await reads.close();
      database.close();
    }
  });

  test('while the thread runs, it checkpoints the WAL and the server connection does not', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nelm-reads-'));
    const file = path.join(dir, 'db.sqlite');
    const database = new Database(file);
    database.pragma('journal_mode = WAL');
    database.exec('create table t (id text primary key, v text)');
    const reads = new SqliteReads({
      database,
      prepare: (text) => database.prepare(text),
      viaConnection: async () => assert.fail('no transaction is open'),
      file,
      mmapBytes: 0,
      checkpointMs: 20,
    });
    try {
      assert.equal(database.pragma('wal_autocheckpoint', { simple: true }), 1000);
      await Promise.all([reads.first(READ, ['a']), reads.first(READ, ['b'])]);
      assert.equal(reads.counts.thread, 1);
      assert.equal(
        database.pragma('wal_autocheckpoint', { simple: true }),
        10_000,
        'the thread is up: the connection leaves checkpoints to it, but for a backstop',
      );
      const before = statSync(file).size;
      const insert = database.prepare('insert into t values (?, ?)');
      database.transaction(() => {
        for (let i = 0; i < 2000; i++) insert.run(`k${i}`, 'x'.repeat(1000));
      })();
      // Only a checkpoint copies the committed pages from the WAL into the database file, and the
      // server's connection runs none below 10,000 pages of WAL (here ~600).
      for (let waited = 0; statSync(file).size < before + 2_000_000; waited += 10) {
        assert.ok(waited < 5_000, 'the thread checkpointed within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(await reads.first(READ, ['k1999']), { v: 'x'.repeat(1000) });
    } finally {
      await reads.close();
      database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('closing: reads waiting for the turn fail, later reads fail, the thread ends', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nelm-reads-'));
    const db = await openDatabase({ engine: 'sqlite', databaseUrl: path.join(dir, 'db.sqlite'), databaseSchema: undefined });
    await db.kysely.executeQuery(CompiledQuery.raw('create table t (id text primary key, v text)'));
    await oneTurn(db, ['a', 'b']); // the thread is up
    const first = db.readFirst!(READ, ['a']);
    const waiting = db.readFirst!(READ, ['b']);
    const closing = db.close();
    assert.equal(await first, undefined);
    await assert.rejects(waiting, /closed/);
    await closing;
    await assert.rejects(db.readFirst!(READ, ['a']), /closed/);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a process with nothing else to do waits for the thread to answer, and exits once it is idle', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nelm-reads-'));
    const script = path.join(dir, 'script.mts');
    const connect = pathToFileURL(path.resolve('src/db/connect.ts')).href;
    writeFileSync(
      script,
      `import { openDatabase } from ${JSON.stringify(connect)};
const db = await openDatabase({ engine: 'sqlite', databaseUrl: ${JSON.stringify(path.join(dir, 'db.sqlite'))}, databaseSchema: undefined });
const batch = (n) => Promise.all([1, 2, 3].map((i) => db.readFirst('select ? as a', [n + i])));
console.log(JSON.stringify(await batch(0)));
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(JSON.stringify(await batch(10)), JSON.stringify(db.readCounts));
`,
    );
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { timeout: 20_000 });
      // The second batch goes to a thread that was idle (and let go of the process) until then.
      assert.equal(stdout, '[{"a":1},{"a":2},{"a":3}]\n[{"a":11},{"a":12},{"a":13}] {"main":2,"thread":4,"queued":0}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an in-memory database has no read thread', async () => {
    const db = await openDatabase({ engine: 'sqlite', databaseUrl: ':memory:', databaseSchema: undefined });
    try {
      await db.kysely.executeQuery(CompiledQuery.raw('create table t (id text primary key, v text)'));
      await db.kysely.executeQuery(CompiledQuery.raw("insert into t values ('a', 'one')"));
      assert.deepEqual(await oneTurn(db, ['a', 'a', 'b']), [{ v: 'one' }, { v: 'one' }, undefined]);
      assert.deepEqual(db.readCounts, { main: 3, thread: 0, queued: 0 });
    } finally {
      await db.close();
    }
  });
});
