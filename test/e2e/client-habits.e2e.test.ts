/**
 * What real clients send, byte for byte, over a socket: SailPoint's PowerShell client puts
 * `Content-Type: application/json` on every call (GET and DELETE with no body included) and
 * writes booleans as `True`/`False`; Python's requests and PowerShell send a whole body before
 * reading the answer, so a refused body must not cost them the answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { recordBody, sourceBody } from '../helpers/factories.js';
import { adminToken, startTestServer, type TestServer } from '../helpers/server.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends one request as written, the whole body first (waiting for every byte to be written, as a
 * blocking client does), and only then reads the answer. Fails if writing fails.
 */
async function exchange(baseUrl: string, head: string, body: Buffer = Buffer.alloc(0)): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  const received: Buffer[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.pause();
    await new Promise<void>((resolve, reject) => {
      socket.write(`${head.replaceAll('\n', '\r\n')}\r\n`);
      socket.write(body, (error) => (error ? reject(error) : resolve()));
      socket.once('error', reject);
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.resume();
    return await new Promise<RawResponse>((resolve, reject) => {
      const parse = () => {
        const text = Buffer.concat(received).toString('utf8');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return undefined;
        const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const length = Number(headers['content-length'] ?? 0);
        const rest = Buffer.concat(received).subarray(Buffer.byteLength(text.slice(0, end + 4)));
        if (rest.length < length) return undefined;
        return { status: Number(statusLine!.split(' ')[1]), headers, body: rest.subarray(0, length).toString('utf8') };
      };
      socket.on('data', () => {
        const response = parse();
        if (response) resolve(response);
      });
      socket.once('end', () => {
        const response = parse();
        response ? resolve(response) : reject(new Error(`connection ended before a whole answer: ${Buffer.concat(received).toString('utf8').slice(0, 200)}`));
      });
      socket.once('error', reject);
    });
  } finally {
    socket.destroy();
  }
}

describe('what real clients send', () => {
  let server: TestServer;
  let token: string;
  let sourceId: string;
  let ownerId: string;
  const host = () => new URL(server.baseUrl).host;

  before(async () => {
    server = await startTestServer();
    token = await adminToken(server);
    ownerId = (await server.app.services.directory.identityByAlias(server.config.tenant, 'admin'))!.id;
    const res = await fetch(`${server.baseUrl}/v2024/non-employee-sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(sourceBody('Habits', ownerId)),
    });
    assert.equal(res.status, 200);
    sourceId = ((await res.json()) as { id: string }).id;
  });
  after(() => server.close());

  const request = (method: string, path: string, extra = '') =>
    `${method} ${path} HTTP/1.1\nHost: ${host()}\nAuthorization: Bearer ${token}\nContent-Type: application/json\nConnection: close\n${extra}`;

  test('Content-Type: application/json with no body on GET and DELETE is no body (with and without Content-Length: 0)', async () => {
    for (const length of ['', 'Content-Length: 0\n']) {
      const list = await exchange(server.baseUrl, request('GET', '/v2024/non-employee-sources', length));
      assert.equal(list.status, 200, list.body);
      const one = await exchange(server.baseUrl, request('GET', `/v2024/non-employee-sources/${sourceId}`, length));
      assert.equal(one.status, 200, one.body);
      const created = await fetch(`${server.baseUrl}/v2024/non-employee-records`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(recordBody(sourceId, `habit.${length.length}`, { manager: 'admin' })),
      });
      assert.equal(created.status, 200);
      const id = ((await created.json()) as { id: string }).id;
      const deleted = await exchange(server.baseUrl, request('DELETE', `/v2024/non-employee-records/${id}`, length));
      assert.equal(deleted.status, 204, deleted.body);
      const gone = await exchange(server.baseUrl, request('DELETE', `/v2024/non-employee-records/${id}`, length));
      assert.equal(gone.status, 404, gone.body);
    }
  });

  test('an operation that takes a body, sent none with a JSON Content-Type: 400 "body is required"', async () => {
    const res = await exchange(server.baseUrl, request('POST', '/v2024/non-employee-sources', 'Content-Length: 0\n'));
    assert.equal(res.status, 400);
    const body = JSON.parse(res.body);
    assert.equal(body.detailCode, '400.1 Bad Request Content');
    assert.deepEqual(
      body.causes.map((c: { text: string }) => c.text),
      ['body is required'],
    );
  });

  test('query booleans in any case, and as 1 or 0; anything else is a 400 naming the parameter', async () => {
    for (const [query, counted] of [
      ['count=True', true],
      ['count=TRUE', true],
      ['count=1', true],
      ['count=False', false],
      ['count=0', false],
    ] as const) {
      const res = await exchange(server.baseUrl, request('GET', `/v2024/non-employee-sources?${query}`));
      assert.equal(res.status, 200, `${query}: ${res.body}`);
      assert.equal('x-total-count' in res.headers, counted, query);
    }
    const withCount = await exchange(server.baseUrl, request('GET', '/v2024/non-employee-sources?non-employee-count=True'));
    assert.equal(withCount.status, 200, withCount.body);
    assert.equal(JSON.parse(withCount.body)[0].nonEmployeeCount, 0);
    const bad = await exchange(server.baseUrl, request('GET', '/v2024/non-employee-sources?count=yes'));
    assert.equal(bad.status, 400);
    assert.match(bad.body, /count must be boolean/);
  });

  test('include-detail on GET approval item in any case, and as 1 or 0, on every flavour; anything else is a 400', async () => {
    const json = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const made = await fetch(`${server.baseUrl}/v2024/non-employee-sources`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(sourceBody('Habits approved', ownerId, { approvers: [ownerId] })),
    });
    assert.equal(made.status, 200);
    const approvedSource = ((await made.json()) as { id: string }).id;
    const filed = await fetch(`${server.baseUrl}/v2024/non-employee-requests`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(recordBody(approvedSource, 'habit.detail', { manager: 'admin' })),
    });
    assert.equal(filed.status, 200);
    const pending = (await filed.json()) as { id: string; approvalItems: { id: string }[] };
    const itemId = pending.approvalItems[0]!.id;
    const paths = [
      `/v3/non-employee-approvals/${itemId}`,
      `/beta/non-employee-approvals/${itemId}`,
      `/v2024/non-employee-approvals/${itemId}`,
      `/v2025/non-employee-approvals/${itemId}`,
      `/v2026/non-employee-approvals/${itemId}`,
      `/non-employee-approvals/v1/${itemId}`,
    ];
    for (const path of paths) {
      for (const [value, detailed] of [
        ['FALSE', false],
        ['False', false],
        ['false', false],
        ['0', false],
        ['TRUE', true],
        ['True', true],
        ['1', true],
      ] as const) {
        const res = await exchange(server.baseUrl, request('GET', `${path}?include-detail=${value}`));
        assert.equal(res.status, 200, `${path} ${value}: ${res.body}`);
        const item = JSON.parse(res.body);
        assert.equal(item.id, itemId);
        assert.equal(item.nonEmployeeRequest?.id, detailed ? pending.id : undefined, `${path} include-detail=${value}`);
      }
      const bad = await exchange(server.baseUrl, request('GET', `${path}?include-detail=yes`));
      assert.equal(bad.status, 400, `${path}: ${bad.body}`);
      assert.match(bad.body, /include-detail/);
    }
  });

  test('a body far over the limit: the whole of it is sent, and the 400 naming body comes back', async () => {
    const size = 12 * 1024 * 1024;
    const body = Buffer.alloc(size, 'a');
    body.write('{"name":"', 0);
    body.write('"}', size - 2);
    for (const path of ['/v2024/non-employee-sources', `/v2024/non-employee-sources/${sourceId}/schema-attributes`]) {
      const res = await exchange(server.baseUrl, request('POST', path, `Content-Length: ${size}\n`), body);
      assert.equal(res.status, 400, res.body);
      const error = JSON.parse(res.body);
      assert.equal(error.detailCode, '400.1 Bad Request Content');
      assert.deepEqual(error.causes[0].text, 'body is larger than this server accepts');
    }
    // A media type no operation takes is refused before its body is read, likewise answered.
    const text = await exchange(
      server.baseUrl,
      request('POST', '/v2024/non-employee-sources', `Content-Length: ${size}\n`).replace('application/json', 'text/csv'),
      body,
    );
    assert.equal(text.status, 400, text.body);
    assert.match(text.body, /Content-Type is not supported/);
    // A file over the upload limit, in a multipart body.
    const boundary = 'habits-boundary';
    const file = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`),
      Buffer.alloc(17 * 1024 * 1024, 'a'),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const upload = await exchange(
      server.baseUrl,
      request('POST', `/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload`, `Content-Length: ${file.length}\n`).replace(
        'application/json',
        `multipart/form-data; boundary=${boundary}`,
      ),
      file,
    );
    assert.equal(upload.status, 400, upload.body);
    assert.match(upload.body, /data is larger than 16 MiB/);
  });

  test('refused bodies are read at 16 MiB/s, all together: two 24 MiB bodies take two seconds or more, and each gets its 400', async () => {
    const size = 24 * 1024 * 1024;
    const body = Buffer.alloc(size, 'a');
    // The drains' budget is full after the pause: 16 MiB at once, then 16 MiB per second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const started = performance.now();
    const answers = await Promise.all(
      [0, 1].map(() => exchange(server.baseUrl, request('POST', '/v2024/non-employee-sources', `Content-Length: ${size}\n`), body)),
    );
    const seconds = (performance.now() - started) / 1000;
    for (const res of answers) {
      assert.equal(res.status, 400, res.body);
      assert.equal(JSON.parse(res.body).causes[0].text, 'body is larger than this server accepts');
    }
    assert.ok(seconds >= 1.9, `48 MiB drained in ${seconds.toFixed(2)} s`);
  });
});
