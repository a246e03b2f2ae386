/**
 * An accepted import survives a full disk (SQLite, for real: `PRAGMA max_page_count` lowered to the
 * file's size gives "database or disk is full"): the job stays PENDING, retried with growing waits,
 * the cause logged; once there is room again it completes with every row. Past the retry bound it
 * ends ERROR saying why, with nothing written.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { harness, PG_URL, type Harness } from '../helpers/app.js';
import { bulkCalls, rows } from '../helpers/bulk.js';

const skip = PG_URL ? 'SQLite only (max_page_count)' : false;

describe('bulk upload: a full disk', { skip }, () => {
  const opened: Harness[] = [];
  after(async () => Promise.all(opened.map((h) => h.close())));

  /** A harness whose runner is stopped and logs to `logs`; the disk is filled and emptied on demand. */
  const setUp = async (env: NodeJS.ProcessEnv = {}) => {
    const h = await harness({}, env);
    opened.push(h);
    const logs: string[] = [];
    const log = (level: string) => (details: object, message: string) => logs.push(`${level} ${message} ${String((details as { err?: Error }).err?.message)}`);
    const runner = h.app.services.bulkJobs;
    await runner.stop();
    const db = h.app.db.kysely;
    // On the write connection (a transaction runs there): the bound is the connection's.
    // `room`: pages left, enough for a claim but not for an import.
    const fill = (room = 0) =>
      db.transaction().execute(async (trx) => {
        const { rows: pages } = await sql<{ page_count: number }>`pragma page_count`.execute(trx);
        await sql.raw(`pragma max_page_count = ${pages[0]!.page_count + room}`).execute(trx);
      });
    const empty = () => db.transaction().execute((trx) => sql.raw('pragma max_page_count = 1073741823').execute(trx));
    const start = () => runner.start({ error: log('error'), warn: log('warn') });
    const row = (id: string) => db.selectFrom('bulk_jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return { h, bulk: bulkCalls(h), logs, fill, empty, start, row };
  };

  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) => {
    for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (await check()) return;
    throw new Error(`timed out waiting for ${what}`);
  };

  test('the job waits while the disk is full and completes once there is room, every row written', async () => {
    const { h, bulk, logs, fill, empty, start, row } = await setUp();
    const source = await bulk.source('disk full');
    const id = await bulk.queued(source, rows(2000, 'full.'));
    await fill();
    start();
    // The claim may fit (it changes the job's row in place), the import does not: the job stays
    // queued, the cause logged.
    await until('a failure', async () => logs.length > 0);
    assert.match(
      logs[0]!,
      /^warn bulk upload job(s could not be claimed|: the database failed; the job stays queued and runs again) database or disk is full$/,
    );
    // The failure is logged as the job is put back, which may be a moment later.
    await until('the job put back in the queue', async () => (await row(id)).status === 'PENDING');
    // A claim fits, the import does not: the job is put back, to run again later.
    await fill(50);
    h.app.services.bulkJobs.wake();
    await until('two failed attempts', async () => logs.filter((l) => /stays queued/.test(l)).length >= 2);
    await until('kept in the queue', async () => (await row(id)).status === 'PENDING');
    const waiting = await row(id);
    assert.ok(waiting.failing_since !== null && waiting.run_after > waiting.failing_since, 'to run again later');
    assert.equal(await bulk.records(source), 0, 'nothing half-written');
    const failures = logs.filter((l) => /stays queued/.test(l));
    assert.ok(
      failures.every((l) => /^warn .*the job stays queued.* database or disk is full$/.test(l)),
      logs.join('\n'),
    );
    assert.ok(!logs.some((l) => /cannot rollback/.test(l)), logs.join('\n'));
    await empty();
    h.app.services.bulkJobs.wake();
    const done = await bulk.finished(source, id);
    assert.equal(done.status, 'COMPLETED', JSON.stringify(done));
    assert.equal(done.counts.created, 2000);
    assert.equal(await bulk.records(source), 2000);
    const { record_count } = await h.app.db.kysely.selectFrom('sources').select('record_count').where('id', '=', source).executeTakeFirstOrThrow();
    assert.equal(Number(record_count), 2000);
    assert.equal((await row(id)).attempts, 1, 'the failures did not count as attempts');
  });

  test('past the retry bound the job ends ERROR saying why, with nothing written', async () => {
    const { bulk, fill, empty, start } = await setUp({ NELM_BULK_RETRY_SECONDS: '2' });
    const source = await bulk.source('disk full for good');
    const id = await bulk.queued(source, rows(2000, 'gone.'));
    await fill(50);
    start();
    const done = await bulk.finished(source, id, 30_000);
    await empty();
    assert.equal(done.status, 'ERROR');
    assert.match(done.message ?? '', /The database kept failing for 2 s \(database or disk is full\); the job was given up and nothing was imported/);
    assert.equal(await bulk.records(source), 0);
  });
});
