/**
 * Behind a proxy (docs/operations.md, "Behind a reverse proxy"): with NELM_TRUST_PROXY, the
 * address a trusted proxy forwards is the client's for the request log, the token throttle and the
 * audit trail, and `X-Forwarded-Proto: https` makes the session cookie `Secure`; from anyone else
 * the headers count for nothing. The request log names the caller and holds no credential.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { logSerializers } from '../../src/http/logging.js';
import { ADMIN, dropSchema, testConfig } from '../helpers/app.js';

const PASSWORD = 'copper-meadow-falcon-77';

interface LogLine {
  msg?: string;
  req?: { remoteAddress?: string };
  res?: { clientId?: string; alias?: string };
}

async function logged(env: NodeJS.ProcessEnv, work: (app: FastifyInstance) => Promise<void>): Promise<LogLine[]> {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = testConfig({ logLevel: 'trace' }, { NELM_PASSWORD_HASH_COST: '10', ...env });
  const app = await buildApp(config, { logger: { level: 'trace', stream, serializers: logSerializers } });
  try {
    await app.ready();
    await work(app);
  } finally {
    await app.close();
    await dropSchema(config);
  }
  return lines
    .join('')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as LogLine);
}

const tokenRequest = (secret: string, remoteAddress: string, forwarded?: string) => ({
  method: 'POST' as const,
  url: '/oauth/token',
  remoteAddress,
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    ...(forwarded ? { 'x-forwarded-for': forwarded } : {}),
  },
  payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: secret }).toString(),
});

/** The addresses the request log gave the requests, in order. */
const addresses = (lines: LogLine[]) => lines.filter((l) => l.msg === 'incoming request').map((l) => l.req?.remoteAddress);

test('a trusted proxy: its X-Forwarded-For is the client, for the log, the throttle and the audit trail', async () => {
  const lines = await logged({ NELM_TRUST_PROXY: '10.0.0.0/8', NELM_AUTH_THROTTLE: '10/2' }, async (app) => {
    assert.equal((await app.inject(tokenRequest('wrong-secret-0000000000', '10.1.2.3', '203.0.113.9'))).statusCode, 401);
    assert.equal((await app.inject(tokenRequest('wrong-secret-0000000000', '10.1.2.3', '203.0.113.9'))).statusCode, 401);
    // The forwarded address is locked, not the proxy's: another client behind it is not.
    assert.equal((await app.inject(tokenRequest(ADMIN.clientSecret, '10.1.2.3', '203.0.113.9'))).statusCode, 429);
    assert.equal((await app.inject(tokenRequest(ADMIN.clientSecret, '10.1.2.3', '203.0.113.10'))).statusCode, 200);
    // Not from the proxy: the header is the client's word and counts for nothing.
    assert.equal((await app.inject(tokenRequest(ADMIN.clientSecret, '192.0.2.7', '203.0.113.9'))).statusCode, 200);
    await app.services.events.settled();
    const refused = await app.db.kysely.selectFrom('events').select('data').where('type', '=', 'auth.token_refused').execute();
    assert.ok(refused.length >= 2);
    for (const { data } of refused) assert.equal(JSON.parse(data).object.address, '203.0.113.9');
  });
  assert.deepEqual(addresses(lines), ['203.0.113.9', '203.0.113.9', '203.0.113.9', '203.0.113.10', '192.0.2.7']);
});

test('a hop count trusts that many proxies nearest the server; off: the connection is the client', async () => {
  const hops = await logged({ NELM_TRUST_PROXY: '1' }, async (app) => {
    await app.inject({ method: 'GET', url: '/health', remoteAddress: '10.9.9.9', headers: { 'x-forwarded-for': '198.51.100.1, 198.51.100.2' } });
  });
  assert.deepEqual(addresses(hops), ['198.51.100.2']);
  const off = await logged({}, async (app) => {
    await app.inject({ method: 'GET', url: '/health', remoteAddress: '10.9.9.9', headers: { 'x-forwarded-for': '198.51.100.1' } });
  });
  assert.deepEqual(addresses(off), ['10.9.9.9']);
});

test('X-Forwarded-Proto https from a trusted proxy makes the session cookie Secure', async () => {
  await logged({ NELM_TRUST_PROXY: 'true' }, async (app) => {
    const admin = (await app.services.directory.identityByAlias('default', 'admin'))!;
    const token = (await app.inject(tokenRequest(ADMIN.clientSecret, '127.0.0.1'))).json().access_token as string;
    const put = await app.inject({
      method: 'PUT',
      url: `/admin/v1/identities/${admin.id}/password`,
      headers: { authorization: `Bearer ${token}` },
      payload: { password: PASSWORD },
    });
    assert.equal(put.statusCode, 204, put.body);
    const signIn = (proto?: string) =>
      app.inject({
        method: 'POST',
        url: '/console/api/session',
        headers: proto ? { 'x-forwarded-proto': proto } : {},
        payload: { username: 'admin', password: PASSWORD },
      });
    const secure = await signIn('https');
    assert.equal(secure.statusCode, 200, secure.body);
    assert.match(String(secure.headers['set-cookie']), /; Secure/);
    const plain = await signIn();
    assert.equal(plain.statusCode, 200);
    assert.doesNotMatch(String(plain.headers['set-cookie']), /Secure/);
  });
});

test('the request log names the caller and holds no credential', async () => {
  let secrets: string[] = [];
  const lines = await logged({ NELM_METRICS_TOKEN: 'metrics-token-0123456789abcdef' }, async (app) => {
    const token = (await app.inject(tokenRequest(ADMIN.clientSecret, '127.0.0.1'))).json().access_token as string;
    const admin = (await app.services.directory.identityByAlias('default', 'admin'))!;
    const put = await app.inject({
      method: 'PUT',
      url: `/admin/v1/identities/${admin.id}/password`,
      headers: { authorization: `Bearer ${token}` },
      payload: { password: PASSWORD },
    });
    assert.equal(put.statusCode, 204);
    const signIn = await app.inject({ method: 'POST', url: '/console/api/session', payload: { username: 'admin', password: PASSWORD } });
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    const csrf = signIn.json().csrfToken as string;
    await app.inject({ method: 'GET', url: '/v2024/non-employee-sources', headers: { authorization: `Bearer ${token}` } });
    await app.inject({ method: 'GET', url: '/v2024/non-employee-sources', headers: { cookie, 'x-csrf-token': csrf } });
    await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789abcdef' } });
    secrets = [ADMIN.clientSecret, token, PASSWORD, cookie.split('=')[1]!, csrf, 'metrics-token-0123456789abcdef'];
  });
  const completed = lines.filter((l) => l.msg === 'request completed' && l.res?.clientId !== undefined);
  assert.ok(
    completed.some((l) => l.res?.clientId === ADMIN.clientId && l.res?.alias === 'admin'),
    'the caller is named',
  );
  const text = lines.map((l) => JSON.stringify(l)).join('\n');
  for (const secret of secrets) assert.ok(!text.includes(secret), `the log holds ${secret.slice(0, 6)}…`);
});
