/**
 * Real time, no clock moved: a record created to end a few seconds later expires, and its
 * `record.expired` reaches a webhook receiver within 60 seconds of the end date (the sweep looks
 * every 10 s). Takes about 15 seconds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Harness, harness } from '../helpers/app.js';
import { createSource, recordBody } from '../helpers/factories.js';
import { type Receiver, startReceiver, until, verify } from '../helpers/webhooks.js';

let h: Harness;
let receiver: Receiver;

before(async () => {
  h = await harness({}, { NELM_WEBHOOK_ALLOW_HTTP: 'true', NELM_WEBHOOK_ALLOW_PRIVATE: 'true' });
  receiver = await startReceiver();
});
after(async () => {
  await h.close();
  await receiver.close();
});

test('a record ending 5 s after its creation: record.expired delivered to a webhook within 60 s of the end date', { timeout: 180_000 }, async () => {
  await h.caller('jane.doe');
  const sourceId = await createSource(h, 'Real time', h.admin.identity.id);
  const hook = await h.request('POST', '/admin/v1/webhooks', h.admin.token, { url: receiver.url, events: ['record.expired'] });
  assert.equal(hook.statusCode, 200, hook.body);
  const { secret } = hook.json() as { secret: string };
  const end = new Date(Math.ceil((Date.now() + 5_000) / 1000) * 1000);
  const res = await h.request(
    'POST',
    '/v2024/non-employee-records',
    h.admin.token,
    recordBody(sourceId, 'realtime', { startDate: '2026-01-01', endDate: end.toISOString() }),
  );
  assert.equal(res.statusCode, 200, res.body);
  const id = res.json().id as string;
  const got = await until('record.expired delivered', () => receiver.received.find((r) => r.body.includes(id)), 90_000);
  const payload = verify(secret, got);
  assert.equal(payload.type, 'record.expired');
  const lag = got.at - end.getTime();
  assert.ok(lag >= 0, `not before the end date (${lag} ms)`);
  assert.ok(lag < 60_000, `delivered ${lag} ms after the end date`);
  assert.equal(receiver.received.filter((r) => r.body.includes(id)).length, 1, 'once');
});
