/**
 * One webhook request (src/modules/webhooks/sender.ts) against a receiver on 127.0.0.1: it
 * connects to the address that was checked (a name only the test's resolver knows), refuses a name
 * that resolves to a non-public address without connecting, follows no redirect, gives up at the
 * timeout, and stops when aborted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resolver } from '../../src/modules/webhooks/address.js';
import { send } from '../../src/modules/webhooks/sender.js';
import { type Receiver, startReceiver } from '../helpers/webhooks.js';

let receiver: Receiver;
let port: number;
const lookups: string[] = [];
/** Resolves `hooks.test` (and nothing else) to 127.0.0.1: the system resolver does not know it. */
const resolve: Resolver = async (host) => {
  lookups.push(host);
  if (host !== 'hooks.test') throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return [{ address: '127.0.0.1', family: 4 }];
};
const options = { allowHttp: true, allowPrivate: true, timeoutMs: 1000, resolve };

before(async () => {
  receiver = await startReceiver((got) => {
    if (got.headers['x-answer'] === 'hang') return 'hang';
    if (got.headers['x-answer'] === 'redirect') return { status: 307, headers: { location: '/elsewhere' } };
    return { status: 202, body: 'accepted' };
  });
  port = Number(new URL(receiver.url).port);
});
after(() => receiver.close());

test('connects to the checked address of a name, looked up once', async () => {
  lookups.length = 0;
  const outcome = await send(`http://hooks.test:${port}/hook?x=1`, { 'webhook-id': 'm1' }, '{"a":1}', options);
  assert.deepEqual([outcome.statusCode, outcome.error, outcome.body, outcome.aborted], [202, null, 'accepted', false]);
  assert.deepEqual(lookups, ['hooks.test']);
  const got = receiver.received.at(-1)!;
  assert.equal(got.body, '{"a":1}');
  assert.equal(got.headers.host, `hooks.test:${port}`);
  assert.equal(got.headers['content-type'], 'application/json');
});

test('a name resolving to a loopback address is refused unless private addresses are allowed: nothing is sent', async () => {
  const before = receiver.received.length;
  const outcome = await send(`http://hooks.test:${port}/hook`, {}, '{}', { ...options, allowPrivate: false });
  assert.equal(outcome.statusCode, null);
  assert.equal(outcome.error, "refused: url's host hooks.test resolves to 127.0.0.1, a loopback address");
  const literal = await send(`http://[::ffff:127.0.0.1]:${port}/hook`, {}, '{}', { ...options, allowPrivate: false });
  assert.equal(literal.error, 'refused: url names ::ffff:7f00:1, an IPv4-mapped loopback address');
  assert.equal(receiver.received.length, before);
});

test('a redirect is an answer, not followed', async () => {
  const before = receiver.received.length;
  const outcome = await send(`http://127.0.0.1:${port}/hook`, { 'x-answer': 'redirect' }, '{}', options);
  assert.equal(outcome.statusCode, 307);
  assert.equal(receiver.received.length, before + 1);
});

test('no answer within the timeout is an error; an abort is not an attempt', async () => {
  const outcome = await send(`http://127.0.0.1:${port}/hook`, { 'x-answer': 'hang' }, '{}', options);
  assert.equal(outcome.error, 'no answer within 1 s');
  assert.ok(outcome.durationMs >= 950 && outcome.durationMs < 3000, String(outcome.durationMs));
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const aborted = await send(`http://127.0.0.1:${port}/hook`, { 'x-answer': 'hang' }, '{}', { ...options, signal: controller.signal });
  assert.equal(aborted.aborted, true);
  const refused = await send('http://127.0.0.1:1/hook', {}, '{}', options);
  assert.match(refused.error!, /ECONNREFUSED/);
});
