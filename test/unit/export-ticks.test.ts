/**
 * The tick a scheduled export claims is the schedule's, not the clock's: the latest time the
 * pattern gives at or before the moment the timer fired, whatever the delay. Two processes whose
 * timers fire a second apart name the same tick (test/e2e/exports-takeover.e2e.test.ts runs them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cron } from 'croner';
import { latestTick } from '../../src/modules/exports/scheduler.js';

const tickAt = (pattern: string, now: string) => {
  const cron = new Cron(pattern, { timezone: 'UTC', paused: true });
  try {
    return latestTick(cron, new Date(now))?.toISOString();
  } finally {
    cron.stop();
  }
};

test('a timer that fires on time or late names the tick it was set for', () => {
  for (const fired of ['2026-12-07T02:00:00.000Z', '2026-12-07T02:00:00.004Z', '2026-12-07T02:00:01.050Z', '2026-12-07T02:07:59.999Z']) {
    assert.equal(tickAt('0 2 * * *', fired), '2026-12-07T02:00:00.000Z', fired);
  }
  assert.equal(tickAt('*/5 * * * * *', '2026-12-07T02:00:01.050Z'), '2026-12-07T02:00:00.000Z');
  assert.equal(tickAt('*/5 * * * * *', '2026-12-07T02:00:04.999Z'), '2026-12-07T02:00:00.000Z');
  assert.equal(tickAt('@daily', '2026-12-07T00:00:00.500Z'), '2026-12-07T00:00:00.000Z');
});

test('a tick exactly at the moment is that tick, and a moment before it is the one before', () => {
  assert.equal(tickAt('*/5 * * * * *', '2026-12-07T02:00:05.000Z'), '2026-12-07T02:00:05.000Z');
  assert.equal(tickAt('0 2 * * *', '2026-12-07T01:59:59.999Z'), '2026-12-06T02:00:00.000Z');
  assert.equal(tickAt('* * * * * *', '2026-12-07T02:00:03.700Z'), '2026-12-07T02:00:03.000Z');
});
