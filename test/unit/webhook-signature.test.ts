/**
 * Webhook secrets and signatures (src/modules/webhooks/signature.ts) against the Standard Webhooks
 * reference library: it signs alike, and verifies what the server signs, with either secret while
 * both sign.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { newSecret, SECRET_PREFIX, sign, signatureHeader } from '../../src/modules/webhooks/signature.js';

test('a secret is whsec_ and the base64 of 32 random bytes', () => {
  const a = newSecret();
  assert.ok(a.startsWith(SECRET_PREFIX));
  assert.equal(Buffer.from(a.slice(SECRET_PREFIX.length), 'base64').length, 32);
  assert.notEqual(a, newSecret());
});

test('the signature is v1, and the base64 HMAC-SHA256 of id.timestamp.body under the secret bytes', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = 1614265330;
  const body = '{"test": 2432232314}';
  // The example of the Standard Webhooks specification.
  assert.equal(sign(secret, id, timestamp, body), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  const byHand = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
    .update(`${id}.${timestamp}.${body}`)
    .digest('base64');
  assert.equal(sign(secret, id, timestamp, body), `v1,${byHand}`);
  assert.equal(sign(secret, id, timestamp, body), new Webhook(secret).sign(id, new Date(timestamp * 1000), body));
});

test('standardwebhooks verifies the header with each secret that signs', () => {
  const current = newSecret();
  const previous = newSecret();
  const body = JSON.stringify({ type: 'record.created', timestamp: new Date().toISOString(), data: { id: 'e1', object: { name: 'Ada' } } });
  const timestamp = Math.floor(Date.now() / 1000);
  const header = signatureHeader([current, previous], 'e1', timestamp, body);
  assert.equal(header.split(' ').length, 2);
  const headers = { 'webhook-id': 'e1', 'webhook-timestamp': String(timestamp), 'webhook-signature': header };
  assert.deepEqual(new Webhook(current).verify(body, headers), JSON.parse(body));
  assert.deepEqual(new Webhook(previous).verify(body, headers), JSON.parse(body));
  assert.throws(() => new Webhook(newSecret()).verify(body, headers));
  assert.throws(() => new Webhook(current).verify(`${body} `, headers), 'a changed body does not verify');
});
