/**
 * PostgreSQL: a server answers record gets from memory (src/db/record-cache.ts), and no write by
 * another process can make it answer an old record: a second server on the same schema, SQL
 * run by hand (UPDATE, DELETE, TRUNCATE), a source deleted elsewhere. Each write by another
 * process waits in the database until the holder's lease has run out; a get sent after that
 * write was answered sees it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { harness, PG_URL, type Harness } from '../helpers/app.js';
import { LEASE_MS } from '../../src/db/migrations/20261124_0005_record_cache.js';

const skip = !PG_URL && 'PostgreSQL only';

describe('record cache: gets from memory, fenced against every other writer', { skip }, () => {
  let a: Harness;
  /** A second server on the same schema, with no cache of its own. */
  let b: FastifyInstance;
  /** Another server with a cache of its own (the lease goes to one of the two). */
  let c: FastifyInstance;
  /** An administrator's SQL session. */
  let raw: pg.Client;
  let sourceId: string;
  let n = 0;

  const cacheOf = (app: FastifyInstance) => app.db.recordCache!;
  const call = (app: FastifyInstance, method: 'GET' | 'PUT' | 'DELETE' | 'POST', url: string, body?: unknown) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${a.admin.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { payload: JSON.stringify(body) } : {}),
    });
  const body = (accountName: string, firstName = 'First') => ({
    accountName,
    firstName,
    lastName: 'Last',
    email: `${accountName}@example.com`,
    phone: '555',
    manager: 'admin',
    sourceId,
    startDate: '2024-01-01T00:00:00Z',
    endDate: '2026-01-01T00:00:00Z',
  });
  const create = async () => {
    const res = await call(a.app, 'POST', '/v2024/non-employee-records', body(`cache-${++n}`));
    assert.equal(res.statusCode, 200, res.body);
    return res.json().id as string;
  };
  const get = (app: FastifyInstance, id: string) => call(app, 'GET', `/v2024/non-employee-records/${id}`);
  const firstName = async (app: FastifyInstance, id: string) => {
    const res = await get(app, id);
    assert.equal(res.statusCode, 200, res.body);
    return res.json().firstName as string;
  };
  /** Lets leases be taken again at once, as they are BACKOFF_MS after another process's write. */
  const forgetForeignWrites = () => raw.query(`select setval('record_cache_foreign_write', 0)`);
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 300; i++) {
      if (ok()) return;
      await sleep(10);
    }
    assert.fail(`timed out waiting until ${what}`);
  };
  /** `app` trusts its memory and has `id` in it. */
  const cached = async (app: FastifyInstance, id: string) => {
    await until('the server trusts its memory', () => cacheOf(app).stats.trusted);
    await get(app, id);
    const hits = cacheOf(app).stats.hits;
    assert.equal((await get(app, id)).statusCode, 200);
    assert.equal(cacheOf(app).stats.hits, hits + 1, 'the second get came from memory');
  };
  /**
   * The write that just returned, after `cached(a.app, …)`, waited for the lease: it took time,
   * and the holder no longer trusts its memory (how long it waited depends on when the holder had
   * last renewed, 0 to 800 ms before).
   */
  const fenced = (ms: number) => {
    assert.ok(ms >= 150, `the write waited only ${ms} ms`);
    assert.equal(cacheOf(a.app).stats.trusted, false, 'the holder still trusted its memory after the write');
  };
  const timed = async <T>(work: () => Promise<T>) => {
    const t0 = performance.now();
    const value = await work();
    return { value, ms: performance.now() - t0 };
  };

  before(async () => {
    a = await harness();
    b = await buildApp({ ...a.config, recordCacheBytes: 0 }, { logger: false });
    await b.ready();
    raw = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${a.config.databaseSchema}` });
    await raw.connect();
    const res = await a.request('POST', '/v2024/non-employee-sources', a.admin.token, {
      name: 'cache',
      description: 'cache',
      owner: { id: a.admin.identity.id },
    });
    assert.equal(res.statusCode, 200, res.body);
    sourceId = res.json().id;
  });
  after(async () => {
    await c?.close();
    await b?.close();
    await raw?.end();
    await a?.close();
  });

  test('a get is answered from memory the second time', async () => {
    const id = await create();
    await cached(a.app, id);
  });

  test("the holder's own PUT and DELETE do not wait, and its next get sees them", async () => {
    const id = await create();
    await cached(a.app, id);
    const put = await timed(() => call(a.app, 'PUT', `/v2024/non-employee-records/${id}`, body(`cache-${n}`, 'Own')));
    assert.equal(put.value.statusCode, 200, put.value.body);
    assert.ok(put.ms < LEASE_MS / 2, `the PUT took ${put.ms} ms`);
    assert.equal(await firstName(a.app, id), 'Own');
    assert.equal((await call(a.app, 'DELETE', `/v2024/non-employee-records/${id}`)).statusCode, 204);
    assert.equal((await get(a.app, id)).statusCode, 404);
  });

  test("another server's PUT waits out the lease, and the holder's next get sees it; the next write does not wait", async () => {
    await forgetForeignWrites();
    const id = await create();
    await cached(a.app, id);
    const put = await timed(() => call(b, 'PUT', `/v2024/non-employee-records/${id}`, body(`cache-${n}`, 'Elsewhere')));
    assert.equal(put.value.statusCode, 200, put.value.body);
    fenced(put.ms);
    assert.equal(await firstName(a.app, id), 'Elsewhere');
    // The holder renews no more for a while: the next write has nothing to wait for.
    const again = await timed(() => call(b, 'PUT', `/v2024/non-employee-records/${id}`, body(`cache-${n}`, 'Again')));
    assert.equal(again.value.statusCode, 200);
    assert.ok(again.ms < LEASE_MS / 2, `the second PUT took ${again.ms} ms`);
    assert.equal(await firstName(a.app, id), 'Again');
  });

  test('SQL run by hand is fenced: UPDATE, DELETE', async () => {
    await forgetForeignWrites();
    const id = await create();
    await cached(a.app, id);
    const update = await timed(() => raw.query(`update records set first_name = 'Raw' where id = $1`, [id]));
    fenced(update.ms);
    assert.equal(await firstName(a.app, id), 'Raw');

    await forgetForeignWrites();
    await cached(a.app, id);
    await raw.query(`delete from records where id = $1`, [id]);
    assert.equal((await get(a.app, id)).statusCode, 404);
  });

  test('a role that may write records but has no rights on the lease is fenced too', async () => {
    await forgetForeignWrites();
    const id = await create();
    await cached(a.app, id);
    const role = `nelm_writer_${a.config.databaseSchema}`;
    const schema = a.config.databaseSchema!;
    await raw.query(`create role ${role} nologin`);
    try {
      await raw.query(`grant usage on schema ${schema} to ${role}; grant select, update on records to ${role}`);
      await raw.query(`set role ${role}`);
      const update = await timed(() => raw.query(`update records set first_name = 'Role' where id = $1`, [id]));
      fenced(update.ms);
    } finally {
      await raw.query('reset role');
      await raw.query(`drop owned by ${role}; drop role ${role}`);
    }
    assert.equal(await firstName(a.app, id), 'Role');
  });

  test('a write in a transaction is fenced at its first statement, and seen once committed', async () => {
    await forgetForeignWrites();
    const id = await create();
    await cached(a.app, id);
    await raw.query('begin isolation level repeatable read');
    await raw.query(`select 1 from records limit 1`);
    await raw.query(`update records set first_name = 'Txn' where id = $1`, [id]);
    assert.equal(await firstName(a.app, id), 'First', 'not committed yet');
    await raw.query('commit');
    assert.equal(await firstName(a.app, id), 'Txn');
  });

  test("deleting the source through another server deletes the holder's records too", async () => {
    await forgetForeignWrites();
    const res = await call(a.app, 'POST', '/v2024/non-employee-sources', { name: 'doomed', description: 'doomed', owner: { id: a.admin.identity.id } });
    const doomed = res.json().id as string;
    const rec = await call(a.app, 'POST', '/v2024/non-employee-records', { ...body(`cache-${++n}`), sourceId: doomed });
    assert.equal(rec.statusCode, 200, rec.body);
    const id = rec.json().id as string;
    await cached(a.app, id);
    assert.equal((await call(b, 'DELETE', `/v2024/non-employee-sources/${doomed}`)).statusCode, 204);
    assert.equal((await get(a.app, id)).statusCode, 404);
  });

  test('a get sent after a write was answered never sees the record before it, with gets racing the writes', async () => {
    const id = await create();
    for (let round = 1; round <= 3; round++) {
      await forgetForeignWrites();
      await cached(a.app, id);
      // Gets keep arriving while the write waits and commits (paced: in-process gets in a tight
      // loop would starve the lease's renewals, and the memory would go untrusted by itself).
      let reading = true;
      const readers = Array.from({ length: 4 }, async () => {
        while (reading) {
          assert.equal((await get(a.app, id)).statusCode, 200);
          await sleep(2);
        }
      });
      await raw.query(`update records set first_name = $2 where id = $1`, [id, `Round${round}`]);
      const seen = await Promise.all(Array.from({ length: 8 }, () => firstName(a.app, id)));
      reading = false;
      await Promise.all(readers);
      assert.deepEqual(seen, Array(8).fill(`Round${round}`));
    }
  });

  test('TRUNCATE is fenced', async () => {
    // Last of the writes by hand: it empties the table for the tests after it.
    await forgetForeignWrites();
    const id = await create();
    await cached(a.app, id);
    await raw.query('truncate records');
    assert.equal((await get(a.app, id)).statusCode, 404);
    await raw.query('update sources set record_count = 0');
  });

  test('a lease given up, or left by a process that is gone, holds no write back; the server takes it again', async () => {
    await forgetForeignWrites();
    const id = await create();
    await cached(a.app, id);
    await cacheOf(a.app).stop();
    const quick = await timed(() => raw.query(`update records set first_name = 'Released' where id = $1`, [id]));
    assert.ok(quick.ms < LEASE_MS / 2, `the UPDATE waited ${quick.ms} ms for a lease given up`);
    assert.equal(await firstName(a.app, id), 'Released');

    // A holder that stopped renewing a minute ago (its process crashed).
    await raw.query(`select setval('record_cache_holder', 42), setval('record_cache_renewed', (extract(epoch from clock_timestamp()) * 1000)::bigint - 61000)`);
    const gone = await timed(() => raw.query(`update records set first_name = 'Gone' where id = $1`, [id]));
    assert.ok(gone.ms < LEASE_MS / 2, `the UPDATE waited ${gone.ms} ms for a lapsed lease`);
    cacheOf(a.app).start();
    await cached(a.app, id);
    assert.equal((await raw.query(`select pg_sequence_last_value('record_cache_holder')::text as holder`)).rows[0].holder, await processId(a.app));
  });

  test('a crashed holder whose lease is still running: writes wait it out, nobody else takes it', async () => {
    await forgetForeignWrites();
    const id = await create();
    await cacheOf(a.app).stop();
    await raw.query(`select setval('record_cache_holder', 42), setval('record_cache_renewed', (extract(epoch from clock_timestamp()) * 1000)::bigint)`);
    const put = await timed(() => call(a.app, 'PUT', `/v2024/non-employee-records/${id}`, body(`cache-${n}`, 'Waited')));
    assert.equal(put.value.statusCode, 200);
    assert.ok(put.ms >= LEASE_MS - 400, `the PUT waited only ${put.ms} ms`);
    await forgetForeignWrites();
    assert.equal((await raw.query(`select record_cache_renew(7) as outcome`)).rows[0].outcome, 0, 'a lease renewed a moment ago is not taken');
    await raw.query(`select setval('record_cache_holder', 0)`);
    cacheOf(a.app).start();
    await cached(a.app, id);
  });

  test("two servers with caches: one holds the lease at a time, and each, holding it, sees the other's writes", async () => {
    await forgetForeignWrites();
    c = await buildApp({ ...a.config }, { logger: false });
    await c.ready();
    const id = await create();
    const servers = [a.app, c];
    const holder = () => servers.filter((s) => cacheOf(s).stats.trusted);
    for (let round = 1; round <= 2; round++) {
      await forgetForeignWrites();
      await until('one server holds the lease', () => holder().length === 1);
      const reader = holder()[0]!;
      const writer = reader === a.app ? c : a.app;
      await cached(reader, id);
      const res = await call(writer, 'PUT', `/v2024/non-employee-records/${id}`, body(`cache-${n}`, `Round${round}`));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(await firstName(reader, id), `Round${round}`);
      assert.equal(holder().length, 0, 'the write outlasted the lease');
      if (round === 2) break;
      // The holder steps down (gives the lease up) until the other has taken it.
      await cacheOf(reader).stop();
      await forgetForeignWrites();
      await until('the other server holds the lease', () => cacheOf(writer).stats.trusted);
      cacheOf(reader).start();
    }
  });
});

async function processId(app: FastifyInstance): Promise<string> {
  return (await sql<{ id: string }>`select current_setting('nelm.process_id') as id`.execute(app.db.kysely)).rows[0]!.id;
}
