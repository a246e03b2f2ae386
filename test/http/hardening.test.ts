/**
 * Callers who try to slow the server down: bodies sized to each route, nesting bounded before
 * parsing, authentication before any body is read, the token endpoint's locks per client id and
 * per address (429 with Retry-After, a log line per refusal), failed API authentications locking
 * an address, and unknown client ids answered after the same work as wrong secrets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { buildApp } from '../../src/app.js';
import { logSerializers } from '../../src/http/logging.js';
import { BODY_LIMITS } from '../../src/http/operation.js';
import { TOKEN_BODY_LIMIT } from '../../src/modules/oauth/routes.js';
import { ADMIN, dropSchema, errorOf, harness, testConfig, type Harness } from '../helpers/app.js';
import { addAttribute, createSource } from '../helpers/factories.js';

const JSON_TYPE = { 'content-type': 'application/json' };
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (clientId: string, secret: string) =>
  new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString();
/** Every character of `text` as a JSON `\u` escape of four hex digits (`\u0061`): the longest way to write it. */
const escaped = (text: string) => [...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

describe('body limits and nesting', () => {
  let h: Harness;
  let sourceId: string;
  let attributes: string[];
  before(async () => {
    h = await harness();
    sourceId = await createSource(h, 'Hardening', h.admin.identity.id);
    attributes = [];
    for (let i = 0; i < 10; i++) attributes.push(await addAttribute(h, sourceId, `attr${i}`).then(() => `attr${i}`));
  });
  after(() => h.close());

  test('the largest valid record body, every character escaped, is read; one past the limit is a 400 before parsing', async () => {
    const long = (n: number, c: string) => c.repeat(n);
    const fields: Record<string, string> = {
      accountName: escaped(long(255, 'a')),
      firstName: escaped(long(255, 'b')),
      lastName: escaped(long(255, 'c')),
      phone: escaped(long(255, '5')),
      manager: escaped('admin'),
      email: escaped(`${long(64, 'e')}@${long(63, 'x')}.${long(63, 'y')}.${long(50, 'z')}.com`),
    };
    const data = attributes.map((name) => `"${name}":"${escaped(long(1024, 'x'))}"`).join(',');
    const text = `{${Object.entries(fields)
      .map(([k, v]) => `"${k}":"${v}"`)
      .join(',')},"sourceId":"${sourceId}","startDate":"2020-03-24T00:00:00-05:00","endDate":"2021-03-25T00:00:00-05:00","data":{${data}}}`;
    assert.ok(text.length > BODY_LIMITS.standard && text.length < BODY_LIMITS.large, `${text.length} bytes`);
    const created = await h.request('POST', '/v2024/non-employee-records', h.admin.token, text, JSON_TYPE);
    assert.equal(created.statusCode, 200, created.body);
    assert.equal(created.json().data.attr9, long(1024, 'x'));

    const past = `{"accountName":"${'a'.repeat(BODY_LIMITS.large)}"}`;
    const refused = await h.request('POST', '/v2024/non-employee-records', h.admin.token, past, JSON_TYPE);
    assert.equal(refused.statusCode, 400);
    assert.deepEqual(
      errorOf(refused).causes.map((c) => c.text),
      ['body is larger than this server accepts'],
    );
  });

  test('each route reads as much as its largest valid body: sources 32 KiB, bulk delete 128 KiB, bodiless routes 1 KiB', async () => {
    const source = `{"name":"S","owner":{"id":"${h.admin.identity.id}"},"description":"${'d'.repeat(BODY_LIMITS.standard)}"}`;
    const tooBig = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, source, JSON_TYPE);
    assert.equal(tooBig.statusCode, 400);
    assert.match(errorOf(tooBig).causes[0]!.text, /larger than/);

    const ids = Array.from({ length: 1000 }, () => crypto.randomUUID());
    const pretty = JSON.stringify({ ids }, null, 4);
    assert.ok(pretty.length > BODY_LIMITS.standard);
    const deleted = await h.request('POST', '/v2024/non-employee-records/bulk-delete', h.admin.token, pretty, JSON_TYPE);
    // Read and parsed: the ids are judged (they name no records), not the body's size.
    assert.equal(deleted.statusCode, 400);
    assert.equal(errorOf(deleted).causes[0]!.text, `ids[0] ${ids[0]} does not name a non-employee record`);

    const other = await createSource(h, 'Deleted', h.admin.identity.id);
    const remove = (body: string) => h.request('DELETE', `/v2024/non-employee-sources/${other}`, h.admin.token, body, JSON_TYPE);
    const padded = await remove(`{"x":"${'y'.repeat(BODY_LIMITS.none)}"}`);
    assert.equal(padded.statusCode, 400);
    assert.match(errorOf(padded).causes[0]!.text, /larger than/);
    assert.equal((await remove('')).statusCode, 204);
  });

  test('JSON nested deeper than 64 levels is refused before it is parsed; a JSON Patch value at its own limit is not', async () => {
    for (const deep of ['['.repeat(60_000) + ']'.repeat(60_000), `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`, '['.repeat(65) + ']'.repeat(65)]) {
      const res = await h.request('POST', '/v2024/non-employee-records', h.admin.token, deep, JSON_TYPE);
      assert.equal(res.statusCode, 400);
      assert.deepEqual(
        errorOf(res).causes.map((c) => c.text),
        ['body is nested deeper than 64 levels'],
      );
    }
    // Brackets inside strings are text, not nesting.
    const inText = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, {
      name: '['.repeat(100),
      description: '{{{',
      owner: { id: h.admin.identity.id },
    });
    assert.equal(inText.statusCode, 200, inText.body);
    const value = JSON.parse('['.repeat(40) + ']'.repeat(40));
    const patch = await h.request(
      'PATCH',
      `/v2024/non-employee-sources/${sourceId}`,
      h.admin.token,
      JSON.stringify([{ op: 'replace', path: '/description', value }]),
      {
        'content-type': 'application/json-patch+json',
      },
    );
    assert.equal(patch.statusCode, 400);
    assert.match(errorOf(patch).causes[0]!.text, /nested deeper than 32 levels/, 'the patch limit speaks, not the body scan');
  });

  test('authentication comes before the body: no token → 401 for any body, too large or too deep', async () => {
    for (const body of ['['.repeat(100_000), 'x'.repeat(BODY_LIMITS.large + 1), '{not json']) {
      const res = await h.request('POST', '/v2024/non-employee-records', undefined, body, JSON_TYPE);
      assert.equal(res.statusCode, 401, body.slice(0, 10));
      assert.ok(res.json().error);
    }
  });

  test('the token endpoint reads at most 8 KiB, whatever the media type, and answers a valid request', async () => {
    const big = `${form(ADMIN.clientId, ADMIN.clientSecret)}&${'k=v&'.repeat(TOKEN_BODY_LIMIT / 4)}`;
    const urlencoded = await h.app.inject({ method: 'POST', url: '/oauth/token', headers: FORM_TYPE, payload: big });
    assert.equal(urlencoded.statusCode, 400);
    assert.match(errorOf(urlencoded).causes[0]!.text, /larger than/);
    const multipart = await h.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'multipart/form-data; boundary=XX' },
      payload: `--XX\r\nContent-Disposition: form-data; name="junk"\r\n\r\n${'j'.repeat(TOKEN_BODY_LIMIT)}\r\n--XX--\r\n`,
    });
    assert.equal(multipart.statusCode, 400);
    assert.match(errorOf(multipart).causes[0]!.text, /larger than/);
    const ok = await h.app.inject({ method: 'POST', url: '/oauth/token', headers: FORM_TYPE, payload: form(ADMIN.clientId, ADMIN.clientSecret) });
    assert.equal(ok.statusCode, 200, ok.body);
  });
});

describe('the token endpoint locks client ids and addresses', () => {
  const lines: string[] = [];
  const config = testConfig({}, { NELM_AUTH_THROTTLE: '3/6' });
  let app: Awaited<ReturnType<typeof buildApp>>;
  before(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    app = await buildApp(config, { logger: { level: 'warn', stream, serializers: logSerializers } });
  });
  after(async () => {
    await app.close();
    await dropSchema(config);
  });
  const token = (clientId: string, secret: string, remoteAddress: string) =>
    app.inject({ method: 'POST', url: '/oauth/token', headers: FORM_TYPE, payload: form(clientId, secret), remoteAddress } as InjectOptions);

  test('3 wrong secrets lock the client id: 429 temporarily_unavailable with Retry-After, even for the right secret; then it passes', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await token(ADMIN.clientId, `wrong-${i}`, `10.1.0.${i}`);
      assert.equal(res.statusCode, 401);
      assert.deepEqual(res.json(), { error: 'invalid_client', error_description: 'Bad credentials' });
    }
    const locked = await token(ADMIN.clientId, ADMIN.clientSecret, '10.1.0.9');
    assert.equal(locked.statusCode, 429);
    assert.equal(locked.headers['retry-after'], '1');
    assert.equal(locked.json().error, 'temporarily_unavailable');
    assert.match(locked.json().error_description, /too many failed token requests for this client; retry after 1 s/);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const passed = await token(ADMIN.clientId, ADMIN.clientSecret, '10.1.0.9');
    assert.equal(passed.statusCode, 200, passed.body);
  });

  test('6 failures from one address lock it for every client id; other addresses go on', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await token(`nobody-${i}`, 'guess', '10.2.0.1')).statusCode, 401);
    const locked = await token(ADMIN.clientId, ADMIN.clientSecret, '10.2.0.1');
    assert.equal(locked.statusCode, 429);
    assert.match(locked.json().error_description, /from this address/);
    assert.equal((await token(ADMIN.clientId, ADMIN.clientSecret, '10.2.0.2')).statusCode, 200);
  });

  test('each refusal is logged with the client id, the address and the reason, never the secret', () => {
    const refusals = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'token request refused');
    const seen = refusals.map((entry) => `${entry.clientId} ${entry.address} ${entry.reason}`);
    assert.ok(seen.includes(`${ADMIN.clientId} 10.1.0.0 wrong_secret`), seen.join('\n'));
    assert.ok(seen.includes('nobody-0 10.2.0.1 unknown_client'));
    assert.ok(seen.includes(`${ADMIN.clientId} 10.1.0.9 client_locked`));
    assert.ok(seen.includes(`${ADMIN.clientId} 10.2.0.1 address_locked`));
    const log = lines.join('');
    for (const secret of [ADMIN.clientSecret, 'wrong-0', 'guess']) assert.ok(!log.includes(secret), secret);
  });

  test('failed API authentications lock the address: 429 with Retry-After; tokens already verified there keep working', async () => {
    const issued = await token(ADMIN.clientId, ADMIN.clientSecret, '10.3.0.1');
    const good = issued.json().access_token as string;
    const get = (authorization: string | undefined, remoteAddress: string) =>
      app.inject({ method: 'GET', url: '/v2024/non-employee-sources', headers: authorization ? { authorization } : {}, remoteAddress } as InjectOptions);
    assert.equal((await get(`Bearer ${good}`, '10.3.0.1')).statusCode, 200);
    for (let i = 0; i < 3; i++) assert.equal((await get(`Bearer ${good}x${i}`, '10.3.0.1')).statusCode, 401);
    for (let i = 0; i < 3; i++) assert.equal((await get(undefined, '10.3.0.1')).statusCode, 401);
    const locked = await get('Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln', '10.3.0.1');
    assert.equal(locked.statusCode, 429);
    assert.equal(locked.headers['retry-after'], '1');
    assert.deepEqual(locked.json(), { message: ' Rate Limit Exceeded ' });
    assert.equal((await get(`Bearer ${good}`, '10.3.0.1')).statusCode, 200, 'a token verified before still works');
    assert.equal((await get('Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln', '10.3.0.2')).statusCode, 401, 'another address is not locked');
  });
});

test('behind a trusted proxy, X-Forwarded-For names the address that is locked', async () => {
  const config = testConfig({}, { NELM_AUTH_THROTTLE: '100/2', NELM_TRUST_PROXY: '127.0.0.1' });
  const app = await buildApp(config, { logger: false });
  try {
    const token = (forwardedFor: string, secret: string) =>
      app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM_TYPE, 'x-forwarded-for': forwardedFor }, payload: form(ADMIN.clientId, secret) });
    for (let i = 0; i < 2; i++) assert.equal((await token('203.0.113.5', 'wrong')).statusCode, 401);
    assert.equal((await token('203.0.113.5', ADMIN.clientSecret)).statusCode, 429);
    assert.equal((await token('203.0.113.6', ADMIN.clientSecret)).statusCode, 200, 'the proxy itself is not locked');
  } finally {
    await app.close();
    await dropSchema(config);
  }
});

test('an unknown client id is answered after the same work as a wrong secret (no timing oracle)', async () => {
  // The default scrypt cost, where the difference was ~150 ms against ~5 ms.
  const config = testConfig({}, { NELM_SECRET_HASH_COST: '15' });
  const app = await buildApp(config, { logger: false });
  try {
    const time = async (clientId: string) => {
      const started = process.hrtime.bigint();
      const res = await app.inject({ method: 'POST', url: '/oauth/token', headers: FORM_TYPE, payload: form(clientId, 'not-the-secret') });
      assert.equal(res.statusCode, 401);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    // The admin client's secret is hashed at start at the configured cost; warm both paths.
    await time(ADMIN.clientId);
    await time('nobody');
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time(ADMIN.clientId));
      unknown.push(await time(`nobody-${i}`));
    }
    // Without the equal work the ratio is about 1/30; within 3x either way, a busy machine's noise.
    const ratio = median(unknown) / median(known);
    assert.ok(ratio > 1 / 3 && ratio < 3, `unknown ${median(unknown).toFixed(1)} ms, wrong secret ${median(known).toFixed(1)} ms`);
  } finally {
    await app.close();
    await dropSchema(config);
  }
});
