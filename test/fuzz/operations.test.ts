/**
 * The generic hostile-input driver: every operation the app serves (read from its own
 * `/{flavour}/openapi.json`, plus the admin API and the token endpoint) × generated requests:
 * bodies (any JSON, mutated valid bodies, deep nesting, prototype-pollution keys, Unicode edge
 * cases, NULs, injection strings, bytes that are not UTF-8), query strings (every collection
 * parameter with good and bad values, repeated, very long), path ids (random, encoded slashes,
 * dots, very long, bad percent-encoding), media types, Content-Length lies and tokens.
 *
 * Properties, for every request: never a 5xx; only documented statuses; every error in its
 * documented shape; and a rejected write (4xx) leaves every table as it was (row counts, newest
 * `modified`, counter columns). Object.prototype is the same at the end.
 *
 * v3, v2025 and v2026 serve v2024's operations, handlers and schemas under another base path
 * (src/http/operation.ts): each of them gets a third of an operation's runs, so that the three
 * together send it as many requests as v2024 alone (FUZZ_RUNS scales every count).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { harness, type Harness } from '../helpers/app.js';
import { FILTERS, filterText } from './filters.js';
import {
  assertDocumented,
  bulkIdle,
  describeRequest,
  encode,
  changeCounter,
  multipart,
  nastyJsonText,
  nastyJsonValue,
  nastyString,
  params,
  recordBody,
  seed,
  send,
  summary,
  SYSTEM_COLUMNS,
  type World,
} from './support.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Entry {
  /** e.g. `v2024 patchNonEmployeeRecord` */
  name: string;
  method: Method;
  /** Path template with `{name}` parameters. */
  template: string;
  /** The template without its flavour: `/non-employee-records/{id}`. */
  key: string;
  pathParams: string[];
  queryParams: string[];
  consumes: string[];
  oauth?: boolean;
  /** The flavour of a NELM operation. */
  flavour?: string;
}

const FLAVOURS = ['v3', 'beta', 'v2024', 'v2025', 'v2026', 'v1'];
/** v2024's operations under another base path: a third of the runs each. */
const SAMPLED = ['v3', 'v2025', 'v2026'];

/** The admin API and the public routes, which the OpenAPI documents do not list. */
const EXTRA: Entry[] = [
  ['POST', '/admin/v1/identities', [], [], ['application/json']],
  ['GET', '/admin/v1/identities', [], ['limit', 'offset', 'count'], []],
  ['GET', '/admin/v1/identities/{id}', ['id'], [], []],
  ['PATCH', '/admin/v1/identities/{id}', ['id'], [], ['application/json']],
  ['POST', '/admin/v1/identities/{id}/clients', ['id'], [], []],
  ['GET', '/admin/v1/identities/{id}/clients', ['id'], [], []],
  ['DELETE', '/admin/v1/clients/{clientId}', ['clientId'], [], []],
  ['POST', '/admin/v1/workgroups', [], [], ['application/json']],
  ['GET', '/admin/v1/workgroups', [], ['limit', 'offset', 'count'], []],
  ['GET', '/admin/v1/workgroups/{id}', ['id'], [], []],
  ['PATCH', '/admin/v1/workgroups/{id}', ['id'], [], ['application/json']],
  ['DELETE', '/admin/v1/workgroups/{id}', ['id'], [], []],
  ['POST', '/oauth/token', [], ['grant_type', 'client_id', 'client_secret'], ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json']],
  ['GET', '/oauth/jwks', [], [], []],
  ['GET', '/health', [], [], []],
  ['GET', '/openapi.json', [], [], []],
].map(([method, template, pathParams, queryParams, consumes]) => ({
  name: `${method} ${template}`,
  method: method as Method,
  template: template as string,
  key: template as string,
  pathParams: pathParams as string[],
  queryParams: queryParams as string[],
  consumes: consumes as string[],
  oauth: template === '/oauth/token',
}));

async function enumerate(h: Harness): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (const flavour of FLAVOURS) {
    const res = await h.app.inject({ method: 'GET', url: `/${flavour}/openapi.json` });
    assert.equal(res.statusCode, 200);
    const doc = res.json() as {
      paths: Record<
        string,
        Record<string, { operationId: string; parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, unknown> } }>
      >;
    };
    // The NELM operations; the token endpoint and the admin API (in every document) are listed above.
    for (const [template, methods] of Object.entries(doc.paths).filter(([path]) => path.includes('/non-employee-'))) {
      for (const [method, op] of Object.entries(methods)) {
        const key = flavour === 'v1' ? template.replace(/^\/([^/]+)\/v1/, '/$1') : template.slice(flavour.length + 1);
        entries.push({
          flavour,
          name: `${flavour} ${op.operationId}`,
          method: method.toUpperCase() as Method,
          template,
          key,
          pathParams: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
          queryParams: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
          consumes: Object.keys(op.requestBody?.content ?? {}),
        });
      }
    }
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Valid bodies, to mutate: a hostile value one field deep reaches the services and the database.

/** A valid body of the operation; `unique` (8 hex characters) keeps names apart. */
function template(entry: Entry, w: World, adminId: string, unique: string): unknown {
  const op = (path: string, value: unknown) => [{ op: 'replace', path, value }];
  switch (`${entry.method} ${entry.key}`) {
    case 'POST /non-employee-sources':
      return { name: `fz ${unique}`, description: 'fuzz', owner: { id: adminId }, approvers: [{ id: w.approverId }], accountManagers: [{ id: w.userId }] };
    case 'PATCH /non-employee-sources/{sourceId}':
      return op('/description', `d ${unique}`);
    case 'POST /non-employee-sources/{sourceId}/schema-attributes':
      return { type: 'TEXT', label: 'Label', technicalName: `t${unique}`, helpText: 'help', placeholder: 'p', required: false };
    case 'PATCH /non-employee-sources/{sourceId}/schema-attributes/{attributeId}':
      return op('/label', `L ${unique}`);
    case 'POST /non-employee-records':
    case 'PUT /non-employee-records/{id}':
    case 'POST /non-employee-requests':
      return recordBody(w.sourceId, `fz.${unique}`);
    case 'PATCH /non-employee-records/{id}':
      return op('/firstName', `F${unique}`);
    case 'POST /non-employee-records/bulk-delete':
      return { ids: [unique.repeat(4)] };
    case 'POST /non-employee-approvals/{id}/approve':
    case 'POST /non-employee-approvals/{id}/reject':
      return { comment: 'fuzz' };
    case 'POST /admin/v1/identities':
      return { alias: `fz.${unique}`, name: 'Fuzz', email: `fz${unique}@example.com`, admin: false, rights: ['idn:nesr:read'] };
    case 'POST /admin/v1/workgroups':
      return { name: `wg ${unique}`, description: 'fuzz', members: [w.approverId] };
    case 'PATCH /admin/v1/identities/{id}':
      return { name: `Fuzz ${unique}`, rights: ['idn:nesr:read'] };
    case 'PATCH /admin/v1/workgroups/{id}':
      return { name: `wg ${unique}` };
    case 'POST /oauth/token':
      return { grant_type: 'client_credentials', client_id: 'test-admin', client_secret: 'wrong-secret' };
    default:
      return {};
  }
}

/** Every JSON path of a value (arrays and objects), the root included. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...prefix, i]));
  } else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

interface Mutation {
  at: number;
  how: 'replace' | 'delete' | 'add';
  key: string;
  value: unknown;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  how: fc.constantFrom('replace', 'delete', 'add') as fc.Arbitrary<Mutation['how']>,
  key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'created', 'sourceId', 'data', 'op', 'path'), nastyString),
  value: nastyJsonValue,
});

function mutate(value: unknown, mutations: Mutation[]): unknown {
  let doc = structuredClone(value);
  for (const mutation of mutations) {
    // A copy: generated constants are shared between runs, and must not end up inside themselves.
    const m = { ...mutation, value: structuredClone(mutation.value) };
    const all = paths(doc);
    const path = all[m.at % all.length]!;
    if (path.length === 0) {
      if (m.how === 'replace') doc = m.value;
      continue;
    }
    let parent = doc as Record<string | number, unknown>;
    for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    if (m.how === 'replace') parent[last] = m.value;
    else if (m.how === 'delete') delete parent[last];
    else if (typeof parent === 'object' && parent !== null && !Array.isArray(parent))
      Object.defineProperty(parent, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Requests

interface Body {
  payload?: string | Buffer;
  contentType?: string;
}

const MEDIA_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/json-patch+json',
  'application/merge-patch+json',
  'text/plain',
  'text/csv',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=nope',
  'application/xml',
  'application/octet-stream',
  '*/*',
  'application/json, text/plain',
  'application/jsonx',
  ';',
  'a/b; c=d; c=e',
];

function bodyArb(entry: Entry, w: World, adminId: string): fc.Arbitrary<Body> {
  const declared = entry.consumes[0] ?? 'application/json';
  const mediaType = fc.oneof(
    { arbitrary: fc.constant(declared), weight: 6 },
    { arbitrary: fc.constantFrom(...MEDIA_TYPES), weight: 2 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
  const json = (value: unknown) => {
    try {
      return JSON.stringify(value) ?? 'null';
    } catch {
      return 'null';
    }
  };
  const csv = fc
    .tuple(
      fc.array(fc.oneof(nastyString, fc.constantFrom('accountName', 'dept', '=1+1', '"', '""', '\r', 'a,b')), { maxLength: 12 }),
      fc.integer({ min: 0, max: 5 }),
    )
    .map(([cells, rows]) => [`${SYSTEM_COLUMNS},dept`, ...Array.from({ length: rows }, () => cells.join(','))].join('\n'));
  const multipartBody: fc.Arbitrary<Body> = fc
    .tuple(
      csv,
      fc.constantFrom('data', 'file', 'Data', ''),
      fc.constantFrom<string | null>('records.csv', null, '../../x.csv', 'a\u0000.csv'),
      fc.constantFrom('text/csv', 'image/png', 'text/csv\u0000', ''),
      fc.boolean(),
      fc.boolean(),
    )
    .map(([text, name, filename, type, twice, wrongBoundary]) => {
      const parts = [{ name, value: text, filename, type }, ...(twice ? [{ name: 'data', value: text, filename: null }] : [])];
      const { payload, contentType } = multipart(parts);
      return { payload, contentType: wrongBoundary ? 'multipart/form-data; boundary=other' : contentType };
    });
  const unique = fc.stringMatching(/^[0-9a-f]{8}$/);
  const hasBody = entry.method !== 'GET' && entry.method !== 'DELETE';
  return fc.oneof(
    { arbitrary: fc.constant({}), weight: hasBody ? 1 : 8 },
    {
      arbitrary: fc
        .tuple(unique, fc.array(mutation, { minLength: 1, maxLength: 3 }), mediaType)
        .map(([u, m, ct]) => ({ payload: json(mutate(template(entry, w, adminId, u), m)), contentType: ct })),
      weight: hasBody ? 8 : 1,
    },
    { arbitrary: fc.tuple(unique, mediaType).map(([u, ct]) => ({ payload: json(template(entry, w, adminId, u)), contentType: ct })), weight: hasBody ? 2 : 0 },
    { arbitrary: fc.tuple(fc.jsonValue({ maxDepth: 4 }), mediaType).map(([v, ct]) => ({ payload: json(v), contentType: ct })), weight: 2 },
    { arbitrary: fc.tuple(fc.object({ maxDepth: 3 }), mediaType).map(([v, ct]) => ({ payload: json(v), contentType: ct })), weight: 1 },
    { arbitrary: fc.tuple(nastyJsonText, mediaType).map(([text, ct]) => ({ payload: text, contentType: ct })), weight: 3 },
    { arbitrary: fc.tuple(fc.uint8Array({ maxLength: 64 }), mediaType).map(([bytes, ct]) => ({ payload: Buffer.from(bytes), contentType: ct })), weight: 1 },
    { arbitrary: multipartBody, weight: entry.consumes.includes('multipart/form-data') ? 6 : 1 },
  );
}

function pathValueArb(name: string, w: World, destructive: boolean): fc.Arbitrary<string> {
  const hex = fc.stringMatching(/^[0-9a-f]{32}$/);
  const known = destructive ? hex : fc.constantFrom(...w.ids);
  return fc
    .oneof(
      { arbitrary: known.map(encode), weight: 5 },
      { arbitrary: hex, weight: 2 },
      { arbitrary: fc.tuple(fc.uuid(), fc.boolean()).map(([u, upper]) => (upper ? u.toUpperCase() : u)), weight: 1 },
      { arbitrary: fc.constantFrom('me', 'admin', name === 'requested-for' ? w.userId : 'x'), weight: name === 'requested-for' || name === 'clientId' ? 3 : 0 },
      { arbitrary: nastyString.filter((s) => s.length < 1000).map(encode), weight: 3 },
      {
        arbitrary: fc.constantFrom(
          'a%2Fb',
          '%2F',
          '..',
          '.',
          '%2e%2e',
          '%2e',
          '..%2F..%2Fetc',
          '%00',
          '%E0%A4%A',
          '%',
          '%ZZ',
          '%C0%AF',
          '%ED%A0%80',
          ';',
          'a;b=c',
          '%20',
          '+',
        ),
        weight: 2,
      },
      { arbitrary: fc.integer({ min: 190, max: 5000 }).map((n) => 'a'.repeat(n)), weight: 1 },
    )
    .map((v) => (v === '' ? 'x' : v));
}

const COMMON_QUERY = ['limit', 'offset', 'count', 'sorters', 'filters', 'requested-for', 'include-detail', 'non-employee-count'];
const SORTABLE = [
  'id',
  'accountName',
  'sourceId',
  'manager',
  'firstName',
  'lastName',
  'email',
  'phone',
  'startDate',
  'endDate',
  'created',
  'modified',
  'approvalStatus',
  'name',
];

function queryValueArb(name: string, w: World): fc.Arbitrary<string> {
  const nasty = fc.oneof(
    nastyString,
    fc.integer().map(String),
    fc.double().map(String),
    fc.constantFrom('-1', '251', '1e3', '0x10', '1.5', '99999999999999999999', '9007199254740993', 'true', 'TRUE', 'yes', '', '[]', '{}'),
  );
  const valid: Record<string, fc.Arbitrary<string>> = {
    limit: fc.integer({ min: 0, max: 250 }).map(String),
    offset: fc.integer({ min: 0, max: 100 }).map(String),
    count: fc.constantFrom('true', 'false'),
    'non-employee-count': fc.constantFrom('true', 'false'),
    'include-detail': fc.constantFrom('true', 'false', 'True', 'FALSE'),
    'requested-for': fc.constantFrom('me', w.userId, w.approverId, 'admin'),
    sorters: fc
      .array(fc.tuple(fc.boolean(), fc.constantFrom(...SORTABLE)), { minLength: 1, maxLength: 4 })
      .map((s) => s.map(([d, f]) => (d ? '-' : '') + f).join(',')),
    filters: filterText(w),
  };
  return fc.oneof(
    { arbitrary: (Object.hasOwn(valid, name) ? valid[name] : undefined) ?? nastyString, weight: 3 },
    { arbitrary: nasty, weight: 2 },
    { arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => 'x'.repeat(n)), weight: name === 'filters' || name === 'sorters' ? 1 : 0 },
  );
}

function queryArb(entry: Entry, w: World): fc.Arbitrary<string> {
  const name = fc.oneof(
    { arbitrary: entry.queryParams.length ? fc.constantFrom(...entry.queryParams) : fc.constantFrom(...COMMON_QUERY), weight: 6 },
    { arbitrary: fc.constantFrom(...COMMON_QUERY), weight: 2 },
    { arbitrary: fc.constantFrom('__proto__', 'constructor', 'a[b]', 'limit[]', 'filters[0]', '', 'toString'), weight: 1 },
  );
  const pair = name.chain((n) => queryValueArb(n, w).map((v) => `${encode(n)}=${encode(v)}`));
  const raw = fc.constantFrom('limit=%E0%A4%A', 'filters=%00', 'count', '&&', '=', 'offset=1&offset=2', 'limit=1;offset=2', '%', 'a=%ZZ');
  return fc
    .array(fc.oneof({ arbitrary: pair, weight: 6 }, { arbitrary: raw, weight: 1 }), { maxLength: 5 })
    .map((items) => (items.length ? `?${items.join('&')}` : ''));
}

interface Generated {
  path: string[];
  query: string;
  body: Body;
  auth: 'admin' | 'user' | 'none' | string;
  contentLength: 'right' | 'short' | 'long' | 'huge';
}

function requestArb(entry: Entry, w: World, adminId: string): fc.Arbitrary<Generated> {
  const destructive = entry.method === 'DELETE';
  return fc.record({
    path: fc.tuple(...entry.pathParams.map((p) => pathValueArb(p, w, destructive))) as fc.Arbitrary<string[]>,
    query: queryArb(entry, w),
    body: bodyArb(entry, w, adminId),
    auth: fc.oneof(
      { arbitrary: fc.constant('admin'), weight: 12 },
      { arbitrary: fc.constant('user'), weight: 2 },
      { arbitrary: fc.constant('none'), weight: 1 },
      {
        arbitrary: fc.constantFrom(
          'Bearer ',
          'Bearer x.y.z',
          'Basic dXNlcjpwYXNz',
          'bearer\ttoken',
          `Bearer ${'a'.repeat(10_000)}`,
          'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
        ),
        weight: 1,
      },
    ),
    contentLength: fc.oneof(
      { arbitrary: fc.constant('right' as const), weight: 12 },
      { arbitrary: fc.constantFrom('short' as const, 'long' as const, 'huge' as const), weight: 1 },
    ),
  });
}

function build(entry: Entry, g: Generated, tokens: { admin: string; user: string }): InjectOptions {
  let i = 0;
  const url = entry.template.replace(/\{[^}]+\}/g, () => g.path[i++] ?? 'x') + g.query;
  const headers: Record<string, string> = {};
  if (g.auth === 'admin') headers.authorization = `Bearer ${tokens.admin}`;
  else if (g.auth === 'user') headers.authorization = `Bearer ${tokens.user}`;
  else if (g.auth !== 'none') headers.authorization = g.auth;
  if (g.body.contentType !== undefined) headers['content-type'] = g.body.contentType;
  if (g.body.payload !== undefined && g.contentLength !== 'right') {
    const length = Buffer.byteLength(g.body.payload);
    headers['content-length'] = String(g.contentLength === 'short' ? Math.max(0, length - 1) : g.contentLength === 'long' ? length + 10 : 10 ** 12);
  }
  return { method: entry.method, url, headers, ...(g.body.payload !== undefined ? { payload: g.body.payload } : {}) };
}

// ---------------------------------------------------------------------------------------------

describe('fuzz: every operation × hostile requests', () => {
  let h: Harness;
  let w: World;
  let changes: () => Promise<number>;
  let entries: Entry[];
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  before(async () => {
    h = await harness();
    w = await seed(h);
    changes = await changeCounter(h);
    entries = [...(await enumerate(h)), ...EXTRA];
  });
  after(async () => {
    console.log(summary('operations'));
    await h?.close();
  });

  test('the route table is enumerated: 36 operations under 6 flavours, the admin API and the token endpoint', () => {
    assert.equal(entries.length, 36 * 6 + EXTRA.length);
    assert.ok(FILTERS.length > 0);
  });

  test('every operation: no 5xx, documented error shapes, nothing stored by a rejected write', async () => {
    // Destructive operations last, so that the seed world serves every other operation first.
    // FUZZ_ONLY=<text> runs only the operations whose name holds it (e.g. `v2024 patch`, `/admin`).
    const only = process.env.FUZZ_ONLY;
    const order = [...entries]
      .filter((e) => only === undefined || e.name.includes(only))
      .sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
    for (const entry of order) {
      const runsFor =
        entry.key.startsWith('/admin') || entry.oauth
          ? 150
          : entry.template === '/health' || entry.template === '/openapi.json' || entry.template === '/oauth/jwks'
            ? 20
            : SAMPLED.includes(entry.flavour ?? '')
              ? 34
              : 100;
      await fc.assert(
        fc.asyncProperty(requestArb(entry, w, h.admin.identity.id), async (g) => {
          const options = build(entry, g, { admin: h.admin.token, user: w.userToken });
          const write = entry.method !== 'GET';
          const before = write ? await changes() : 0;
          const res = await send(h, options);
          const what = `${entry.name}: ${describeRequest(options)}`;
          assertDocumented(res, what, { oauth: entry.oauth === true });
          if (res.statusCode === 202) await bulkIdle(h);
          if (write && res.statusCode >= 400) {
            assert.equal(await changes(), before, `a rejected request changed the database: ${what} → ${res.statusCode} ${res.body.slice(0, 300)}`);
          }
        }),
        params(runsFor),
      );
    }
  });

  test('Object.prototype is untouched after every request', () => {
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore);
    const probe = {} as Record<string, unknown>;
    for (const key of ['polluted', 'admin', 'isAdmin']) assert.equal(probe[key], undefined, key);
  });
});
