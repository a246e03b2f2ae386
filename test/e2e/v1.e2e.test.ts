/**
 * End to end over a real socket with plain `fetch`: the per-resource v1 API
 * (`/non-employee-sources/v1/...`), which the official SDK release does not cover.
 * Tokens come from a multipart `FormData` POST, as the SDK sends them. Every JSON body is checked
 * against `nelm-v1.openapi.json`. Also: a doubled slash after the host, and `+` for spaces in the
 * query string (what the SDK sends).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertMatchesContract, type Flavour, type HttpMethod } from '../helpers/contract.js';
import { createApiUser, createIdentity, fetchToken, startTestServer, type ApiUser, type TestServer } from '../helpers/server.js';
import type { Identity } from '../../src/modules/directory/model.js';
import { otherSpelling } from '../helpers/ids.js';

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
}

interface SourceDto {
  id: string;
  sourceId: string;
  name: string;
  description: string;
  approvers: { type: string; id: string }[];
  accountManagers: { type: string; id: string }[];
  created: string;
  modified: string;
  cloudExternalId?: string;
  nonEmployeeCount?: number | null;
}

interface AttributeDto {
  id: string;
  system: boolean;
  type: string;
  label: string;
  technicalName: string;
  helpText?: string;
  placeholder?: string;
  required: boolean;
  created: string;
  modified: string;
}

interface ErrorDto {
  detailCode: string;
  trackingId: string;
  messages: { text: string }[];
  causes: { text: string }[];
}

const SYSTEM_NAMES = ['accountName', 'firstName', 'lastName', 'phone', 'email', 'manager', 'startDate', 'endDate'];
const SOURCES = '/non-employee-sources/v1';
const SOURCE = '/non-employee-sources/v1/{sourceId}';
const ATTRIBUTES = '/non-employee-sources/v1/{sourceId}/schema-attributes';
const ATTRIBUTE = '/non-employee-sources/v1/{sourceId}/schema-attributes/{attributeId}';

describe('e2e: the per-resource v1 API with fetch', () => {
  let server: TestServer;
  let admin: ApiUser;
  let reader: ApiUser;
  let managerUser: ApiUser;
  let owner: Identity;
  let approver: Identity;
  let approver2: Identity;
  const tokens = { admin: '', reader: '', manager: '' };

  /** One HTTP call; `path` is sent as is (query string included), bodies as JSON unless told. */
  async function call(method: HttpMethod, path: string, token: string | undefined, body?: unknown, contentType = 'application/json'): Promise<Reply> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = contentType;
    const response = await fetch(`${server.baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await response.text();
    const json = /json/.test(response.headers.get('content-type') ?? '') && text !== '';
    return { status: response.status, headers: response.headers, body: json ? JSON.parse(text) : text };
  }

  /** Asserts the status and the contract (flavour v1 unless told) and returns the body. */
  function expect<T>(reply: Reply, method: HttpMethod, template: string, status = 200, flavour: Flavour = 'v1'): T {
    assert.equal(reply.status, status, `${method} ${template}: ${JSON.stringify(reply.body)}`);
    assertMatchesContract(flavour, method, template, status, reply.body);
    return reply.body as T;
  }

  function expectError(reply: Reply, method: HttpMethod, template: string, status: number, detailCode: string | RegExp): ErrorDto {
    const body = expect<ErrorDto>(reply, method, template, status);
    if (typeof detailCode === 'string') assert.equal(body.detailCode, detailCode);
    else assert.match(body.detailCode, detailCode);
    assert.equal(body.trackingId, reply.headers.get('x-request-id'));
    assert.ok(body.messages.length >= 1);
    return body;
  }

  before(async () => {
    server = await startTestServer();
    admin = await createApiUser(server, 'v1.admin', { admin: true });
    reader = await createApiUser(server, 'v1.reader', { rights: ['idn:nesr:read'] });
    // An account manager without any role context: reaches its sources through requested-for=me.
    managerUser = await createApiUser(server, 'v1.manager');
    owner = await createIdentity(server, 'v1.owner');
    approver = await createIdentity(server, 'v1.approver');
    approver2 = await createIdentity(server, 'v1.approver2');
    tokens.reader = await fetchToken(server.baseUrl, reader.clientId, reader.clientSecret);
    tokens.manager = await fetchToken(server.baseUrl, managerUser.clientId, managerUser.clientSecret);
  });

  after(async () => {
    await server?.close();
  });

  test('POST /oauth/token as multipart FormData → 200 with access_token', async () => {
    const form = new FormData();
    form.append('grant_type', 'client_credentials');
    form.append('client_id', admin.clientId);
    form.append('client_secret', admin.clientSecret);
    const response = await fetch(`${server.baseUrl}/oauth/token`, { method: 'POST', body: form });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(typeof body.access_token, 'string');
    assert.equal(body.token_type.toLowerCase(), 'bearer');
    assert.equal(typeof body.expires_in, 'number');
    tokens.admin = body.access_token;
  });

  test('no bearer token → 401 {error} as the contract shapes it', async () => {
    const reply = await call('GET', SOURCES, undefined);
    const body = expect<{ error: string }>(reply, 'GET', SOURCES, 401);
    assert.equal(typeof body.error, 'string');
  });

  describe('sources and schema attributes', () => {
    let source: SourceDto;
    let second: SourceDto;
    let custom: AttributeDto;

    test('createNonEmployeeSourceV1', async () => {
      const body = {
        name: 'B v1 contractors',
        description: 'Created through /non-employee-sources/v1',
        owner: { id: owner.id },
        approvers: [{ id: approver.id }],
        accountManagers: [{ id: managerUser.identity.id }],
      };
      source = expect<SourceDto>(await call('POST', SOURCES, tokens.admin, body), 'POST', SOURCES);
      assert.equal(source.name, body.name);
      assert.deepEqual(source.approvers, [{ type: 'IDENTITY', id: approver.id }]);
      assert.deepEqual(source.accountManagers, [{ type: 'IDENTITY', id: managerUser.identity.id }]);
      assert.equal(typeof source.cloudExternalId, 'string');
      second = expect<SourceDto>(
        await call('POST', SOURCES, tokens.admin, {
          name: 'A v1 interns',
          description: 'second',
          owner: { id: owner.id },
          accountManagers: [{ id: managerUser.identity.id }],
        }),
        'POST',
        SOURCES,
      );
    });

    test('getNonEmployeeSourceV1', async () => {
      const got = expect<SourceDto>(await call('GET', `${SOURCES}/${source.id}`, tokens.admin), 'GET', SOURCE);
      const { cloudExternalId: _c, ...expected } = source;
      assert.deepEqual(got, expected);
      // The other spelling of the id names the same source.
      assert.equal(expect<SourceDto>(await call('GET', `${SOURCES}/${otherSpelling(source.id)}`, tokens.admin), 'GET', SOURCE).id, source.id);
    });

    test('listNonEmployeeSourcesV1: requested-for, non-employee-count, sorters, count', async () => {
      const q = `requested-for=${managerUser.identity.id}&non-employee-count=true&sorters=name&count=true`;
      const reply = await call('GET', `${SOURCES}?${q}`, tokens.admin);
      const list = expect<SourceDto[]>(reply, 'GET', SOURCES);
      assert.deepEqual(
        list.map((s) => s.id),
        [second.id, source.id],
      );
      assert.ok(list.every((s) => s.nonEmployeeCount === 0));
      assert.equal(reply.headers.get('x-total-count'), '2');

      const page = await call('GET', `${SOURCES}?requested-for=${managerUser.identity.id}&sorters=-name&limit=1&offset=1&count=true`, tokens.admin);
      const one = expect<SourceDto[]>(page, 'GET', SOURCES);
      assert.deepEqual(
        one.map((s) => s.id),
        [second.id],
      );
      assert.equal(one[0]?.nonEmployeeCount, null);
      assert.equal(page.headers.get('x-total-count'), '2');
      assert.equal((await call('GET', `${SOURCES}?requested-for=${managerUser.identity.id}`, tokens.admin)).headers.get('x-total-count'), null);
    });

    test('an account manager without role context: requested-for=me, get, list schema attributes', async () => {
      const mine = expect<SourceDto[]>(await call('GET', `${SOURCES}?requested-for=me&sorters=name`, tokens.manager), 'GET', SOURCES);
      assert.deepEqual(
        mine.map((s) => s.id),
        [second.id, source.id],
      );
      expect<SourceDto>(await call('GET', `${SOURCES}/${source.id}`, tokens.manager), 'GET', SOURCE);
      expect<AttributeDto[]>(await call('GET', `${SOURCES}/${source.id}/schema-attributes`, tokens.manager), 'GET', ATTRIBUTES);
      // Every source needs idn:nesr:read.
      expectError(await call('GET', SOURCES, tokens.manager), 'GET', SOURCES, 403, '403 Forbidden');
    });

    test('spaces encoded as + in the query are decoded (sorters, requested-for)', async () => {
      const expected = expect<SourceDto[]>(await call('GET', `${SOURCES}?requested-for=me&sorters=-name,created`, tokens.manager), 'GET', SOURCES);
      // `+` is a space: "-name, created", and the space after the comma is allowed.
      const plus = expect<SourceDto[]>(await call('GET', `${SOURCES}?requested-for=me&sorters=-name,+created`, tokens.manager), 'GET', SOURCES);
      assert.deepEqual(plus, expected);
      const percent = expect<SourceDto[]>(await call('GET', `${SOURCES}?requested-for=me&sorters=-name,%20created`, tokens.manager), 'GET', SOURCES);
      assert.deepEqual(percent, expected);
      // A literal plus (%2B) is not a space: '+created' is no sortable field.
      const literal = expectError(
        await call('GET', `${SOURCES}?requested-for=me&sorters=-name,%2Bcreated`, tokens.manager),
        'GET',
        SOURCES,
        400,
        '400.1 Bad Request Content',
      );
      assert.match(literal.messages[0]!.text, /\+created/);
      // requested-for: `+` and `%20` name the same value.
      const id = managerUser.identity.id;
      const withPlus = await call('GET', `${SOURCES}?requested-for=${id}+&sorters=name`, tokens.admin);
      const withSpace = await call('GET', `${SOURCES}?requested-for=${id}%20&sorters=name`, tokens.admin);
      assert.equal(withPlus.status, withSpace.status);
      if (withPlus.status === 200) assert.deepEqual(withPlus.body, withSpace.body);
      else assert.deepEqual((withPlus.body as ErrorDto).messages, (withSpace.body as ErrorDto).messages);
      // The sorters an SDK user writes with a space after the comma reach the server as `+`.
      const sdkStyle = new URLSearchParams({ 'requested-for': 'me', sorters: '-name, created' }).toString();
      assert.match(sdkStyle, /sorters=-name%2C\+created/);
      assert.deepEqual(expect<SourceDto[]>(await call('GET', `${SOURCES}?${sdkStyle}`, tokens.manager), 'GET', SOURCES), expected);
    });

    test('a doubled slash after the host (a base URL with a trailing slash) still routes', async () => {
      const year = await call('GET', `//v2024/non-employee-sources?requested-for=me&sorters=name`, tokens.manager);
      const yearList = expect<SourceDto[]>(year, 'GET', '/non-employee-sources', 200, 'v2024');
      assert.deepEqual(
        yearList.map((s) => s.id),
        [second.id, source.id],
      );
      expect<SourceDto>(await call('GET', `//v2024/non-employee-sources/${source.id}`, tokens.admin), 'GET', '/non-employee-sources/{sourceId}', 200, 'v2024');
      const v1 = await call('GET', `//non-employee-sources/v1/${source.id}/schema-attributes`, tokens.admin);
      assert.equal(expect<AttributeDto[]>(v1, 'GET', ATTRIBUTES).length, 8);
    });

    test('patchNonEmployeeSourceV1 (application/json-patch+json): replace /name and /approvers', async () => {
      const ops = [
        { op: 'replace', path: '/name', value: 'B v1 contractors (renamed)' },
        { op: 'replace', path: '/approvers', value: [approver2.id] },
      ];
      const patched = expect<SourceDto>(await call('PATCH', `${SOURCES}/${source.id}`, tokens.admin, ops, 'application/json-patch+json'), 'PATCH', SOURCE);
      assert.equal(patched.name, 'B v1 contractors (renamed)');
      assert.deepEqual(patched.approvers, [{ type: 'IDENTITY', id: approver2.id }]);
      assert.equal(patched.created, source.created);
      const got = expect<SourceDto>(await call('GET', `${SOURCES}/${source.id}`, tokens.admin), 'GET', SOURCE);
      assert.deepEqual(got, patched);
    });

    test('createNonEmployeeSourceSchemaAttributesV1', async () => {
      custom = expect<AttributeDto>(
        await call('POST', `${SOURCES}/${source.id}/schema-attributes`, tokens.admin, {
          type: 'TEXT',
          label: 'Cost center',
          technicalName: 'costCenter',
          helpText: 'Finance code',
          required: true,
        }),
        'POST',
        ATTRIBUTES,
      );
      assert.equal(custom.system, false);
      assert.equal(custom.required, true);
      assert.equal(custom.helpText, 'Finance code');
    });

    test('getNonEmployeeSourceSchemaAttributesV1: 8 system first, then the custom one', async () => {
      const list = expect<AttributeDto[]>(await call('GET', `${SOURCES}/${source.id}/schema-attributes`, tokens.admin), 'GET', ATTRIBUTES);
      assert.deepEqual(
        list.map((a) => a.technicalName),
        [...SYSTEM_NAMES, 'costCenter'],
      );
      assert.deepEqual(list[8], custom);
    });

    test('getNonEmployeeSchemaAttributeV1 and patchNonEmployeeSchemaAttributeV1', async () => {
      const url = `${SOURCES}/${source.id}/schema-attributes/${custom.id}`;
      assert.deepEqual(expect<AttributeDto>(await call('GET', url, tokens.admin), 'GET', ATTRIBUTE), custom);
      const patched = expect<AttributeDto>(
        await call('PATCH', url, tokens.admin, [{ op: 'replace', path: '/label', value: 'Cost centre' }], 'application/json-patch+json'),
        'PATCH',
        ATTRIBUTE,
      );
      assert.equal(patched.label, 'Cost centre');
      assert.deepEqual(expect<AttributeDto>(await call('GET', url, tokens.admin), 'GET', ATTRIBUTE), patched);
      // A field that may not be patched (the spec names no detail code for it).
      const refused = expectError(
        await call('PATCH', url, tokens.admin, [{ op: 'replace', path: '/technicalName', value: 'other' }], 'application/json-patch+json'),
        'PATCH',
        ATTRIBUTE,
        400,
        /^400\.1/,
      );
      assert.match(refused.messages[0]!.text, /technicalName/);
    });

    test('schema attribute errors: duplicate technicalName → 400.1.409, 11th custom → 400.1.4', async () => {
      const url = `${SOURCES}/${source.id}/schema-attributes`;
      expectError(
        await call('POST', url, tokens.admin, { type: 'TEXT', label: 'Dup', technicalName: 'costCenter' }),
        'POST',
        ATTRIBUTES,
        400,
        '400.1.409 Reference conflict',
      );
      for (let i = 2; i <= 10; i++) {
        expect<AttributeDto>(await call('POST', url, tokens.admin, { type: 'TEXT', label: `Extra ${i}`, technicalName: `extra${i}` }), 'POST', ATTRIBUTES);
      }
      assert.equal(expect<AttributeDto[]>(await call('GET', url, tokens.admin), 'GET', ATTRIBUTES).length, 18);
      expectError(
        await call('POST', url, tokens.admin, { type: 'TEXT', label: 'Eleventh', technicalName: 'extra11' }),
        'POST',
        ATTRIBUTES,
        400,
        '400.1.4 Limit violation',
      );
    });

    test('deleteNonEmployeeSchemaAttributeV1 and deleteNonEmployeeSourceSchemaAttributesV1', async () => {
      const one = await call('DELETE', `${SOURCES}/${source.id}/schema-attributes/${custom.id}`, tokens.admin);
      expect<string>(one, 'DELETE', ATTRIBUTE, 204);
      expectError(await call('GET', `${SOURCES}/${source.id}/schema-attributes/${custom.id}`, tokens.admin), 'GET', ATTRIBUTE, 404, '404 Not found');
      assert.equal(expect<AttributeDto[]>(await call('GET', `${SOURCES}/${source.id}/schema-attributes`, tokens.admin), 'GET', ATTRIBUTES).length, 17);
      const all = await call('DELETE', `${SOURCES}/${source.id}/schema-attributes`, tokens.admin);
      expect<string>(all, 'DELETE', ATTRIBUTES, 204);
      // Idempotent: deleting all custom attributes again changes nothing and still succeeds.
      expect<string>(await call('DELETE', `${SOURCES}/${source.id}/schema-attributes`, tokens.admin), 'DELETE', ATTRIBUTES, 204);
      const left = expect<AttributeDto[]>(await call('GET', `${SOURCES}/${source.id}/schema-attributes`, tokens.admin), 'GET', ATTRIBUTES);
      assert.deepEqual(
        left.map((a) => a.technicalName),
        SYSTEM_NAMES,
      );
    });

    test('403 for an identity with only idn:nesr:read; 404 for an unknown id', async () => {
      expectError(
        await call('POST', SOURCES, tokens.reader, { name: 'nope', description: '', owner: { id: owner.id } }),
        'POST',
        SOURCES,
        403,
        '403 Forbidden',
      );
      expectError(
        await call('PATCH', `${SOURCES}/${source.id}`, tokens.reader, [{ op: 'replace', path: '/name', value: 'x' }], 'application/json-patch+json'),
        'PATCH',
        SOURCE,
        403,
        '403 Forbidden',
      );
      expect<SourceDto>(await call('GET', `${SOURCES}/${source.id}`, tokens.reader), 'GET', SOURCE);
      const unknown = '0123456789abcdef0123456789abcdef';
      expectError(await call('GET', `${SOURCES}/${unknown}`, tokens.admin), 'GET', SOURCE, 404, '404 Not found');
      expectError(await call('GET', `${SOURCES}/${unknown}/schema-attributes`, tokens.admin), 'GET', ATTRIBUTES, 404, '404 Not found');
    });

    test('deleteNonEmployeeSourceV1', async () => {
      for (const s of [source, second]) {
        expect<string>(await call('DELETE', `${SOURCES}/${s.id}`, tokens.admin), 'DELETE', SOURCE, 204);
      }
      expectError(await call('GET', `${SOURCES}/${source.id}`, tokens.admin), 'GET', SOURCE, 404, '404 Not found');
      expectError(await call('DELETE', `${SOURCES}/${source.id}`, tokens.admin), 'DELETE', SOURCE, 404, '404 Not found');
      assert.deepEqual(expect<SourceDto[]>(await call('GET', `${SOURCES}?requested-for=me`, tokens.manager), 'GET', SOURCES), []);
    });
  });
});
