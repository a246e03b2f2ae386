import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Poller } from '../../src/jobs/poller.js';

test('the poller drains work, sleeps when idle, wakes on demand and survives errors', async () => {
  let queue = 3;
  let ticks = 0;
  const errors: unknown[] = [];
  let fail = true;
  const poller = new Poller({
    name: 't',
    idleMs: 60_000,
    onError: (e) => errors.push(e),
    tick: async () => {
      ticks++;
      if (fail) {
        fail = false;
        throw new Error('boom');
      }
      if (queue === 0) return false;
      queue--;
      return true;
    },
  });
  poller.start();
  await new Promise((r) => setTimeout(r, 50));
  // One failing tick, then it sleeps (idle 60 s) without touching the queue: errors do not spin.
  assert.equal(errors.length, 1);
  assert.equal(queue, 3);
  poller.wake();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(queue, 0, 'woken, it drains every unit of work');
  const before = ticks;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(ticks, before, 'idle: no busy loop');
  await poller.stop();
  queue = 2;
  await poller.drain();
  assert.equal(queue, 0);
});
