/**
 * Hostile callers against a listening server, each connection from its own loopback address,
 * while a legitimate client goes on: oversize and deeply nested bodies are refused before they
 * are parsed, and a flood of wrong secrets for the admin client is locked out after a handful of
 * checks while another client still gets its tokens. (How long the legitimate client waits
 * meanwhile is measured by `npm run bench -- hostile`, not here.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ADMIN } from '../helpers/app.js';
import { adminToken, createApiUser, fetchToken, startTestServer, type TestServer } from '../helpers/server.js';

const MIB = 1024 * 1024;

function send(baseUrl: string, agent: http.Agent, method: string, path: string, headers: Record<string, string>, body?: string | Buffer) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request(`${baseUrl}${path}`, { method, agent, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** `connections` loops from 127.0.<block>.2…, each sending `next()` until `ms` pass; the statuses seen. */
async function flood(
  baseUrl: string,
  block: number,
  connections: number,
  ms: number,
  next: () => { method: string; path: string; headers: Record<string, string>; body?: string | Buffer },
) {
  const statuses: Record<number, number> = {};
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: `127.0.${block}.${i + 2}` });
      while (Date.now() < until) {
        const { method, path, headers, body } = next();
        try {
          const { status } = await send(baseUrl, agent, method, path, headers, body);
          statuses[status] = (statuses[status] ?? 0) + 1;
        } catch {
          // A connection the server closed after refusing a body unread.
          statuses[0] = (statuses[0] ?? 0) + 1;
        }
      }
      agent.destroy();
    }),
  );
  return statuses;
}

/** A legitimate caller's GETs of the sources list while `during` runs: their statuses. */
async function meanwhile<T>(baseUrl: string, token: string, during: Promise<T>): Promise<{ result: T; gets: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const gets: number[] = [];
  let done = false;
  const loop = (async () => {
    while (!done) {
      gets.push((await send(baseUrl, agent, 'GET', '/v2024/non-employee-sources', { authorization: `Bearer ${token}` })).status);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const result = await during;
  done = true;
  await loop;
  agent.destroy();
  return { result, gets };
}

describe('hostile callers on a listening server', () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer({}, { NELM_AUTH_THROTTLE: '5/30' });
    token = await adminToken(server);
  });
  after(() => server.close());

  test('8 connections of 1 MiB token bodies and 4 of 1 MiB nested JSON by a caller without rights: refused, never a 5xx; the reader goes on', async () => {
    const caller = await createApiUser(server, 'no.rights', { rights: [] });
    const callerToken = await fetchToken(server.baseUrl, caller.clientId, caller.clientSecret);
    const form = Buffer.from('k=v&'.repeat(MIB / 4));
    const nested = Buffer.from('['.repeat(MIB / 2) + ']'.repeat(MIB / 2));
    const { result, gets } = await meanwhile(
      server.baseUrl,
      token,
      Promise.all([
        flood(server.baseUrl, 1, 8, 1500, () => ({
          method: 'POST',
          path: '/oauth/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form,
        })),
        flood(server.baseUrl, 2, 4, 1500, () => ({
          method: 'POST',
          path: '/v2024/non-employee-records',
          headers: { authorization: `Bearer ${callerToken}`, 'content-type': 'application/json' },
          body: nested,
        })),
      ]),
    );
    for (const statuses of result) {
      assert.ok((statuses[400] ?? 0) > 0, JSON.stringify(statuses));
      assert.deepEqual(
        Object.keys(statuses).filter((s) => s !== '400' && s !== '0'),
        [],
        JSON.stringify(statuses),
      );
    }
    assert.ok(gets.length > 0);
    assert.deepEqual([...new Set(gets)], [200]);
  });

  test('an identity has one upload being received at a time: a second is answered 429 before its body is read', async () => {
    const source = JSON.parse(
      (
        await send(
          server.baseUrl,
          new http.Agent(),
          'POST',
          '/v2024/non-employee-sources',
          { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          JSON.stringify({
            name: 'uploads at once',
            description: 'e2e',
            owner: { id: (await createApiUser(server, 'uploads.owner', { rights: [] })).identity.id },
          }),
        )
      ).body,
    ).id as string;
    const boundary = 'at-once';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\naccountName,`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` };
    const path = `/v2024/non-employee-sources/${source}/non-employee-bulk-upload`;
    // An upload whose body has only begun to arrive.
    const slow = [0].map(() => {
      const request = http.request(`${server.baseUrl}${path}`, { method: 'POST', headers: { ...headers, 'content-length': String(1024 * 1024) } });
      request.on('error', () => {});
      request.write(head);
      return request;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await send(server.baseUrl, new http.Agent(), 'POST', path, headers, `${head}x\r\n--${boundary}--\r\n`);
    assert.equal(second.status, 429, second.body);
    assert.deepEqual(JSON.parse(second.body), { message: ' Rate Limit Exceeded ' });
    for (const request of slow) request.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await send(server.baseUrl, new http.Agent(), 'POST', path, headers, `${head}x\r\n--${boundary}--\r\n`);
    assert.notEqual(after.status, 429, 'the one cut off lets the next one in');
  });

  test('16 connections of wrong secrets for the admin client: a few checks, then 429s; another client still gets tokens', async () => {
    const other = await createApiUser(server, 'reporting', { rights: [] });
    const wrong = () => ({
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: `wrong-${Math.random()}` }).toString(),
    });
    const attack = flood(server.baseUrl, 3, 16, 2000, wrong);
    const tokens: number[] = [];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: other.clientId, client_secret: other.clientSecret }).toString();
    const legit = (async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        tokens.push((await send(server.baseUrl, agent, 'POST', '/oauth/token', { 'content-type': 'application/x-www-form-urlencoded' }, form)).status);
      }
    })();
    const [statuses] = await Promise.all([attack, legit]);
    agent.destroy();
    assert.deepEqual(tokens, [200, 200, 200, 200, 200]);
    // 5 failures lock the client id for 1 s, the next for 2 s: within 2 s at most the 5, those
    // already being checked then, and one after the first lock passed.
    assert.ok((statuses[401] ?? 0) >= 5 && (statuses[401] ?? 0) <= 12, JSON.stringify(statuses));
    assert.ok((statuses[429] ?? 0) > 100, JSON.stringify(statuses));
    assert.deepEqual(
      Object.keys(statuses).filter((s) => s !== '401' && s !== '429'),
      [],
    );
  });
});
