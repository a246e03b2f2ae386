/**
 * Every documented limit (docs/security.md, "Limits"), at the limit and one past it: the body
 * size (each route's, and NELM_BODY_LIMIT above them), headers and the request line (Node's 16 KiB, on a listening server),
 * path parameters, query parameters, the filter grammar's length, depth, terms and list size,
 * sorters, paging, field lengths, array sizes, approval comments, bulk delete, multipart parts and
 * the CSV rows, and the rate limit. At the limit the request is not refused for its size; past it,
 * it is a 400 (429 for the rate limit) in the documented shape that names the limit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { BODY_LIMITS } from '../../src/http/operation.js';
import { TOKEN_BODY_LIMIT } from '../../src/modules/oauth/routes.js';
import type { LightMyRequestResponse } from 'fastify';
import { harness, type Harness } from '../helpers/app.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { FILTER_LIMITS } from '../../src/collections/filter.js';
import { MAX_OFFSET } from '../../src/collections/paging.js';
import { LIMITS } from '../../src/domain/limits.js';
import { BULK_DELETE_MAX_IDS, RECORD_LIMITS } from '../../src/modules/records/schemas.js';
import {
  assertDocumented,
  bulkIdle,
  changeCounter,
  errorDtoProblem,
  multipart,
  recordBody,
  seed,
  send,
  summary,
  SYSTEM_COLUMNS,
  type World,
} from './support.js';

/** The texts of the message and causes of an error answer. */
const texts = (res: LightMyRequestResponse): string => {
  const body = res.json() as { messages: { text: string }[]; causes: { text: string }[] };
  return [...body.messages, ...body.causes].map((m) => m.text).join(' | ');
};
const SIZE = /(must not have more than|must be <=|at most|longer than|larger than|more than \d+|deeper than|of 1 to \d+ characters)/;
/** `prefix`, x's, `suffix`: exactly `n` characters. */
const sized = (prefix: string, suffix: string, n: number) => prefix + 'x'.repeat(n - prefix.length - suffix.length) + suffix;

describe('fuzz: limits at and past their values', () => {
  let h: Harness;
  let w: World;
  let changes: () => Promise<number>;
  const token = () => h.admin.token;

  before(async () => {
    h = await harness();
    w = await seed(h);
    changes = await changeCounter(h);
  });
  after(async () => {
    console.log(summary('limits'));
    await h?.close();
  });

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}, as = token()) => {
    const res = await send(h, {
      method,
      url,
      headers: { authorization: `Bearer ${as}`, ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    assertDocumented(res, `${method} ${url.slice(0, 200)}`);
    return res;
  };

  /**
   * `at` is not refused for its size (any answer, but no size complaint naming `field`); `past` is a
   * 400 naming `field` and the limit; nothing is stored by `past`.
   */
  const edge = async (what: string, field: string | RegExp, at: () => Promise<LightMyRequestResponse>, past: () => Promise<LightMyRequestResponse>) => {
    const names = (x: string) => (typeof field === 'string' ? x.includes(field) : field.test(x));
    const ok = await at();
    if (ok.statusCode >= 400 && ok.statusCode !== 401) {
      const t = texts(ok);
      assert.ok(!t.split(' | ').some((x) => names(x) && SIZE.test(x)), `${what}: refused at the limit: ${t.slice(0, 400)}`);
    }
    const counted = await changes();
    const bad = await past();
    assert.equal(bad.statusCode, 400, `${what}: past the limit: ${bad.statusCode} ${bad.body.slice(0, 300)}`);
    const t = texts(bad);
    assert.ok(
      t.split(' | ').some((x) => names(x) && SIZE.test(x)),
      `${what}: the refusal does not name ${field} and its limit: ${t.slice(0, 400)}`,
    );
    assert.equal(await changes(), counted, `${what}: stored past the limit`);
  };

  test('filters: length, nesting depth, comparisons and list size', async () => {
    const { maxLength, maxDepth, maxTerms, maxListSize } = FILTER_LIMITS;
    const lists = ['/v2024/non-employee-records?', '/v2024/non-employee-requests?requested-for=me&', '/v2024/non-employee-approvals?'];
    const field = (url: string) => (url.includes('approvals') ? 'approvalStatus' : 'accountName');
    for (const list of lists) {
      const f = field(list);
      const q = (filter: string) => call('GET', `${list}filters=${encodeURIComponent(filter)}`);
      const padded = (n: number) => `${f} eq "${'x'.repeat(n - f.length - 6)}"`;
      await edge(
        `${list} length`,
        'filter',
        () => q(padded(maxLength)),
        () => q(padded(maxLength + 1)),
      );
      const nested = (d: number) => `${'('.repeat(d)}${f} eq "x"${')'.repeat(d)}`;
      await edge(
        `${list} depth`,
        'filter',
        () => q(nested(maxDepth)),
        () => q(nested(maxDepth + 1)),
      );
      const nots = (d: number) => `${'not '.repeat(d)}${f} eq "x"`;
      await edge(
        `${list} not depth`,
        'filter',
        () => q(nots(maxDepth)),
        () => q(nots(maxDepth + 1)),
      );
      const terms = (n: number) => Array.from({ length: n }, (_, i) => `${f} eq "v${i}"`).join(' or ');
      await edge(
        `${list} terms`,
        'filter',
        () => q(terms(maxTerms)),
        () => q(terms(maxTerms + 1)),
      );
      const inList = (n: number) => `${f} in (${Array.from({ length: n }, (_, i) => `"v${i}"`).join(',')})`;
      await edge(
        `${list} list`,
        'filter',
        () => q(inList(maxListSize)),
        () => q(inList(maxListSize + 1)),
      );
    }
    const ok = await call(
      'GET',
      `/v2024/non-employee-records?filters=${encodeURIComponent(`${'('.repeat(maxDepth)}accountName in ("seed.one","seed.two")${')'.repeat(maxDepth)}`)}`,
    );
    assert.equal(ok.statusCode, 200);
    assert.equal((ok.json() as unknown[]).length, 2);
  });

  test('paging, sorters, requested-for and path parameters', async () => {
    const records = '/v2024/non-employee-records';
    await edge(
      'limit',
      'limit',
      () => call('GET', `${records}?limit=250`),
      () => call('GET', `${records}?limit=251`),
    );
    await edge(
      'offset',
      'offset',
      () => call('GET', `${records}?offset=${MAX_OFFSET}`),
      () => call('GET', `${records}?offset=${MAX_OFFSET + 1}`),
    );
    for (const huge of ['1e20', '99999999999999999999', '9223372036854775807']) assert.equal((await call('GET', `${records}?offset=${huge}`)).statusCode, 400);
    for (const url of ['/admin/v1/identities', `/v2024/non-employee-sources/${w.sourceId}/non-employee-bulk-upload/jobs`, '/v2024/non-employee-sources']) {
      await edge(
        `offset ${url}`,
        'offset',
        () => call('GET', `${url}?offset=${MAX_OFFSET}`),
        () => call('GET', `${url}?offset=${MAX_OFFSET + 1}`),
      );
    }
    const sorters = (n: number) => `${`${'id,'.repeat(Math.floor(n / 3))}`.slice(0, n - 2)}id`;
    await edge(
      'sorters',
      'sorters',
      () => call('GET', `${records}?sorters=${sorters(1024)}`),
      () => call('GET', `${records}?sorters=${sorters(1025)}`),
    );
    await edge(
      'requested-for',
      'requested-for',
      () => call('GET', `/v2024/non-employee-requests?requested-for=${'a'.repeat(64)}`),
      () => call('GET', `/v2024/non-employee-requests?requested-for=${'a'.repeat(65)}`),
    );
    // (The cause names the parameter as the router knows it, `requestedFor`.)
    await edge(
      'requested-for (path)',
      /requested-?for/i,
      () => call('GET', `/v2024/non-employee-requests/summary/${'a'.repeat(64)}`),
      () => call('GET', `/v2024/non-employee-requests/summary/${'a'.repeat(65)}`),
    );
    // A path parameter past 200 characters is refused by the router, before any route.
    await edge(
      'path parameter',
      'path',
      () => call('GET', `${records}/${'a'.repeat(200)}`),
      () => call('GET', `${records}/${'a'.repeat(201)}`),
    );
    const long = await call('GET', `/non-employee-sources/v1/${'b'.repeat(100_000)}/schema-attributes`);
    assert.equal(long.statusCode, 400);
  });

  test('field lengths and array sizes of sources, schema attributes, records and requests', async () => {
    const ids: string[] = [];
    for (let i = 0; i < LIMITS.accountManagersPerSource + 1; i++) ids.push((await h.caller(`limits.${i}.${randomBytes(3).toString('hex')}`)).identity.id);
    const source = (over: Record<string, unknown>) => ({
      name: `limits ${randomBytes(4).toString('hex')}`,
      description: 'limits',
      owner: { id: h.admin.identity.id },
      ...over,
    });
    const sources = '/v2024/non-employee-sources';
    await edge(
      'source name',
      'name',
      () => call('POST', sources, source({ name: 'n'.repeat(128) })),
      () => call('POST', sources, source({ name: 'n'.repeat(129) })),
    );
    await edge(
      'source description',
      'description',
      () => call('POST', sources, source({ description: 'd'.repeat(2000) })),
      () => call('POST', sources, source({ description: 'd'.repeat(2001) })),
    );
    const refs = (n: number) => ids.slice(0, n).map((id) => ({ id }));
    await edge(
      'approvers',
      'approvers',
      () => call('POST', sources, source({ approvers: refs(LIMITS.approversPerSource) })),
      () => call('POST', sources, source({ approvers: refs(LIMITS.approversPerSource + 1) })),
    );
    await edge(
      'account managers',
      'accountManagers',
      () => call('POST', sources, source({ accountManagers: refs(LIMITS.accountManagersPerSource) })),
      () => call('POST', sources, source({ accountManagers: refs(LIMITS.accountManagersPerSource + 1) })),
    );
    const patchName = (n: number) =>
      call('PATCH', `${sources}/${w.sourceId}`, JSON.stringify([{ op: 'replace', path: '/name', value: 'p'.repeat(n) }]), {
        'content-type': 'application/json-patch+json',
      });
    await edge(
      'source name by patch',
      'name',
      () => patchName(128),
      () => patchName(129),
    );

    const fresh = (await call('POST', sources, source({}))).json().id as string;
    const attrs = `${sources}/${fresh}/schema-attributes`;
    const attribute = (over: Record<string, unknown>) => ({ type: 'TEXT', label: 'L', technicalName: `t${randomBytes(4).toString('hex')}`, ...over });
    await edge(
      'label',
      'label',
      () => call('POST', attrs, attribute({ label: 'l'.repeat(128) })),
      () => call('POST', attrs, attribute({ label: 'l'.repeat(129) })),
    );
    await edge(
      'helpText',
      'helpText',
      () => call('POST', attrs, attribute({ helpText: 'h'.repeat(1000) })),
      () => call('POST', attrs, attribute({ helpText: 'h'.repeat(1001) })),
    );
    await edge(
      'placeholder',
      'placeholder',
      () => call('POST', attrs, attribute({ placeholder: 'p'.repeat(256) })),
      () => call('POST', attrs, attribute({ placeholder: 'p'.repeat(257) })),
    );
    const technical = await call('POST', attrs, attribute({ technicalName: `t${'x'.repeat(64)}` }));
    assert.equal(technical.statusCode, 400, technical.body);
    assert.match(texts(technical), /technicalName/);
    const existing = (await call('GET', attrs)).json().filter((a: { system: boolean }) => !a.system).length as number;
    for (let i = existing; i < LIMITS.customAttributesPerSource; i++) assert.equal((await call('POST', attrs, attribute({}))).statusCode, 200);
    const eleventh = await call('POST', attrs, attribute({}));
    assert.equal(eleventh.statusCode, 400);
    assert.equal(eleventh.json().detailCode, '400.1.4 Limit violation');

    const record = (over: Record<string, unknown>) => ({ ...recordBody(w.sourceId, `limits.${randomBytes(4).toString('hex')}`), ...over });
    const records = '/v2024/non-employee-records';
    for (const field of ['accountName', 'firstName', 'lastName', 'phone', 'manager'] as const) {
      await edge(
        `record ${field}`,
        field,
        () => call('POST', records, record({ [field]: 'r'.repeat(RECORD_LIMITS.text) })),
        () => call('POST', records, record({ [field]: 'r'.repeat(RECORD_LIMITS.text + 1) })),
      );
    }
    const email = (n: number) => `${'e'.repeat(n - 12)}@example.com`;
    await edge(
      'record email',
      'email',
      () => call('POST', records, record({ email: email(RECORD_LIMITS.email) })),
      () => call('POST', records, record({ email: email(RECORD_LIMITS.email + 1) })),
    );
    await edge(
      'record data value',
      'dept',
      () => call('POST', records, record({ data: { dept: 'v'.repeat(RECORD_LIMITS.dataValue) } })),
      () => call('POST', records, record({ data: { dept: 'v'.repeat(RECORD_LIMITS.dataValue + 1) } })),
    );
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    const tooMany = await call('POST', records, record({ data: keys(11) }));
    assert.equal(tooMany.statusCode, 400);
    assert.match(texts(tooMany), /data must not have more than 10 properties/);
    await edge(
      'record dates',
      'startDate',
      () => call('POST', records, record({ startDate: `2024-01-01${' '.repeat(54)}` })),
      () => call('POST', records, record({ startDate: `2024-01-01${' '.repeat(55)}` })),
    );
    await edge(
      'request firstName',
      'firstName',
      () => call('POST', '/v2024/non-employee-requests', record({ firstName: 'q'.repeat(255) })),
      () => call('POST', '/v2024/non-employee-requests', record({ firstName: 'q'.repeat(256) })),
    );

    const bulkDelete = (n: number) => call('POST', `${records}/bulk-delete`, { ids: Array.from({ length: n }, () => randomBytes(16).toString('hex')) });
    await edge(
      'bulk delete',
      'ids',
      () => bulkDelete(BULK_DELETE_MAX_IDS),
      () => bulkDelete(BULK_DELETE_MAX_IDS + 1),
    );
  });

  test('approval comments: 4000 characters', async () => {
    const items: string[] = [];
    for (let i = 0; i < 2; i++) {
      const request = await call('POST', '/v2024/non-employee-requests', recordBody(w.sourceId, `comment.${randomBytes(4).toString('hex')}`));
      assert.equal(request.statusCode, 200, request.body);
      items.push(request.json().approvalItems[0].id);
    }
    const approve = (item: string, n: number) => call('POST', `/v2024/non-employee-approvals/${item}/approve`, { comment: 'c'.repeat(n) }, {}, w.approverToken);
    await edge(
      'approve comment',
      'comment',
      () => approve(items[0]!, LIMITS.decisionComment),
      () => approve(items[1]!, LIMITS.decisionComment + 1),
    );
    const reject = (n: number) => call('POST', `/v2024/non-employee-approvals/${w.approvalId}/reject`, { comment: 'c'.repeat(n) }, {}, w.approverToken);
    await edge(
      'reject comment',
      'comment',
      () => reject(LIMITS.decisionComment),
      () => reject(LIMITS.decisionComment + 1),
    );
  });

  test('admin API: alias, names, members', async () => {
    const identity = (alias: string) => ({ alias, name: 'n', email: 'n@example.com' });
    await edge(
      'alias',
      'alias',
      () => call('POST', '/admin/v1/identities', identity(`a${randomBytes(3).toString('hex')}${'a'.repeat(121)}`)),
      () => call('POST', '/admin/v1/identities', identity('a'.repeat(129))),
    );
    const group = (over: Record<string, unknown>) => ({ name: `g${randomBytes(4).toString('hex')}`, members: [], ...over });
    await edge(
      'workgroup name',
      'name',
      () => call('POST', '/admin/v1/workgroups', group({ name: `${randomBytes(4).toString('hex')}${'g'.repeat(248)}` })),
      () => call('POST', '/admin/v1/workgroups', group({ name: 'g'.repeat(257) })),
    );
    const members = (n: number) => Array.from({ length: n }, () => randomBytes(16).toString('hex'));
    await edge(
      'workgroup members',
      'members',
      () => call('POST', '/admin/v1/workgroups', group({ members: members(1000) })),
      () => call('POST', '/admin/v1/workgroups', group({ members: members(1001) })),
    );
  });

  test("body size: each route's limit for JSON, JSON Patch and form bodies; deep JSON", async () => {
    const limit = BODY_LIMITS.standard;
    const body = (n: number) => sized('{"name":"', '"}', n);
    assert.equal(Buffer.byteLength(body(limit)), limit);
    await edge(
      'JSON body',
      'body',
      () => call('POST', '/v2024/non-employee-sources', body(limit), { 'content-type': 'application/json' }),
      () => call('POST', '/v2024/non-employee-sources', body(limit + 1), { 'content-type': 'application/json' }),
    );
    const patchBody = (n: number) => sized('[{"op":"replace","path":"/description","value":"', '"}]', n);
    assert.equal(patchBody(limit).length, limit);
    await edge(
      'JSON Patch body',
      'body',
      () => call('PATCH', `/v2024/non-employee-sources/${w.sourceId}`, patchBody(limit), { 'content-type': 'application/json-patch+json' }),
      () => call('PATCH', `/v2024/non-employee-sources/${w.sourceId}`, patchBody(limit + 1), { 'content-type': 'application/json-patch+json' }),
    );
    const form = (n: number) => sized('grant_type=client_credentials&client_id=x&client_secret=', '', n);
    assert.equal(form(TOKEN_BODY_LIMIT).length, TOKEN_BODY_LIMIT);
    const formAt = await send(h, {
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(TOKEN_BODY_LIMIT),
    });
    assertDocumented(formAt, 'a form body at the limit', { oauth: true });
    assert.doesNotMatch(formAt.body, /larger than/);
    const formPast = await send(h, {
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(TOKEN_BODY_LIMIT + 1),
    });
    assert.equal(formPast.statusCode, 400);
    assert.match(texts(formPast), /larger than/);
    // A Content-Length past the limit is refused before the body is read.
    const claimed = await send(h, {
      method: 'POST',
      url: '/v2024/non-employee-sources',
      headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json', 'content-length': String(limit + 1) },
      payload: '{}',
    });
    assert.equal(claimed.statusCode, 400);
    assert.equal(errorDtoProblem(claimed), undefined);
    // 10,000 levels of nesting inside the limit: refused before parsing.
    for (const deep of ['['.repeat(10_000) + ']'.repeat(10_000), `${'{"name":'.repeat(10_000)}1${'}'.repeat(10_000)}`]) {
      const res = await call('POST', '/v2024/non-employee-records', deep, { 'content-type': 'application/json' });
      assert.equal(res.statusCode, 400);
      assert.match(texts(res), /nested deeper than 64 levels/);
    }
  });

  test('a smaller NELM_BODY_LIMIT is enforced the same way', async () => {
    const small = await harness({}, { NELM_BODY_LIMIT: '2048' });
    try {
      const post = (n: number) =>
        small.request('POST', '/v2024/non-employee-sources', small.admin.token, sized('{"name":"', '"}', n), { 'content-type': 'application/json' });
      const at = await post(2048);
      assert.notEqual(at.statusCode, 500);
      if (at.statusCode === 400) assert.doesNotMatch(texts(at), /larger than/);
      const past = await post(2049);
      assert.equal(past.statusCode, 400);
      assert.equal(errorDtoProblem(past), undefined);
      assert.match(texts(past), /body is larger than this server accepts/);
    } finally {
      await small.close();
    }
  });

  test('multipart: 21 parts, 1 file, 16 MiB; CSV: 20,000 rows', async () => {
    const upload = (parts: Parameters<typeof multipart>[0]) => {
      const { payload, contentType } = multipart(parts);
      return send(h, {
        method: 'POST',
        url: `/v2024/non-employee-sources/${w.sourceId}/non-employee-bulk-upload`,
        headers: { authorization: `Bearer ${token()}`, 'content-type': contentType },
        payload,
      });
    };
    const csv = `${SYSTEM_COLUMNS}\nparts.one,A,B,1,a@example.com,admin,2024-01-01,2025-01-01\n`;
    const fields = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `f${i}`, value: 'x', filename: null }));
    const counted = await changes();
    const at = await upload([...fields(19), { value: csv, filename: null }]);
    assert.equal(at.statusCode, 202, at.body);
    const past = await upload([...fields(21), { value: csv, filename: null }]);
    assert.equal(past.statusCode, 400, past.body);
    assert.match(texts(past), /too many (parts|fields)/);
    assert.ok((await changes()) > counted);
    await bulkIdle(h);

    const rows = (n: number) =>
      [SYSTEM_COLUMNS, ...Array.from({ length: n }, (_, i) => `rows.${i},A,B,1,a@example.com,admin,2024-01-01,2025-01-01`)].join('\n');
    const tooMany = await upload([{ value: rows(LIMITS.recordsPerSource + 1) }]);
    assert.equal(tooMany.statusCode, 400, tooMany.body);
    assert.equal(tooMany.json().detailCode, '400.1.4 Limit violation');
    assert.match(texts(tooMany), /20001 rows; a source holds at most 20000/);
  });

  test('the rate limit: 429 {message} with Retry-After', async () => {
    const limited = await harness({}, { NELM_RATE_LIMIT: '3/60s' });
    try {
      const statuses = [];
      let last: LightMyRequestResponse | undefined;
      for (let i = 0; i < 4; i++) {
        last = await limited.request('GET', '/v2024/non-employee-sources', limited.admin.token);
        statuses.push(last.statusCode);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.deepEqual(last!.json(), { message: ' Rate Limit Exceeded ' });
      assert.ok(Number(last!.headers['retry-after']) > 0);
    } finally {
      await limited.close();
    }
  });

  describe('on a listening server', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => server?.close());

    /** Sends raw bytes, returns what came back before the server closed (or 5 s passed). */
    const raw = (text: string | Buffer): Promise<{ status: number; headers: Record<string, string>; body: string }> =>
      new Promise((resolve, reject) => {
        const { port } = new URL(server.baseUrl);
        const socket = connect(Number(port), '127.0.0.1');
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => socket.destroy(), 5000);
        socket.on('data', (c) => chunks.push(c));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearTimeout(timer);
          const response = Buffer.concat(chunks).toString('utf8');
          const [head = '', ...rest] = response.split('\r\n\r\n');
          const [statusLine = '', ...lines] = head.split('\r\n');
          const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
          const status = Number(statusLine.split(' ')[1]);
          if (!status) return reject(new Error(`no answer to ${String(text).slice(0, 100)}: ${response.slice(0, 200)}`));
          resolve({ status, headers, body: rest.join('\r\n\r\n') });
        });
        socket.write(text);
        socket.end();
      });
    const documented = (res: { status: number; headers: Record<string, string>; body: string }, what: string) => {
      assert.equal(res.status, 400, `${what}: ${res.status} ${res.body.slice(0, 300)}`);
      const fake = { statusCode: 400, body: res.body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ''), headers: res.headers } as unknown as LightMyRequestResponse;
      assert.equal(errorDtoProblem(fake), undefined, `${what}: ${res.body.slice(0, 300)}`);
    };

    test('headers and the request line: 16 KiB in all', async () => {
      const get = (headerBytes: number) =>
        `GET /v2024/non-employee-sources HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(headerBytes)}\r\nConnection: close\r\n\r\n`;
      const within = await raw(get(15 * 1024));
      assert.equal(within.status, 401, within.body);
      documented(await raw(get(17 * 1024)), 'a 17 KiB header');
      documented(
        await raw(`GET /v2024/non-employee-sources?filters=${'x'.repeat(17 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        'a 17 KiB request line',
      );
    });

    test('malformed HTTP and body lengths', async () => {
      documented(await raw('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'), 'a Content-Length that is not a number');
      documented(await raw('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'), 'two Content-Lengths');
      documented(await raw('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n'), 'chunked and a Content-Length');
      documented(await raw('GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n'), 'a header name with a space');
      documented(await raw('NOTAMETHOD / HTTP/1.1\r\nHost: x\r\n\r\n'), 'an unknown method');
      documented(await raw(Buffer.from('GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n')), 'a NUL in the request line');
      // A body announced past the limit: refused at once, not read.
      const token = (await (
        await fetch(`${server.baseUrl}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: `grant_type=client_credentials&client_id=test-admin&client_secret=test-admin-secret-0123456789`,
        })
      ).json()) as { access_token: string };
      const big = await raw(
        `POST /v2024/non-employee-sources HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token.access_token}\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\nConnection: close\r\n\r\n{}`,
      );
      documented(big, 'a Content-Length of 100 MiB');
      // A chunked body past the limit.
      const chunk = 'x'.repeat(64 * 1024);
      const chunks = Array.from({ length: 20 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
      documented(
        await raw(
          `POST /v2024/non-employee-sources HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token.access_token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}0\r\n\r\n`,
        ),
        'a chunked body of 1.25 MiB',
      );
    });
  });
});
