/**
 * NELM_REQUEST_TIMEOUT: a client that does not send its whole request in time (a trickled body,
 * headers never finished) gets a 400 ErrorResponseDto and its connection closed; a keep-alive
 * connection idle between requests, and a client that sends in time, are not affected.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestServer, adminToken, type TestServer } from '../helpers/server.js';

let server: TestServer;
let port: number;

before(async () => {
  server = await startTestServer({ requestTimeout: 1 });
  port = Number(new URL(server.baseUrl).port);
});
after(() => server.close());

/** Opens a connection, writes `chunks` (a pause of `pauseMs` before each after the first), and returns all it read until the server closed it, and when. */
function exchange(chunks: string[], pauseMs: number, timeoutMs = 6000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const give_up = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms; read: ${text}`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d) => (text += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(give_up);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    socket.on('connect', async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, pauseMs));
        if (socket.destroyed) return;
        socket.write(chunk);
      }
    });
  });
}

function assertTimedOut(text: string): void {
  assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(text, /\r\nConnection: close\r\n/i);
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
  assert.equal(body.detailCode, '400.1 Bad Request Content');
  assert.match(body.trackingId, /^[0-9a-f]{32}$/);
  assert.deepEqual(
    body.messages.map((m: { text: string }) => m.text),
    ['the request was not received in time'],
  );
}

test('a body trickled past the limit: 400, connection closed', async () => {
  const token = await adminToken(server);
  const head = `POST /v2024/non-employee-sources HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`;
  const { text, closedAfterMs } = await exchange([head, '{"name":', '"slow', 'ly', 'sent', '"'], 400);
  assertTimedOut(text);
  assert.ok(closedAfterMs >= 1000 && closedAfterMs < 4000, `closed after ${closedAfterMs} ms`);
  const sources = await fetch(`${server.baseUrl}/v2024/non-employee-sources`, { headers: { authorization: `Bearer ${token}` } });
  assert.deepEqual(await sources.json(), [], 'nothing was created');
});

test('headers never finished: 400, connection closed', async () => {
  const { text } = await exchange(['GET /health HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 'X-Slow: 2\r\n', 'X-Slow: 3\r\n', 'X-Slow: 4\r\n'], 400);
  assertTimedOut(text);
});

test('a keep-alive connection idle between requests for longer than the limit still serves', async () => {
  const request = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
  const answers = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      text += d;
      if ((text.match(/HTTP\/1\.1 200/g) ?? []).length === 2) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.on('connect', () => {
      socket.write(request);
      setTimeout(() => socket.write(request), 2500);
    });
  });
  assert.equal((answers.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2, answers);
});
