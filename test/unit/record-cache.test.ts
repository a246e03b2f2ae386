/**
 * The record cache's own rules, with the database's side played by the test (the fence itself is
 * tested against PostgreSQL in test/reliability/record-cache.test.ts): when memory is trusted,
 * when it is emptied, what a read may keep, and the byte budget.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecordCache, TRUST_MS, endsTransaction, writesRecords, type Renewal } from '../../src/db/record-cache.js';

const record = (n: number) => ({ sourceId: 's1', json: `{"id":"r${n}","firstName":"${'x'.repeat(50)}"}` });

/** A cache whose renewals answer what `outcomes` says next (1 once the list is empty). */
function cache(outcomes: Renewal[] = [], budgetBytes = 1 << 20) {
  const released: number[] = [];
  const c = new RecordCache({
    budgetBytes,
    renew: async () => outcomes.shift() ?? 1,
    release: async () => void released.push(1),
  });
  return { c, released };
}

describe('RecordCache', () => {
  test('nothing is trusted, kept or answered before a renewal succeeds', async () => {
    const { c } = cache([0]);
    c.fill(c.generation, 't', 'r1', record(1));
    assert.equal(c.get('t', 'r1'), undefined);
    await c.renewOnce();
    assert.equal(c.stats.trusted, false);
    c.fill(c.generation, 't', 'r1', record(1));
    assert.equal(c.stats.entries, 0);
  });

  test('after a renewal, a record read is kept and answered, per tenant', async () => {
    const { c } = cache([2]);
    await c.renewOnce();
    assert.equal(c.stats.trusted, true);
    c.fill(c.generation, 't', 'r1', record(1));
    assert.deepEqual(c.get('t', 'r1'), record(1));
    assert.equal(c.get('other', 'r1'), undefined);
    assert.equal(c.stats.hits, 1);
    assert.equal(c.stats.misses, 1);
  });

  test('a read that began before an invalidation keeps nothing', async () => {
    const { c } = cache([2]);
    await c.renewOnce();
    const before = c.generation;
    c.invalidate();
    c.fill(before, 't', 'r1', record(1));
    assert.equal(c.get('t', 'r1'), undefined);
    c.fill(c.generation, 't', 'r1', record(1));
    assert.deepEqual(c.get('t', 'r1'), record(1));
    c.invalidate();
    assert.equal(c.get('t', 'r1'), undefined, 'an invalidation empties memory');
  });

  test('a failed renewal leaves memory trusted until the last one runs out, and the next success empties it', async () => {
    const { c } = cache([2, 0, 1]);
    await c.renewOnce();
    c.fill(c.generation, 't', 'r1', record(1));
    await c.renewOnce(); // refused: a write is under way
    assert.deepEqual(c.get('t', 'r1'), record(1), 'still within the last lease');
    const generation = c.generation;
    await c.renewOnce(); // renewed, after a refusal
    assert.equal(c.get('t', 'r1'), undefined);
    assert.notEqual(c.generation, generation, 'reads under way keep nothing either');
    assert.equal(c.stats.trusted, true);
  });

  test('a plain renewal in time keeps memory; acquiring the lease anew empties it', async () => {
    const { c } = cache([2, 1, 2]);
    await c.renewOnce();
    c.fill(c.generation, 't', 'r1', record(1));
    await c.renewOnce();
    assert.deepEqual(c.get('t', 'r1'), record(1));
    await c.renewOnce();
    assert.equal(c.get('t', 'r1'), undefined);
  });

  test('trust runs out TRUST_MS after the renewal was sent, and a renewal sent later empties memory', async () => {
    const { c } = cache([2, 1]);
    await c.renewOnce();
    c.fill(c.generation, 't', 'r1', record(1));
    await sleep(TRUST_MS + 20);
    assert.equal(c.stats.trusted, false);
    assert.equal(c.get('t', 'r1'), undefined);
    await c.renewOnce();
    assert.equal(c.stats.trusted, true);
    assert.equal(c.get('t', 'r1'), undefined, 'memory of before the gap is gone');
  });

  test('a renewal that throws counts as refused', async () => {
    const c = new RecordCache({
      budgetBytes: 1 << 20,
      renew: async () => {
        throw new Error('database away');
      },
      release: async () => {},
    });
    await c.renewOnce();
    assert.equal(c.stats.trusted, false);
    assert.equal(c.stats.renewalErrors, 1);
  });

  test('one renewal at a time', async () => {
    let calls = 0;
    let answer: (outcome: Renewal) => void = () => {};
    const c = new RecordCache({
      budgetBytes: 1 << 20,
      renew: () => {
        calls++;
        return new Promise<Renewal>((resolve) => (answer = resolve));
      },
      release: async () => {},
    });
    const first = c.renewOnce();
    await c.renewOnce();
    assert.equal(calls, 1);
    answer(2);
    await first;
    assert.equal(c.stats.trusted, true);
  });

  test('a renewal in flight when the cache stops grants nothing, even once it has started again', async () => {
    let answer: (outcome: Renewal) => void = () => {};
    const c = new RecordCache({
      budgetBytes: 1 << 20,
      renew: () => new Promise<Renewal>((resolve) => (answer = resolve)),
      release: async () => {},
    });
    c.start();
    const late = answer;
    await c.stop();
    c.start();
    late(1);
    await sleep(10);
    assert.equal(c.stats.trusted, false);
    await c.stop();
  });

  test('the byte budget drops records not read again first, and gives a read one a second chance', async () => {
    const one = 't'.length + 1 + 'r1'.length + record(1).json.length + 's1'.length + 160;
    const { c } = cache([2], one * 3);
    await c.renewOnce();
    for (const n of [1, 2, 3]) c.fill(c.generation, 't', `r${n}`, record(n));
    assert.ok(c.get('t', 'r1'), 'r1 read: it goes to the back instead of out, r2 goes');
    c.fill(c.generation, 't', 'r4', record(4));
    assert.equal(c.stats.entries, 3);
    assert.ok(c.stats.bytes <= one * 3);
    assert.equal(c.get('t', 'r2'), undefined);
    for (const n of [1, 3, 4]) assert.ok(c.get('t', `r${n}`), `r${n} kept`);
    // Every one read since: each gets its second chance once, then the oldest (r3: r1 went to the
    // back) goes, never the record just kept.
    c.fill(c.generation, 't', 'r5', record(5));
    assert.equal(c.stats.entries, 3);
    assert.equal(c.get('t', 'r3'), undefined);
    for (const n of [1, 4, 5]) assert.ok(c.get('t', `r${n}`), `r${n} kept`);
  });

  test('stop forgets everything and gives the lease up once it was started', async () => {
    const { c, released } = cache([2]);
    await c.stop();
    assert.equal(released.length, 0, 'never started: nothing to give up');
    c.start();
    await sleep(20);
    c.fill(c.generation, 't', 'r1', record(1));
    assert.equal(c.stats.entries, 1);
    await c.stop();
    assert.equal(released.length, 1);
    assert.equal(c.stats.entries, 0);
    assert.equal(c.stats.trusted, false);
  });

  test('which statements count as writes of records, and which end a transaction', () => {
    for (const text of [
      'update "records" set "first_name" = $1',
      'delete from "sources" where "id" = $1',
      'insert into "records" values ($1)',
      'with v (id) as (values ($1)) update records set x = v.x from v',
      'truncate records',
    ]) {
      assert.equal(writesRecords(text), true, text);
    }
    for (const text of ['select "records"."json" from "records"', '  SELECT 1 from sources', 'update "requests" set "status" = $1', 'begin', 'commit']) {
      assert.equal(writesRecords(text), false, text);
    }
    for (const text of ['commit', 'ROLLBACK', ' end']) assert.equal(endsTransaction(text), true, text);
    assert.equal(endsTransaction('begin'), false);
  });
});
