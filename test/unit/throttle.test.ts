/**
 * The defences of authentication (src/auth/throttle.ts, src/modules/oauth/guard.ts): locks that
 * grow with each failure, lanes that bound concurrent secret checks, and the guard that routes
 * suspect requests to their own lane. The guard runs over a directory whose checks the test
 * settles by hand, so that what waits and what runs is seen exactly.
 */
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureThrottle, Lane, LaneBusyError } from '../../src/auth/throttle.js';
import { TokenRequestGuard } from '../../src/modules/oauth/guard.js';
import type { Authenticated, DirectoryService } from '../../src/modules/directory/service.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('FailureThrottle', () => {
  const options = { threshold: 3, baseMs: SECOND, maxMs: 10 * SECOND, forgetMs: 15 * MINUTE, maxKeys: 3 };

  test('no lock below the threshold; from it on each failure doubles the lock, up to the ceiling', () => {
    const c = clock();
    const t = new FailureThrottle(options, c.now);
    assert.deepEqual([t.failed('a'), t.failed('a')], [0, 0]);
    assert.equal(t.wait('a'), 0);
    assert.equal(t.failed('a'), SECOND);
    assert.equal(t.wait('a'), SECOND);
    c.advance(400);
    assert.equal(t.wait('a'), 600);
    assert.deepEqual(
      [t.failed('a'), t.failed('a'), t.failed('a'), t.failed('a'), t.failed('a')],
      [2 * SECOND, 4 * SECOND, 8 * SECOND, 10 * SECOND, 10 * SECOND],
    );
    assert.equal(t.wait('b'), 0, 'other keys are not locked');
  });

  test('a success forgets the failures; so does a quiet while', () => {
    const c = clock();
    const t = new FailureThrottle(options, c.now);
    t.failed('a');
    t.failed('a');
    assert.equal(t.suspect('a'), true);
    t.succeeded('a');
    assert.equal(t.suspect('a'), false);
    assert.equal(t.failed('a'), 0, 'counting starts again');
    t.failed('a');
    c.advance(15 * MINUTE);
    assert.equal(t.suspect('a'), false);
    assert.equal(t.failed('a'), 0, 'failures older than forgetMs do not count');
  });

  test('remembers at most maxKeys keys, dropping the least recently failed', () => {
    const t = new FailureThrottle({ ...options, threshold: 1 }, clock().now);
    for (const key of ['a', 'b', 'c']) t.failed(key);
    t.failed('a');
    t.failed('d');
    assert.equal(t.wait('b'), 0, 'b went first');
    for (const key of ['a', 'c', 'd']) assert.ok(t.wait(key) > 0, key);
  });
});

describe('Lane', () => {
  test('runs at most `limit` tasks at once, queues `maxQueued` more, refuses the rest', async () => {
    const lane = new Lane(2, 1);
    const gates: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const task = () =>
      lane.run(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
        return 'done';
      });
    const runs = [task(), task(), task()];
    await assert.rejects(task(), LaneBusyError);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gates.length, 2, 'two run, one waits');
    gates.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gates.length, 2, 'the waiting one took the free slot');
    while (gates.length) gates.shift()!();
    assert.deepEqual(await Promise.all(runs), ['done', 'done', 'done']);
    assert.equal(most, 2);
  });

  test('a failing task gives its slot back', async () => {
    const lane = new Lane(1, 0);
    await assert.rejects(
      lane.run(async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await lane.run(async () => 1), 1);
  });
});

/** A directory whose secret checks the test settles: `ok` for the secret 'right'. */
function handDirectory() {
  const pending: { clientId: string; settle: () => void }[] = [];
  const identity = { id: 'i1', alias: 'admin' } as Authenticated['identity'];
  const directory = {
    authenticate: (clientId: string, secret: string) =>
      new Promise<Authenticated | 'unknown_client' | 'wrong_secret'>((resolve) => {
        pending.push({ clientId, settle: () => resolve(secret === 'right' ? { tenantId: 'default', identity } : 'wrong_secret') });
      }),
  } as unknown as DirectoryService;
  const settleAll = async () => {
    while (pending.length) pending.shift()!.settle();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { directory, pending, settleAll };
}

describe('TokenRequestGuard', () => {
  test('locks a client id after its threshold, and an address after its own; Retry-After in seconds', async () => {
    const c = clock();
    const { directory, settleAll } = handDirectory();
    const guard = new TokenRequestGuard(directory, { clientFailures: 2, addressFailures: 3 }, { now: c.now });
    const attempt = (clientId: string, secret: string, address: string) => {
      const result = guard.authenticate(clientId, secret, address);
      void settleAll();
      return result;
    };
    assert.deepEqual(await attempt('admin', 'wrong', '10.0.0.1'), { ok: false, reason: 'wrong_secret' });
    assert.deepEqual(await attempt('admin', 'wrong', '10.0.0.2'), { ok: false, reason: 'wrong_secret' });
    assert.deepEqual(await attempt('admin', 'right', '10.0.0.3'), { ok: false, reason: 'client_locked', retryAfterSeconds: 1 });
    c.advance(SECOND);
    assert.equal((await attempt('admin', 'right', '10.0.0.3')).ok, true, 'the lock passed; a success clears the count');
    assert.deepEqual(await attempt('admin', 'wrong', '10.0.0.1'), { ok: false, reason: 'wrong_secret' });
    assert.deepEqual(await attempt('other', 'wrong', '10.0.0.1'), { ok: false, reason: 'wrong_secret' });
    assert.deepEqual(await attempt('third', 'right', '10.0.0.1'), { ok: false, reason: 'address_locked', retryAfterSeconds: 1 });
    assert.equal((await attempt('third', 'right', '10.0.0.9')).ok, true, 'other addresses are not locked');
  });

  test('requests of suspect client ids or addresses wait in their own lane; clean ones pass them', async () => {
    const { directory, pending, settleAll } = handDirectory();
    const guard = new TokenRequestGuard(directory, { clientFailures: 1000, addressFailures: 1000 });
    // One failure makes `admin` and 10.0.0.66 suspect.
    const first = guard.authenticate('admin', 'wrong', '10.0.0.66');
    await settleAll();
    await first;
    // A flood: 1 suspect check runs, 16 wait, the rest are turned away at once.
    const flood = Array.from({ length: 30 }, () => guard.authenticate('admin', 'wrong', '10.0.0.66'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pending.length, 1, 'one suspect check at a time');
    // A clean request is checked at once, beside the flood.
    const clean = guard.authenticate('reporting', 'right', '10.0.0.7');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      pending.map((p) => p.clientId),
      ['admin', 'reporting'],
    );
    pending.pop()!.settle();
    assert.equal((await clean).ok, true);
    const busy = (await Promise.race([Promise.all(flood.slice(17)), new Promise((resolve) => setTimeout(resolve, 50, 'waiting'))])) as unknown;
    assert.ok(Array.isArray(busy), 'the requests past the queue are answered at once');
    for (const result of busy as { reason: string; retryAfterSeconds: number }[]) assert.deepEqual(result, { ok: false, reason: 'busy', retryAfterSeconds: 1 });
    for (let i = 0; i < 17; i++) await settleAll();
    for (const result of await Promise.all(flood.slice(0, 17))) assert.deepEqual(result, { ok: false, reason: 'wrong_secret' });
  });

  test('requests that waited their turn while the client id was locked are refused unchecked', async () => {
    const { directory, pending, settleAll } = handDirectory();
    let checks = 0;
    const counting = {
      authenticate: (clientId: string, secret: string) => {
        checks++;
        return directory.authenticate(clientId, secret);
      },
    } as unknown as DirectoryService;
    const guard = new TokenRequestGuard(counting, { clientFailures: 2, addressFailures: 1000 });
    const burst = Array.from({ length: 10 }, (_, i) => guard.authenticate('admin', 'wrong', `10.0.1.${i}`));
    while (pending.length > 0 || checks === 0) await settleAll();
    const results = await Promise.all(burst);
    const clean = Math.max(1, Math.floor(availableParallelism() / 2));
    // Those already being checked when the second failure locked the client id finish their check.
    assert.ok(checks >= 2 && checks <= 2 + clean, `${checks} checks`);
    assert.equal(results.filter((r) => !r.ok && r.reason === 'client_locked').length, 10 - checks);
  });

  test('a burst for one client id takes one clean check; the rest wait apart, and other clients pass them', async () => {
    const { directory, pending, settleAll } = handDirectory();
    const guard = new TokenRequestGuard(directory, { clientFailures: 1000, addressFailures: 1000 });
    // Nothing failed yet: only the concurrency marks the burst.
    const burst = Array.from({ length: 8 }, (_, i) => guard.authenticate('admin', 'wrong', `10.0.2.${i}`));
    await new Promise((resolve) => setImmediate(resolve));
    const other = guard.authenticate('reporting', 'right', '10.0.3.1');
    await new Promise((resolve) => setImmediate(resolve));
    // One admin check in the clean lane, one in the suspect lane; `reporting` is checked beside
    // them, or next in the clean lane: behind one check at most, not behind the burst.
    assert.equal(pending.filter((p) => p.clientId === 'admin').length, 2);
    if (!pending.some((p) => p.clientId === 'reporting')) pending.shift()!.settle();
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(
      pending.some((p) => p.clientId === 'reporting'),
      pending.map((p) => p.clientId).join(),
    );
    while (pending.length > 0) await settleAll();
    assert.equal((await other).ok, true);
    for (const result of await Promise.all(burst)) assert.equal(result.ok, false);
  });

  test('turned off, nothing locks', async () => {
    const { directory, settleAll } = handDirectory();
    const guard = new TokenRequestGuard(directory, false);
    for (let i = 0; i < 50; i++) {
      const result = guard.authenticate('admin', 'wrong', '10.0.0.1');
      await settleAll();
      assert.deepEqual(await result, { ok: false, reason: 'wrong_secret' });
    }
  });
});
