/**
 * Webhook deliveries, on the engine DATABASE_URL names, to receivers listening in the test (plain
 * HTTP on 127.0.0.1: NELM_WEBHOOK_ALLOW_HTTP and NELM_WEBHOOK_ALLOW_PRIVATE are on, retries 100 ms
 * apart). Every request is verified with the `standardwebhooks` library.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KeyRing } from '../../src/auth/key-encryption.js';
import { harness, type Harness } from '../helpers/app.js';
import { createSource } from '../helpers/factories.js';
import { type Answer, type Receiver, sleep, startReceiver, until, verify } from '../helpers/webhooks.js';

const HOOKS = '/admin/v1/webhooks';

interface DeliveryJson {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  nextAttemptAt: string | null;
  attempts: { number: number; statusCode: number | null; error: string | null; durationMs: number; response: string | null; time: string }[];
}

describe('webhook deliveries', () => {
  let h: Harness;
  const receivers: Receiver[] = [];
  let sources = 0;

  const receiver = async (answer?: (index: number) => Answer) => {
    const r = await startReceiver(answer && ((_, i) => answer(i)));
    receivers.push(r);
    return r;
  };
  const register = async (url: string, events: string[] = ['source.*']): Promise<{ id: string; secret: string }> => {
    const res = await h.request('POST', HOOKS, h.admin.token, { url, events });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const newSource = () => createSource(h, `Webhook source ${++sources}`, h.admin.identity.id);
  const deliveries = async (id: string): Promise<DeliveryJson[]> => {
    const res = await h.request('GET', `${HOOKS}/${id}/deliveries`, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const webhook = async (id: string) => (await h.request('GET', `${HOOKS}/${id}`, h.admin.token)).json() as { enabled: boolean; disabledReason: string | null };

  before(async () => {
    h = await harness(
      {},
      {
        NELM_WEBHOOK_ALLOW_HTTP: 'true',
        NELM_WEBHOOK_ALLOW_PRIVATE: 'true',
        NELM_WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms',
        NELM_WEBHOOK_TIMEOUT: '3',
      },
    );
  });
  after(async () => {
    await h.close();
    for (const r of receivers) await r.close();
  });

  test('500 twice, then 200: three attempts with the same webhook-id, each verified; the delivery log tells them', async () => {
    const r = await receiver((i) => ({ status: i < 2 ? 500 : 200, body: i < 2 ? 'not yet' : 'ok' }));
    const hook = await register(r.url, ['source.created']);
    const sourceId = await newSource();
    await until('three attempts', () => r.received.length >= 3);
    await sleep(300);
    assert.equal(r.received.length, 3, 'no attempt after the success');
    assert.deepEqual(new Set(r.received.map((x) => x.id)).size, 1, 'one webhook-id');
    for (const got of r.received) {
      const payload = verify(hook.secret, got);
      assert.equal(payload.type, 'source.created');
      assert.equal(got.headers['content-type'], 'application/json');
    }
    const payload = verify(hook.secret, r.received[2]!);
    const data = payload.data as { id: string; actor: { alias: string }; target: { type: string; id: string }; object: { id: string; name: string } };
    assert.equal(data.id, r.received[0]!.id, 'the event id is the webhook-id');
    assert.deepEqual(data.target, { type: 'source', id: sourceId, sourceId });
    assert.equal(data.actor.alias, 'admin');
    assert.equal(data.object.id, sourceId);
    assert.deepEqual(Object.keys(JSON.parse(r.received[0]!.body)), ['type', 'timestamp', 'data']);
    const event = (await h.request('GET', `/admin/v1/audit-events/${data.id}`, h.admin.token)).json() as { time: string; type: string };
    assert.equal(payload.timestamp, event.time);

    const [delivery] = await until('the log', async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === 'SUCCEEDED' && list;
    });
    assert.equal(delivery!.eventId, data.id);
    assert.equal(delivery!.eventType, 'source.created');
    assert.equal(delivery!.nextAttemptAt, null);
    assert.deepEqual(
      delivery!.attempts.map((a) => [a.number, a.statusCode, a.error, a.response]),
      [
        [1, 500, null, 'not yet'],
        [2, 500, null, 'not yet'],
        [3, 200, null, 'ok'],
      ],
    );
    assert.ok(delivery!.attempts.every((a) => a.durationMs >= 0 && a.time <= new Date().toISOString()));
  });

  test('an endpoint that never answers delays no other endpoint', async () => {
    const dead = await receiver(() => 'hang');
    const alive = await receiver();
    const a = await register(dead.url);
    const b = await register(alive.url);
    const started = Date.now();
    await newSource();
    await newSource();
    await until('the live endpoint has both', () => alive.received.length >= 2, 2_500);
    assert.ok(Date.now() - started < 2_500, `delivered in ${Date.now() - started} ms`);
    assert.equal(dead.received.length, 1, 'one request at a time to the dead one');
    for (const got of alive.received) verify(b.secret, got);
    // The dead endpoint's attempt ends at the timeout (3 s) and is retried.
    const [first] = await until(
      'the time-out recorded',
      async () => {
        const list = await deliveries(a.id);
        const oldest = list.at(-1);
        return oldest && oldest.attempts.length > 0 && [oldest];
      },
      8_000,
    );
    assert.match(first!.attempts[0]!.error!, /no answer within 3 s/);
    assert.ok(first!.attempts[0]!.durationMs >= 2_900);
    await h.request('DELETE', `${HOOKS}/${a.id}`, h.admin.token);
  });

  test('events go out in commit order, each after the one before it', async () => {
    const r = await receiver();
    const hook = await register(r.url, ['source.created']);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await newSource());
    await until('eight deliveries', () => r.received.length >= 8);
    const targets = r.received.map((got) => (verify(hook.secret, got).data as { target: { id: string } }).target.id);
    assert.deepEqual(targets, ids);
  });

  test('410 Gone disables the endpoint at once, tells its owner by mail, and writes webhook.updated by the system', async () => {
    const r = await receiver(() => ({ status: 410 }));
    const hook = await register(r.url);
    await newSource();
    await until('disabled', async () => !(await webhook(hook.id)).enabled);
    assert.equal((await webhook(hook.id)).disabledReason, 'the endpoint answered 410 Gone');
    const [delivery] = await deliveries(hook.id);
    assert.equal(delivery!.status, 'FAILED');
    assert.equal(delivery!.attempts.length, 1);
    await newSource();
    await sleep(300);
    assert.equal(r.received.length, 1, 'nothing more is sent');
    const mails = await h.app.db.kysely.selectFrom('notifications').selectAll().where('kind', '=', 'WEBHOOK_DISABLED').execute();
    assert.ok(
      mails.some((m) => m.recipient_id === h.admin.identity.id && m.body.includes(hook.id) && m.body.includes('410 Gone')),
      JSON.stringify(mails),
    );
    const events = (await h.request('GET', `/admin/v1/audit-events?filters=${encodeURIComponent(`targetId eq "${hook.id}"`)}`, h.admin.token)).json() as {
      type: string;
      actor: unknown;
      data: { changes?: Record<string, unknown> };
    }[];
    const disabled = events.find((e) => e.type === 'webhook.updated');
    assert.equal(disabled?.actor, null);
    assert.deepEqual(disabled?.data.changes?.enabled, { old: true, new: false });

    // Enabled again: the deliveries made while it was disabled are not made up, new ones go out.
    r.answer = () => ({ status: 204 });
    const enabled = await h.request('PATCH', `${HOOKS}/${hook.id}`, h.admin.token, { enabled: true });
    assert.equal(enabled.statusCode, 200, enabled.body);
    assert.equal(enabled.json().disabledReason, null);
    await newSource();
    await until('delivered again', () => r.received.length === 2);
  });

  test('failing for 5 days in a row disables the endpoint', async () => {
    const r = await receiver(() => ({ status: 503 }));
    const hook = await register(r.url);
    const sixDaysAgo = new Date(Date.now() - 6 * 24 * 3600 * 1000).toISOString();
    await h.app.db.kysely.updateTable('webhooks').set({ failing_since: sixDaysAgo }).where('id', '=', hook.id).execute();
    await newSource();
    await until('disabled', async () => !(await webhook(hook.id)).enabled);
    assert.match((await webhook(hook.id)).disabledReason!, /^every attempt failed for 5 days/);
    const [delivery] = await deliveries(hook.id);
    assert.equal(delivery!.status, 'RETRYING', 'its delivery waits, to go out once it is enabled again');
  });

  test('a success forgets the failures before it', async () => {
    const r = await receiver((i) => ({ status: i === 0 ? 500 : 200 }));
    const hook = await register(r.url);
    await h.app.db.kysely
      .updateTable('webhooks')
      .set({ failing_since: new Date(Date.now() - 4 * 24 * 3600 * 1000).toISOString() })
      .where('id', '=', hook.id)
      .execute();
    await newSource();
    await until('the success', () => r.received.length >= 2);
    await until('recorded', async () => (await deliveries(hook.id))[0]?.status === 'SUCCEEDED');
    // The endpoint is released, its failures forgotten, once its attempts are recorded.
    const endpoint = () => h.app.db.kysely.selectFrom('webhooks').select(['failing_since', 'enabled']).where('id', '=', hook.id).executeTakeFirstOrThrow();
    await until('forgotten', async () => (await endpoint()).failing_since === null);
    assert.equal(Number((await endpoint()).enabled), 1);
  });

  test('retention: finished deliveries older than NELM_WEBHOOK_RETENTION_DAYS go with their attempts; newer and unfinished ones stay', async () => {
    assert.equal(h.config.webhooks.retentionDays, 30, 'the default');
    const ok = await receiver(() => ({ status: 200 }));
    const hook = await register(ok.url);
    for (let i = 0; i < 3; i++) await newSource();
    await until('delivered', async () => (await deliveries(hook.id)).filter((d) => d.status === 'SUCCEEDED').length === 3);
    const [recent, unfinished, old] = await deliveries(hook.id);
    const longAgo = new Date(Date.now() - 31 * 24 * 3600 * 1000).toISOString();
    const nextYear = new Date(Date.now() + 365 * 24 * 3600 * 1000).toISOString();
    const set = (id: string, changes: { last_attempt_at: string; status?: 'RETRYING'; next_attempt_at?: string }) =>
      h.app.db.kysely.updateTable('webhook_deliveries').set(changes).where('id', '=', id).execute();
    await set(old!.id, { last_attempt_at: longAgo });
    await set(unfinished!.id, { last_attempt_at: longAgo, status: 'RETRYING', next_attempt_at: nextYear });
    while (await h.app.services.webhookDeliveries.prune()) {
      // until a batch is not full
    }
    assert.deepEqual(
      (await deliveries(hook.id)).map((d) => d.id),
      [recent!.id, unfinished!.id],
      'the old finished one is gone; one still to be retried stays, whatever its age',
    );
    const attempts = await h.app.db.kysely.selectFrom('webhook_attempts').select('delivery_id').where('delivery_id', '=', old!.id).execute();
    assert.equal(attempts.length, 0, 'its attempts went with it');
  });

  test('a delivery out of retries is FAILED; retried by hand it goes out again with the same webhook-id', async () => {
    const r = await receiver(() => ({ status: 500 }));
    const hook = await register(r.url);
    await newSource();
    const [failed] = await until('failed', async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === 'FAILED' && list;
    });
    assert.equal(failed!.attempts.length, 4, 'the first attempt and three retries');
    assert.equal(r.received.length, 4);
    r.answer = () => ({ status: 200 });
    const retried = await h.request('POST', `${HOOKS}/${hook.id}/deliveries/${failed!.id}/retry`, h.admin.token);
    assert.equal(retried.statusCode, 200, retried.body);
    assert.equal(retried.json().status, 'PENDING');
    await until('sent again', () => r.received.length === 5);
    assert.equal(r.received[4]!.id, r.received[0]!.id);
    verify(hook.secret, r.received[4]!);
    await until('succeeded', async () => (await deliveries(hook.id))[0]?.status === 'SUCCEEDED');
  });

  test('rotate-secret: for 24 hours every delivery is signed with the new secret and the old one', async () => {
    const r = await receiver();
    const hook = await register(r.url);
    const rotated = await h.request('POST', `${HOOKS}/${hook.id}/rotate-secret`, h.admin.token);
    assert.equal(rotated.statusCode, 200, rotated.body);
    const secret = rotated.json().secret as string;
    await newSource();
    await until('delivered', () => r.received.length === 1);
    const [got] = r.received;
    assert.equal(got!.signature.split(' ').length, 2);
    assert.ok(got!.signature.split(' ').every((s) => s.startsWith('v1,')));
    verify(secret, got!);
    verify(hook.secret, got!);
    assert.throws(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, got!));
    // Past the 24 hours, the old secret no longer signs.
    await h.app.db.kysely
      .updateTable('webhooks')
      .set({ previous_secret_until: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', hook.id)
      .execute();
    await newSource();
    await until('delivered', () => r.received.length === 2);
    assert.equal(r.received[1]!.signature.split(' ').length, 1);
    verify(secret, r.received[1]!);
    assert.throws(() => verify(hook.secret, r.received[1]!));
  });

  test('test sends a verified webhook.test message, not an event of the log', async () => {
    const r = await receiver();
    const hook = await register(r.url, ['record.*']);
    const res = await h.request('POST', `${HOOKS}/${hook.id}/test`, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    const delivery = res.json() as DeliveryJson;
    assert.equal(delivery.eventType, 'webhook.test');
    await until('delivered', () => r.received.length === 1);
    const payload = verify(hook.secret, r.received[0]!);
    assert.equal(payload.type, 'webhook.test');
    assert.equal((payload.data as { object: { id: string } }).object.id, hook.id);
    assert.equal(r.received[0]!.id, delivery.eventId);
    assert.equal((await h.request('GET', `/admin/v1/audit-events/${delivery.eventId}`, h.admin.token)).statusCode, 404);
  });

  test('a redirect is not followed: a 3xx is a failed attempt', async () => {
    const target = await receiver();
    const r = await receiver(() => ({ status: 302, headers: { location: target.url } }));
    const hook = await register(r.url);
    await newSource();
    const [delivery] = await until('four attempts', async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === 'FAILED' && list;
    });
    assert.deepEqual(
      delivery!.attempts.map((a) => a.statusCode),
      [302, 302, 302, 302],
    );
    assert.equal(target.received.length, 0);
  });

  test('response bodies are kept to their first KiB', async () => {
    const r = await receiver(() => ({ status: 200, body: 'x'.repeat(100_000) }));
    const hook = await register(r.url);
    await newSource();
    const [delivery] = await until('delivered', async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === 'SUCCEEDED' && list;
    });
    assert.equal(delivery!.attempts[0]!.response!.length, 1024);
  });

  test('a secret sealed under a key-encryption key the server lacks: attempts fail saying so, until the secret is rotated', async () => {
    const r = await receiver();
    const hook = await register(r.url);
    const elsewhere = new KeyRing(randomBytes(32), undefined).seal(hook.secret, `webhook:${h.config.tenant}:${hook.id}`);
    await h.app.db.kysely.updateTable('webhooks').set({ secret: elsewhere }).where('id', '=', hook.id).execute();
    await newSource();
    const [delivery] = await until('the failed attempt', async () => {
      const list = await deliveries(hook.id);
      return list[0]?.status === 'RETRYING' && list;
    });
    assert.match(
      delivery!.attempts[0]!.error!,
      /^the endpoint's secret cannot be decrypted \(sealed under key-encryption key [0-9a-f]{16}, which this server was not given\): rotate its secret$/,
    );
    assert.equal(r.received.length, 0);
    const rotated = await h.request('POST', `${HOOKS}/${hook.id}/rotate-secret`, h.admin.token);
    assert.equal(rotated.statusCode, 200, rotated.body);
    await until('delivered with the new secret', () => r.received.length === 1);
    verify(rotated.json().secret, r.received[0]!);
    assert.equal(r.received[0]!.signature.split(' ').length, 1, 'the old secret cannot sign');
  });
});
