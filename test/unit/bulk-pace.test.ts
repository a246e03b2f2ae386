/**
 * The pacing of bulk work (src/modules/bulk/csv.ts): paced tasks take turns, one step of theirs per
 * turn of the event loop, in the order they asked, however many run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextTurn, pacer, SLICE_MS } from '../../src/modules/bulk/csv.js';

/** Work of about `ms` milliseconds on this thread. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('paced tasks take turns: a turn of the event loop holds one step of them, and each moves on', async () => {
  const until = performance.now() + 400;
  const units = [0, 0, 0, 0];
  const task = async (k: number) => {
    const pace = pacer();
    while (performance.now() < until) {
      busy(0.2);
      units[k]!++;
      const turn = pace();
      if (turn) await turn;
    }
  };
  // A probe beside them, as a request would be: the time between two of its turns of the loop.
  const gaps: number[] = [];
  const probe = async () => {
    let last = performance.now();
    while (performance.now() < until) {
      await new Promise((resolve) => setImmediate(resolve));
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }
  };
  await Promise.all([...units.map((_, k) => task(k)), probe()]);
  gaps.sort((a, b) => a - b);
  const median = gaps[gaps.length >> 1]!;
  // Four tasks each holding a turn for a step would make it about 4 × SLICE_MS.
  assert.ok(median < 2 * SLICE_MS, `the loop turned every ${median.toFixed(1)} ms at the median`);
  const total = units.reduce((a, b) => a + b, 0);
  for (const [k, n] of units.entries()) assert.ok(n > total / 8, `task ${k} did ${n} of ${total} units`);
});

test('nextTurn resolves in the order it was asked, one per turn of the loop', async () => {
  const order: number[] = [];
  let turns = 0;
  const counter = async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      turns++;
    }
  };
  const done = counter();
  const seen: number[] = [];
  await Promise.all(
    [0, 1, 2, 3].map(async (k) => {
      await nextTurn();
      order.push(k);
      seen.push(turns);
    }),
  );
  await done;
  assert.deepEqual(order, [0, 1, 2, 3]);
  assert.equal(new Set(seen).size, 4, `resolved at the turns ${seen.join(', ')}: one a turn`);
});
