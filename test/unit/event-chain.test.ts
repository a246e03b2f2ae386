/**
 * The event log's hash chain, on the engine DATABASE_URL names: appends in the caller's
 * transaction, hashes anyone can recompute from the documented canonical form, `verify` naming
 * the first event that does not match (data changed, a hash changed, an event deleted), and
 * `prune` keeping the rest verifiable from its checkpoint.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { transaction } from '../../src/db/dialect.js';
import { changesOf, type EventInput, GENESIS_HASH } from '../../src/modules/events/model.js';
import { filterTime } from '../../src/modules/events/collection.js';
import type { EventLog } from '../../src/modules/events/service.js';
import { harness, type Harness } from '../helpers/app.js';

const TENANT = 'chain-test';
const ACTOR = { id: '0123456789abcdef0123456789abcdef', alias: 'jane.doe' };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function input(n: number): EventInput {
  return {
    type: 'source.updated',
    actor: n % 3 === 0 ? null : ACTOR,
    target: { type: 'source', id: `s${n}`, sourceId: `s${n}` },
    data: { object: { n, name: `Ω "${n}"` } },
  };
}

describe('the event chain', () => {
  let h: Harness;
  let events: EventLog;
  const db = () => h.app.db.kysely;
  const rows = () => db().selectFrom('events').selectAll().where('tenant_id', '=', TENANT).orderBy('seq').execute();
  const append = (inputs: EventInput[]) => transaction(db(), (trx) => events.append(trx, TENANT, inputs));

  before(async () => {
    h = await harness();
    events = h.app.services.events;
  });
  after(async () => h.close());
  beforeEach(async () => {
    await db().deleteFrom('events').where('tenant_id', '=', TENANT).execute();
    await db().deleteFrom('event_chains').where('tenant_id', '=', TENANT).execute();
  });

  test('events take the next seq, chain to the one before, and hash as docs/events.md says', async () => {
    await append([input(1), input(2)]);
    await append([input(3)]);
    const stored = await rows();
    assert.deepEqual(
      stored.map((r) => Number(r.seq)),
      [1, 2, 3],
    );
    let prev = GENESIS_HASH;
    for (const r of stored) {
      assert.equal(r.prev_hash, prev);
      // Recomputed by hand: the JSON array of the stored values, after the previous hash.
      const canonical = JSON.stringify([
        r.tenant_id,
        Number(r.seq),
        r.id,
        r.type,
        r.time,
        r.actor_id,
        r.actor_alias,
        r.target_type,
        r.target_id,
        r.source_id,
        r.data,
      ]);
      assert.equal(
        r.hash,
        createHash('sha256')
          .update(prev + canonical)
          .digest('hex'),
      );
      prev = r.hash;
    }
    assert.deepEqual(JSON.parse(stored[0]!.data), { object: { n: 1, name: 'Ω "1"' } });
    assert.equal(stored[2]!.actor_id, null, 'the system acts with no actor');
    assert.deepEqual(await events.verify(TENANT), { ok: true, count: 3, headSeq: 3, headHash: prev });
  });

  test('events of a transaction that rolls back are not written, and the chain goes on from its head', async () => {
    await append([input(1)]);
    await assert.rejects(
      transaction(db(), async (trx) => {
        await events.append(trx, TENANT, [input(2)]);
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    assert.equal((await rows()).length, 1);
    await append([input(3)]);
    assert.deepEqual(
      (await rows()).map((r) => [Number(r.seq), r.target_id]),
      [
        [1, 's1'],
        [2, 's3'],
      ],
    );
    assert.equal((await events.verify(TENANT)).ok, true);
  });

  test('an empty log verifies', async () => {
    assert.deepEqual(await events.verify(TENANT), { ok: true, count: 0, headSeq: 0, headHash: GENESIS_HASH });
  });

  describe('verify names the first event that does not match', () => {
    beforeEach(async () => append([1, 2, 3, 4, 5].map(input)));
    const event = async (seq: number) => (await rows()).find((r) => Number(r.seq) === seq)!;
    const edit = (set: Record<string, string>, seq: number) =>
      db().updateTable('events').set(set).where('tenant_id', '=', TENANT).where('seq', '=', seq).execute();

    test('its data changed', async () => {
      await edit({ data: '{"object":{"n":3,"name":"forged"}}' }, 3);
      assert.deepEqual(await events.verify(TENANT), { ok: false, count: 2, seq: 3, id: (await event(3)).id, reason: 'its hash does not match its contents' });
    });

    test('its actor changed', async () => {
      await sql`update events set actor_alias = 'someone.else' where tenant_id = ${TENANT} and seq = 2`.execute(db());
      const result = await events.verify(TENANT);
      assert.equal(!result.ok && result.seq, 2);
    });

    test('its hash changed', async () => {
      await edit({ hash: 'f'.repeat(64) }, 2);
      const result = await events.verify(TENANT);
      assert.deepEqual(result, { ok: false, count: 1, seq: 2, id: (await event(2)).id, reason: 'its hash does not match its contents' });
    });

    test('an event in the middle deleted', async () => {
      await db().deleteFrom('events').where('tenant_id', '=', TENANT).where('seq', '=', 3).execute();
      assert.deepEqual(await events.verify(TENANT), { ok: false, count: 2, seq: 4, id: (await event(4)).id, reason: 'events 3 to 3 are missing' });
    });

    test('the last event deleted', async () => {
      await db().deleteFrom('events').where('tenant_id', '=', TENANT).where('seq', '=', 5).execute();
      assert.deepEqual(await events.verify(TENANT), {
        ok: false,
        count: 4,
        seq: 5,
        id: null,
        reason: "events 5 to 5 are missing: the chain's head is event 5",
      });
    });
  });

  test('prune deletes the events before a time, and the rest verifies from the checkpoint', async () => {
    await append([input(1), input(2)]);
    await append([input(3)]);
    await pause(5);
    const cut = new Date().toISOString();
    await pause(5);
    await append([input(4), input(5)]);
    const third = (await rows())[2]!;

    assert.equal(await events.prune(TENANT, cut), 3);
    assert.deepEqual(
      (await rows()).map((r) => Number(r.seq)),
      [4, 5],
    );
    const chain = await db().selectFrom('event_chains').selectAll().where('tenant_id', '=', TENANT).executeTakeFirstOrThrow();
    assert.deepEqual([Number(chain.checkpoint_seq), chain.checkpoint_hash], [3, third.hash]);
    assert.equal(await events.prune(TENANT, cut), 0, 'nothing older is left');

    await append([input(6)]);
    const verified = await events.verify(TENANT);
    assert.equal(verified.ok && verified.count, 3);

    // Tampering after a prune is still found; so is the first kept event deleted.
    await db().deleteFrom('events').where('tenant_id', '=', TENANT).where('seq', '=', 4).execute();
    const broken = await events.verify(TENANT);
    assert.equal(!broken.ok && broken.reason, 'events 4 to 4 are missing');

    // Pruning everything leaves an empty chain that verifies, and goes on.
    await events.prune(TENANT, new Date(Date.now() + 1000).toISOString());
    assert.deepEqual((await rows()).length, 0);
    await append([input(7)]);
    const last = await events.verify(TENANT);
    assert.equal(last.ok && last.count, 1);
  });

  test('parallel transactions that append take their turns: the chain stays whole', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => append([input(i), input(i + 100)])));
    const verified = await events.verify(TENANT);
    assert.deepEqual(verified.ok && [verified.count, verified.headSeq], [40, 40]);
  });

  test('a batch larger than one INSERT statement is one stretch of the chain', async () => {
    await append(Array.from({ length: 1203 }, (_, i) => input(i)));
    const verified = await events.verify(TENANT);
    assert.deepEqual(verified.ok && [verified.count, verified.headSeq], [1203, 1203]);
  });

  test('events queued while the writer is held: a read waits at most a second for them, settled() for those queued before it', async () => {
    const before = (await rows()).length;
    // A transaction that holds the writer (SQLite) and the tenant's chain (PostgreSQL) for 3 s.
    const held = transaction(db(), async (trx) => {
      await events.append(trx, TENANT, [input(1)]);
      await pause(3000);
    });
    await pause(50);
    await events.recordSoon(TENANT, input(2));
    let started = performance.now();
    await events.list(TENANT, { limit: 10, offset: 0, count: false });
    const read = performance.now() - started;
    assert.ok(read >= 900 && read < 2500, `a read waited ${read.toFixed(0)} ms`);
    started = performance.now();
    const first = events.settled();
    // Later events do not hold back a settled() asked for before them.
    let more = true;
    const keepQueueing = (async () => {
      while (more) {
        await events.recordSoon(TENANT, input(3));
        await pause(5);
      }
    })();
    await first;
    more = false;
    await keepQueueing;
    await held;
    await events.settled();
    const after = await rows();
    assert.ok(after.length >= before + 3, 'the held event, the queued one and the later ones are written');
    assert.deepEqual(await events.verify(TENANT), { ok: true, count: after.length, headSeq: Number(after.at(-1)!.seq), headHash: after.at(-1)!.hash });
  });
});

test('changesOf lists the fields that differ, with both values', () => {
  const before = { name: 'a', description: 'x', approvers: [{ id: '1' }] };
  const after = { name: 'b', description: 'x', approvers: [{ id: '1' }, { id: '2' }] };
  assert.deepEqual(changesOf(before, after, ['name', 'description', 'approvers']), {
    name: { old: 'a', new: 'b' },
    approvers: { old: [{ id: '1' }], new: [{ id: '1' }, { id: '2' }] },
  });
});

test('filter times: ISO dates and date-times, in UTC unless they have an offset', () => {
  assert.equal(filterTime('2026-12-01'), '2026-12-01T00:00:00.000Z');
  assert.equal(filterTime('2026-12-01T10:00'), '2026-12-01T10:00:00.000Z');
  assert.equal(filterTime('2026-12-01T10:00:00.5+01:00'), '2026-12-01T09:00:00.500Z');
  assert.throws(() => filterTime('yesterday'), /not an ISO 8601 date/);
  assert.throws(() => filterTime('2026-13-45'), /not an ISO 8601 date/);
});
