/**
 * Event consumers on the engine DATABASE_URL names: a consumer reads each tenant's events in
 * order, once, from the head when it is new (or from the beginning when it asks), writing what it
 * derives in the transaction that moves its cursor; a batch that fails comes again; a commit wakes
 * the consumers at once; two consumer loops over one database (two processes) consume each event
 * once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { transaction } from '../../src/db/dialect.js';
import { EventConsumers, type EventConsumer } from '../../src/modules/events/consumers.js';
import { CursorRepository } from '../../src/modules/events/cursor-repository.js';
import type { AuditEvent } from '../../src/modules/events/model.js';
import { EventRepository } from '../../src/modules/events/repository.js';
import { harness, type Harness } from '../helpers/app.js';

describe('event consumers', () => {
  let h: Harness;
  let n = 0;
  const append = (count: number, tenantId?: string) =>
    transaction(h.app.db.kysely, (trx) =>
      h.app.services.events.append(
        trx,
        tenantId ?? h.config.tenant,
        Array.from({ length: count }, () => ({ type: 'test.appended', actor: null, target: { type: 'test', id: String(++n) }, data: { object: { n } } })),
      ),
    );
  /** A consumer that keeps what it saw, and the target ids it saw, in order. */
  const recorder = (name: string, options: Partial<EventConsumer> = {}) => {
    const seen: AuditEvent[] = [];
    const consumer: EventConsumer = {
      name,
      async consume(_trx, _tenantId, events) {
        seen.push(...events);
      },
      ...options,
    };
    return { consumer, seen, ids: () => seen.map((e) => e.target.id) };
  };
  const fresh = (pollMs = 60_000) =>
    new EventConsumers(h.app.db.kysely, new EventRepository(h.app.db.dialect), new CursorRepository(h.app.db.dialect), { pollMs });

  before(async () => {
    h = await harness();
  });
  after(async () => h.close());

  test('a new consumer starts at the head, then reads every event once, in order, in batches', async () => {
    await append(3);
    const consumers = fresh();
    const r = recorder('from-head', { batch: 4 });
    consumers.add(r.consumer);
    await consumers.drain();
    assert.deepEqual(r.seen, [], 'the events before its first start are history');
    const events = await append(10);
    await consumers.drain();
    assert.deepEqual(
      r.ids(),
      events.map((e) => e.target.id),
    );
    await consumers.drain();
    assert.equal(r.seen.length, 10, 'nothing twice');
    assert.equal((await consumers.positions('from-head')).get(h.config.tenant), events.at(-1)!.seq);
  });

  test("startAt 'beginning' reads the history; a chain begun after the consumer is read from its start", async () => {
    const consumers = fresh();
    const r = recorder('from-start', { startAt: 'beginning' });
    consumers.add(r.consumer);
    await consumers.drain();
    const head = (await h.app.services.events.verify(h.config.tenant)) as { headSeq: number };
    assert.deepEqual(
      r.seen.map((e) => e.seq),
      Array.from({ length: head.headSeq }, (_, i) => i + 1),
      'every event so far',
    );
    const headFirst = recorder('head-first');
    consumers.add(headFirst.consumer);
    await consumers.drain();
    const other = await append(2, 'another-tenant');
    await consumers.drain();
    assert.deepEqual(
      headFirst.ids(),
      other.map((e) => e.target.id),
      "a tenant's first events, after the consumer started",
    );
  });

  test('a typed consumer passes over other events 1,000 at most a statement, and sees the ones it wants', async () => {
    const windows: number[] = [];
    class Spy extends EventRepository {
      override typedPage(...args: Parameters<EventRepository['typedPage']>) {
        windows.push(args[3] - args[2]);
        return super.typedPage(...args);
      }
    }
    const consumers = new EventConsumers(h.app.db.kysely, new Spy(h.app.db.dialect), new CursorRepository(h.app.db.dialect), { pollMs: 60_000 });
    const r = recorder('typed', { types: ['test.wanted'], batch: 10 });
    consumers.add(r.consumer);
    await consumers.drain();
    await append(2500);
    const wanted = await transaction(h.app.db.kysely, (trx) =>
      h.app.services.events.append(trx, h.config.tenant, [{ type: 'test.wanted', actor: null, target: { type: 'test', id: 'wanted' }, data: { object: {} } }]),
    );
    await append(10);
    windows.length = 0;
    await consumers.drain();
    assert.deepEqual(r.ids(), ['wanted']);
    assert.ok(windows.length >= 3, `${windows.length} statements for 2,511 events`);
    assert.ok(Math.max(...windows) <= 1000, `windows ${windows.join(', ')}`);
    const head = (await h.app.services.events.verify(h.config.tenant)) as { headSeq: number };
    assert.equal((await consumers.positions('typed')).get(h.config.tenant), head.headSeq);
    assert.ok(wanted[0]!.seq < head.headSeq);
  });

  test('an idle consumer moves to the head without reading; once it is not, it reads what comes after', async () => {
    let idle = true;
    let pages = 0;
    class Spy extends EventRepository {
      override chainPage(...args: Parameters<EventRepository['chainPage']>) {
        pages++;
        return super.chainPage(...args);
      }
    }
    const consumers = new EventConsumers(h.app.db.kysely, new Spy(h.app.db.dialect), new CursorRepository(h.app.db.dialect), { pollMs: 60_000 });
    const r = recorder('sometimes-idle', { idle: async () => idle });
    consumers.add(r.consumer);
    await consumers.drain();
    await append(250);
    pages = 0;
    await consumers.drain();
    assert.equal(pages, 0, 'nothing read');
    assert.deepEqual(r.seen, []);
    const head = (await h.app.services.events.verify(h.config.tenant)) as { headSeq: number };
    assert.equal((await consumers.positions('sometimes-idle')).get(h.config.tenant), head.headSeq);
    idle = false;
    const later = await append(3);
    await consumers.drain();
    assert.deepEqual(
      r.ids(),
      later.map((e) => e.target.id),
    );
  });

  test('what a consumer writes commits with its cursor; a batch that throws comes again', async () => {
    await sql`create table consumer_test (id text primary key)`.execute(h.app.db.kysely);
    let fail = true;
    const consumers = fresh();
    consumers.add({
      name: 'writer',
      async consume(trx, _tenantId, events) {
        for (const e of events) await sql`insert into consumer_test (id) values (${e.id})`.execute(trx);
        if (fail) throw new Error('boom');
      },
    });
    await consumers.drain();
    const events = await append(3);
    await assert.rejects(consumers.drain(), /boom/);
    const count = async () => Number((await sql<{ n: number }>`select count(*) as n from consumer_test`.execute(h.app.db.kysely)).rows[0]!.n);
    assert.equal(await count(), 0, 'rolled back with the cursor');
    fail = false;
    await consumers.drain();
    assert.equal(await count(), 3);
    assert.equal((await consumers.positions('writer')).get(h.config.tenant), events.at(-1)!.seq);
  });

  test('a commit that appends events wakes the running consumers at once', async () => {
    const consumers = fresh(60_000);
    const r = recorder('woken');
    consumers.add(r.consumer);
    h.app.services.events.onAppend(() => consumers.wake());
    consumers.start();
    try {
      await consumers.drain();
      const started = Date.now();
      const [event] = await append(1);
      while (r.seen.length === 0 && Date.now() - started < 5_000) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.deepEqual(r.ids(), [event!.target.id]);
      assert.ok(Date.now() - started < 1_000, `consumed ${Date.now() - started} ms after the commit, polling every minute`);
    } finally {
      await consumers.stop();
    }
  });

  test('two consumer loops on one database (two processes) consume every event once', async () => {
    const a = recorder('shared', { batch: 3 });
    const b = recorder('shared', { batch: 3 });
    const first = fresh(5);
    const second = fresh(5);
    first.add(a.consumer);
    second.add(b.consumer);
    await first.drain();
    first.start();
    second.start();
    try {
      const events: AuditEvent[] = [];
      for (let i = 0; i < 10; i++) events.push(...(await append(3)));
      const until = Date.now() + 10_000;
      while (a.seen.length + b.seen.length < events.length && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const seen = [...a.seen, ...b.seen].sort((x, y) => x.seq - y.seq);
      assert.deepEqual(
        seen.map((e) => e.id),
        events.map((e) => e.id),
        'each event once, by one or the other',
      );
      for (const r of [a, b]) {
        const seqs = r.seen.map((e) => e.seq);
        assert.deepEqual(
          seqs,
          [...seqs].sort((x, y) => x - y),
          'each in order',
        );
      }
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });
});
