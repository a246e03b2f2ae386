/**
 * PointReads (src/db/batch.ts): point reads issued in one event-loop turn become one fetch per
 * group, chunked, with duplicates, misses and failures answered per waiter.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PointReads } from '../../src/db/batch.js';

function recorder(rows: Record<string, Record<string, string>>, fail?: (group: string) => boolean) {
  const calls: { group: string; keys: string[] }[] = [];
  const reads = new PointReads<string>(async (group, keys) => {
    calls.push({ group, keys });
    if (fail?.(group)) throw new Error(`database down for ${group}`);
    return new Map(keys.filter((k) => rows[group]?.[k] !== undefined).map((k) => [k, rows[group]![k]!]));
  }, 3);
  return { reads, calls };
}

describe('PointReads', () => {
  test('loads of one turn are one fetch per group; each load gets its own row or undefined', async () => {
    const { reads, calls } = recorder({ t1: { a: 'A', b: 'B' }, t2: { a: 'other A' } });
    const answers = await Promise.all([reads.load('t1', 'a'), reads.load('t2', 'a'), reads.load('t1', 'b'), reads.load('t1', 'missing')]);
    assert.deepEqual(answers, ['A', 'other A', 'B', undefined]);
    assert.deepEqual(calls, [
      { group: 't1', keys: ['a', 'b', 'missing'] },
      { group: 't2', keys: ['a'] },
    ]);
  });

  test('a key asked twice in a turn is fetched once and answers both', async () => {
    const { reads, calls } = recorder({ t: { a: 'A' } });
    assert.deepEqual(await Promise.all([reads.load('t', 'a'), reads.load('t', 'a')]), ['A', 'A']);
    assert.deepEqual(calls, [{ group: 't', keys: ['a'] }]);
  });

  test('more keys than maxKeys run as several fetches', async () => {
    const rows = { t: Object.fromEntries(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'].map((k) => [k, k.toUpperCase()])) };
    const { reads, calls } = recorder(rows);
    const keys = Object.keys(rows.t);
    assert.deepEqual(await Promise.all(keys.map((k) => reads.load('t', k))), ['K1', 'K2', 'K3', 'K4', 'K5', 'K6', 'K7']);
    assert.deepEqual(
      calls.map((c) => c.keys),
      [['k1', 'k2', 'k3'], ['k4', 'k5', 'k6'], ['k7']],
    );
  });

  test('later turns are batches of their own', async () => {
    const { reads, calls } = recorder({ t: { a: 'A', b: 'B' } });
    assert.equal(await reads.load('t', 'a'), 'A');
    assert.equal(await reads.load('t', 'b'), 'B');
    assert.deepEqual(
      calls.map((c) => c.keys),
      [['a'], ['b']],
    );
  });

  test("a failed fetch rejects exactly its own batch's loads", async () => {
    const { reads } = recorder({ up: { a: 'A' }, down: { a: 'never' } }, (group) => group === 'down');
    const [up, down] = await Promise.allSettled([reads.load('up', 'a'), reads.load('down', 'a')]);
    assert.deepEqual(up, { status: 'fulfilled', value: 'A' });
    assert.equal(down.status, 'rejected');
    assert.match(String((down as PromiseRejectedResult).reason), /database down for down/);
    assert.equal(await reads.load('up', 'a'), 'A', 'the next turn reads again');
  });
});
