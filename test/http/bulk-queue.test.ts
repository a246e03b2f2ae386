/**
 * The bulk upload queue: caps on unfinished jobs and their bytes (per source, per tenant, checked
 * with the insert so racing uploads cannot pass them), and the scheduling: jobs of different
 * sources run side by side, one job per source at a time, the source waiting longest first; on
 * PostgreSQL two app instances on one schema share the queue.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { adminPrincipal, errorOf, harness, PG_URL, type Harness } from '../helpers/app.js';
import { bulkCalls, causesOf, csv, row, rows } from '../helpers/bulk.js';

const MIB = 1024 * 1024;
/** A valid file of about `bytes` bytes, its rows made long by the department column. */
const sized = (bytes: number, prefix: string) => rows(Math.ceil(bytes / 1100), prefix, 'd'.repeat(1000));

describe('bulk queue caps', () => {
  let h: Harness;
  let bulk: ReturnType<typeof bulkCalls>;

  before(async () => {
    h = await harness({}, { NELM_BULK_SOURCE_JOBS: '3', NELM_BULK_TENANT_JOBS: '5', NELM_BULK_SOURCE_MIB: '1', NELM_BULK_TENANT_MIB: '2' });
    bulk = bulkCalls(h);
    // Nothing runs: the jobs stay queued.
    await h.app.services.bulkJobs.stop();
  });
  after(async () => h.close());

  const capped = async (res: Awaited<ReturnType<typeof bulk.upload>>, expected: RegExp) => {
    assert.equal(res.statusCode, 400, res.body);
    const error = errorOf(res);
    assert.equal(error.detailCode, '400.1.4 Limit violation');
    assert.match(causesOf(error), expected);
  };

  test('per source: jobs, then bytes; a job that ends frees its place', async () => {
    const a = await bulk.source('caps a');
    for (let i = 0; i < 3; i++) await bulk.queued(a, csv(row(`a${i}`)));
    await capped(await bulk.upload(a, csv(row('a3'))), /the source has 3 uploads waiting or running, the most a source may have \(3\)/);
    await h.app.services.bulkJobs.drain();
    const b = await bulk.source('caps b');
    await bulk.queued(b, sized(0.6 * MIB, 'b'));
    await capped(
      await bulk.upload(b, sized(0.6 * MIB, 'c')),
      /the source's uploads waiting or running hold 0\.\d MiB; with this one they would pass the 1 MiB a source may have/,
    );
    await h.app.services.bulkJobs.drain();
    await bulk.queued(b, sized(0.6 * MIB, 'c'));
    await h.app.services.bulkJobs.drain();
  });

  test('per tenant: jobs and bytes over all its sources', async () => {
    const sources = [await bulk.source('caps c'), await bulk.source('caps d'), await bulk.source('caps e')];
    for (let i = 0; i < 5; i++) await bulk.queued(sources[i % 3]!, csv(row(`t${i}`)));
    await capped(await bulk.upload(sources[2]!, csv(row('t5'))), /the tenant has 5 uploads waiting or running, the most a tenant may have \(5\)/);
    await h.app.services.bulkJobs.drain();
    await bulk.queued(sources[0]!, sized(0.9 * MIB, 'u'));
    await bulk.queued(sources[1]!, sized(0.9 * MIB, 'v'));
    await capped(
      await bulk.upload(sources[2]!, sized(0.5 * MIB, 'w')),
      /the tenant's uploads waiting or running hold 1\.\d MiB; with this one they would pass the 2 MiB a tenant may have/,
    );
    await h.app.services.bulkJobs.drain();
  });

  test('an upload refused for want of room is answered after a second, the Retry-After of the 429s; other refusals at once', async () => {
    const source = await bulk.source('caps paced');
    for (let i = 0; i < 3; i++) await bulk.queued(source, csv(row(`p${i}`)));
    let started = performance.now();
    await capped(await bulk.upload(source, csv(row('p3'))), /the source has 3 uploads waiting or running/);
    const full = performance.now() - started;
    assert.ok(full >= 950, `the refusal came after ${full.toFixed(0)} ms`);
    started = performance.now();
    assert.equal((await bulk.upload('0'.repeat(32), csv(row('p4')))).statusCode, 404);
    const missing = performance.now() - started;
    assert.ok(missing < 900, `the 404 came after ${missing.toFixed(0)} ms`);
    await h.app.services.bulkJobs.drain();
  });

  test('racing uploads cannot pass a cap together', async () => {
    const racing = await bulk.source('caps racing');
    // A caller has one upload let in at a time: those answered 429 come back, as a client does.
    const answers: number[] = [];
    let waiting = Array.from({ length: 12 }, (_, i) => i);
    while (waiting.length > 0) {
      const round = await Promise.all(waiting.map(async (i) => [i, (await bulk.upload(racing, csv(row(`r${i}`)))).statusCode] as const));
      waiting = round.filter(([, status]) => status === 429).map(([i]) => i);
      answers.push(...round.filter(([, status]) => status !== 429).map(([, status]) => status));
      if (waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(answers.sort(), [...Array(3).fill(202), ...Array(9).fill(400)], 'exactly the cap of 3 is queued');
    const queued = await h.app.db.kysely.selectFrom('bulk_jobs').select('id').where('source_id', '=', racing).execute();
    assert.equal(queued.length, 3);
    await h.app.services.bulkJobs.drain();
  });

  test('uploads of one caller arriving together: one is let in, the others are told to retry; a refused one gives its place back', async () => {
    const source = await bulk.source('caps together');
    const principal = adminPrincipal(h);
    const { bulk: service } = h.app.services;
    const together = await Promise.allSettled(Array.from({ length: 5 }, () => service.admit(principal, source)));
    const letIn = together.filter((r) => r.status === 'fulfilled');
    assert.equal(letIn.length, 1, 'one upload let in');
    for (const r of together.filter((r) => r.status === 'rejected')) assert.match(String(r.reason), /too many uploads are being received/);
    (letIn[0] as PromiseFulfilledResult<() => void>).value();

    await assert.rejects(service.admit(principal, '0'.repeat(32)), /was not found/);
    const release = await service.admit(principal, source);
    release();
  });
});

describe('bulk scheduling', () => {
  let h: Harness;
  let bulk: ReturnType<typeof bulkCalls>;

  before(async () => {
    h = await harness({}, { NELM_BULK_SOURCE_JOBS: '10' });
    bulk = bulkCalls(h);
  });
  after(async () => h.close());

  test('a 1-row upload to source B completes while a big job of source A runs', async () => {
    const [a, b] = [await bulk.source('sched a'), await bulk.source('sched b')];
    const big = await bulk.queued(a, rows(8000, 'big.'));
    for (let i = 0; (await bulk.job(a, big)).status === 'PENDING' && i < 500; i++) await new Promise((r) => setTimeout(r, 5));
    const small = await bulk.queued(b, csv(row('small')));
    const smallDone = await bulk.finished(b, small);
    const bigNow = await bulk.job(a, big);
    assert.equal(smallDone.status, 'COMPLETED');
    assert.equal(bigNow.status, 'IN_PROGRESS', 'the big job was still running when the small one had completed');
    assert.equal((await bulk.finished(a, big)).status, 'COMPLETED');
  });

  test('two jobs of one source never run at once; they run in upload order', async () => {
    const runner = h.app.services.bulkJobs;
    await runner.stop();
    const c = await bulk.source('sched c');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await bulk.queued(c, rows(400, `c${i}.`)));
    runner.start();
    const jobs = [];
    for (const id of ids) jobs.push(await bulk.finished(c, id));
    for (let i = 1; i < jobs.length; i++) {
      assert.equal(jobs[i]!.status, 'COMPLETED');
      assert.ok(jobs[i]!.started! >= jobs[i - 1]!.finished!, `job ${i} started after job ${i - 1} ended`);
    }
  });

  test('the source waiting longest goes first', async () => {
    const one = await harness({}, { NELM_BULK_JOBS: '1' });
    try {
      const calls = bulkCalls(one);
      const runner = one.app.services.bulkJobs;
      await runner.stop();
      const [a, b] = [await calls.source('fair a'), await calls.source('fair b')];
      const a1 = await calls.queued(a, rows(50, 'a1.'));
      const a2 = await calls.queued(a, rows(50, 'a2.'));
      const b1 = await calls.queued(b, rows(50, 'b1.'));
      await runner.drain();
      const [ja1, ja2, jb1] = [await calls.job(a, a1), await calls.job(a, a2), await calls.job(b, b1)];
      assert.ok(ja1.finished! <= jb1.started!, 'A1 first');
      assert.ok(jb1.finished! <= ja2.started!, 'then B1, waiting since before A1 ended, before A2');
    } finally {
      await one.close();
    }
  });

  test('PostgreSQL: two app instances on one schema share the queue, one job per source at a time', { skip: !PG_URL && 'PostgreSQL only' }, async () => {
    const second = await buildApp(h.config, { logger: false });
    await second.ready();
    try {
      const claims = new Map<string, number>();
      for (const [name, runner] of [
        ['first', h.app.services.bulkJobs],
        ['second', second.services.bulkJobs],
      ] as const) {
        const tick = runner.tick.bind(runner);
        runner.tick = async () => {
          const claimed = await tick();
          if (claimed) claims.set(name, (claims.get(name) ?? 0) + 1);
          return claimed;
        };
      }
      const sources = [];
      for (let s = 0; s < 4; s++) sources.push(await bulk.source(`shared ${s}`));
      const jobs: [string, string][] = [];
      // Queued while neither instance runs jobs, then both start at once.
      await Promise.all([h.app.services.bulkJobs.stop(), second.services.bulkJobs.stop()]);
      for (let i = 0; i < 3; i++) for (const s of sources) jobs.push([s, await bulk.queued(s, rows(300, `p${i}.`))]);
      h.app.services.bulkJobs.start();
      second.services.bulkJobs.start();
      const done = [];
      for (const [s, id] of jobs) done.push({ source: s, ...(await bulk.finished(s, id)) });
      assert.ok(done.every((j) => j.status === 'COMPLETED'));
      for (const s of sources) {
        const mine = done.filter((j) => j.source === s);
        for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.started! >= mine[i - 1]!.finished!, 'one job of a source at a time, in order');
        assert.equal(await bulk.records(s), 900);
      }
      assert.ok((claims.get('first') ?? 0) > 0 && (claims.get('second') ?? 0) > 0, `both instances ran jobs: ${JSON.stringify([...claims])}`);
    } finally {
      await second.close();
    }
  });
});

describe('bulk jobs and vacuums', () => {
  test('PostgreSQL: a vacuum holding a table the job fills holds neither the job nor the writes after it', { skip: !PG_URL && 'PostgreSQL only' }, async () => {
    const h = await harness();
    const bulk = bulkCalls(h);
    // The lock an autovacuum holds on a table (an anti-wraparound one does not give it up): the
    // ANALYZE that ends a large job waits for it.
    const vacuum = new pg.Client({ connectionString: PG_URL });
    await vacuum.connect();
    try {
      await vacuum.query(`set search_path to "${h.config.databaseSchema}"`);
      const source = await bulk.source('vacuumed');
      await vacuum.query('begin');
      await vacuum.query('lock table records in share update exclusive mode');
      const job = await bulk.finished(source, await bulk.queued(source, rows(1200, 'v.')), 20_000);
      assert.equal(job.status, 'COMPLETED');
      assert.equal(await bulk.records(source), 1200);
      const record = await h.request('POST', '/v2024/non-employee-records', h.admin.token, {
        accountName: 'after.vacuum',
        firstName: 'Ann',
        lastName: 'Lee',
        email: 'after.vacuum@example.com',
        phone: '555',
        manager: 'admin',
        sourceId: source,
        startDate: '2024-01-01T00:00:00Z',
        endDate: '2030-01-01T00:00:00Z',
      });
      assert.equal(record.statusCode, 200, record.body);
    } finally {
      await vacuum.query('rollback').catch(() => undefined);
      await vacuum.end();
      await h.close();
    }
  });
});
