/**
 * End to end: the unmodified official TypeScript SDK (`sailpoint-api-client`) against the listening
 * server, for non-employee sources and their schema attributes, under the
 * three NELM classes of the SDK: v3, v2024 and beta. The SDK fetches its own token (multipart
 * POST /oauth/token). Every JSON body is checked against SailPoint's OpenAPI slice of its flavour.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Configuration,
  NonEmployeeLifecycleManagementApi,
  NonEmployeeLifecycleManagementBetaApi,
  NonEmployeeLifecycleManagementV2024Api,
} from 'sailpoint-api-client';
import { assertMatchesContract, type Flavour, type HttpMethod } from '../helpers/contract.js';
import { createApiUser, createIdentity, startTestServer, type ApiUser, type TestServer } from '../helpers/server.js';
import type { Identity } from '../../src/modules/directory/model.js';
import { UUID7 } from '../helpers/ids.js';

// ---------------------------------------------------------------------------------------------
// One shape for the three SDK classes: each adapter calls the class's own methods with its own
// parameter names (`nonEmployeeSourceRequestBodyV2024`, `jsonPatchOperationBeta`, …).

interface SdkResponse {
  status: number;
  data: unknown;
  headers: unknown;
}

interface SourceBody {
  name: string;
  description: string;
  owner: { id: string };
  approvers?: { id: string }[];
  accountManagers?: { id: string }[];
}

interface AttributeBody {
  type: string;
  label: string;
  technicalName: string;
  helpText?: string;
  placeholder?: string;
  required?: boolean;
}

interface PatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: string | number | boolean | object;
}

interface ListQuery {
  limit?: number;
  offset?: number;
  count?: boolean;
  requestedFor?: string;
  nonEmployeeCount?: boolean;
  sorters?: string;
}

interface NelmClient {
  createSource(body: SourceBody): Promise<SdkResponse>;
  getSource(sourceId: string): Promise<SdkResponse>;
  listSources(query: ListQuery): Promise<SdkResponse>;
  patchSource(sourceId: string, ops: PatchOp[]): Promise<SdkResponse>;
  deleteSource(sourceId: string): Promise<SdkResponse>;
  createAttribute(sourceId: string, body: AttributeBody): Promise<SdkResponse>;
  listAttributes(sourceId: string): Promise<SdkResponse>;
  getAttribute(sourceId: string, attributeId: string): Promise<SdkResponse>;
  patchAttribute(sourceId: string, attributeId: string, ops: PatchOp[]): Promise<SdkResponse>;
  deleteAttribute(sourceId: string, attributeId: string): Promise<SdkResponse>;
  deleteAllAttributes(sourceId: string): Promise<SdkResponse>;
}

function v3Client(config: Configuration): NelmClient {
  const api = new NonEmployeeLifecycleManagementApi(config);
  return {
    createSource: (body) => api.createNonEmployeeSource({ nonEmployeeSourceRequestBody: body }),
    getSource: (sourceId) => api.getNonEmployeeSource({ sourceId }),
    listSources: (query) => api.listNonEmployeeSources(query),
    patchSource: (sourceId, ops) => api.patchNonEmployeeSource({ sourceId, jsonPatchOperation: ops }),
    deleteSource: (sourceId) => api.deleteNonEmployeeSource({ sourceId }),
    createAttribute: (sourceId, body) => api.createNonEmployeeSourceSchemaAttributes({ sourceId, nonEmployeeSchemaAttributeBody: body }),
    listAttributes: (sourceId) => api.getNonEmployeeSourceSchemaAttributes({ sourceId }),
    getAttribute: (sourceId, attributeId) => api.getNonEmployeeSchemaAttribute({ sourceId, attributeId }),
    patchAttribute: (sourceId, attributeId, ops) => api.patchNonEmployeeSchemaAttribute({ sourceId, attributeId, jsonPatchOperation: ops }),
    deleteAttribute: (sourceId, attributeId) => api.deleteNonEmployeeSchemaAttribute({ sourceId, attributeId }),
    deleteAllAttributes: (sourceId) => api.deleteNonEmployeeSourceSchemaAttributes({ sourceId }),
  };
}

function v2024Client(config: Configuration): NelmClient {
  const api = new NonEmployeeLifecycleManagementV2024Api(config);
  return {
    createSource: (body) => api.createNonEmployeeSource({ nonEmployeeSourceRequestBodyV2024: body }),
    getSource: (sourceId) => api.getNonEmployeeSource({ sourceId }),
    listSources: (query) => api.listNonEmployeeSources(query),
    patchSource: (sourceId, ops) => api.patchNonEmployeeSource({ sourceId, jsonPatchOperationV2024: ops }),
    deleteSource: (sourceId) => api.deleteNonEmployeeSource({ sourceId }),
    createAttribute: (sourceId, body) => api.createNonEmployeeSourceSchemaAttributes({ sourceId, nonEmployeeSchemaAttributeBodyV2024: body }),
    listAttributes: (sourceId) => api.getNonEmployeeSourceSchemaAttributes({ sourceId }),
    getAttribute: (sourceId, attributeId) => api.getNonEmployeeSchemaAttribute({ sourceId, attributeId }),
    patchAttribute: (sourceId, attributeId, ops) => api.patchNonEmployeeSchemaAttribute({ sourceId, attributeId, jsonPatchOperationV2024: ops }),
    deleteAttribute: (sourceId, attributeId) => api.deleteNonEmployeeSchemaAttribute({ sourceId, attributeId }),
    deleteAllAttributes: (sourceId) => api.deleteNonEmployeeSourceSchemaAttributes({ sourceId }),
  };
}

function betaClient(config: Configuration): NelmClient {
  const api = new NonEmployeeLifecycleManagementBetaApi(config);
  return {
    createSource: (body) => api.createNonEmployeeSource({ nonEmployeeSourceRequestBodyBeta: body }),
    getSource: (sourceId) => api.getNonEmployeeSource({ sourceId }),
    listSources: (query) => api.listNonEmployeeSources(query),
    patchSource: (sourceId, ops) => api.patchNonEmployeeSource({ sourceId, jsonPatchOperationBeta: ops }),
    deleteSource: (sourceId) => api.deleteNonEmployeeSource({ sourceId }),
    createAttribute: (sourceId, body) => api.createNonEmployeeSourceSchemaAttributes({ sourceId, nonEmployeeSchemaAttributeBodyBeta: body }),
    listAttributes: (sourceId) => api.getNonEmployeeSourceSchemaAttributes({ sourceId }),
    getAttribute: (sourceId, attributeId) => api.getNonEmployeeSchemaAttribute({ sourceId, attributeId }),
    patchAttribute: (sourceId, attributeId, ops) => api.patchNonEmployeeSchemaAttribute({ sourceId, attributeId, jsonPatchOperationBeta: ops }),
    deleteAttribute: (sourceId, attributeId) => api.deleteNonEmployeeSchemaAttribute({ sourceId, attributeId }),
    deleteAllAttributes: (sourceId) => api.deleteNonEmployeeSourceSchemaAttributes({ sourceId }),
  };
}

const FLAVOURS: { flavour: Extract<Flavour, 'v3' | 'v2024' | 'beta'>; className: string; client: (config: Configuration) => NelmClient }[] = [
  { flavour: 'v3', className: 'NonEmployeeLifecycleManagementApi', client: v3Client },
  { flavour: 'v2024', className: 'NonEmployeeLifecycleManagementV2024Api', client: v2024Client },
  { flavour: 'beta', className: 'NonEmployeeLifecycleManagementBetaApi', client: betaClient },
];

// ---------------------------------------------------------------------------------------------
// Helpers

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
  helpText?: string | null;
  placeholder?: string | null;
  required: boolean;
  created: string;
  modified: string;
}

interface ErrorDto {
  detailCode: string;
  trackingId: string;
  messages: { locale: string | null; localeOrigin: string | null; text: string }[];
  causes: { locale: string | null; localeOrigin: string | null; text: string }[];
}

const SYSTEM_NAMES = ['accountName', 'firstName', 'lastName', 'phone', 'email', 'manager', 'startDate', 'endDate'];

function header(response: { headers: unknown }, name: string): string | undefined {
  const value = (response.headers as Record<string, unknown>)[name.toLowerCase()];
  return value === undefined || value === null ? undefined : String(value);
}

/** Checks the status and the body against the contract, and returns the body. */
function ok<T>(flavour: Flavour, method: HttpMethod, path: string, response: SdkResponse, status = 200): T {
  assert.equal(response.status, status, `${method} ${path}: status`);
  assertMatchesContract(flavour, method, path, status, response.data);
  return response.data as T;
}

/**
 * Awaits a call the SDK must reject (only 2xx resolves), and checks that the parsed error body
 * reached the caller in `error.response.data` as an ErrorResponseDto matching the contract.
 */
async function rejected(flavour: Flavour, method: HttpMethod, path: string, call: Promise<unknown>, status: number, detailCode: string): Promise<ErrorDto> {
  let caught: unknown;
  try {
    await call;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, `${method} ${path} should have failed with ${status}`);
  const response = (caught as { response?: { status: number; data: unknown; headers: unknown } }).response;
  assert.ok(response, `${method} ${path}: the SDK error has no response: ${String(caught)}`);
  assert.equal(response.status, status, `${method} ${path}: ${JSON.stringify(response.data)}`);
  assertMatchesContract(flavour, method, path, status, response.data);
  const body = response.data as ErrorDto;
  assert.equal(body.detailCode, detailCode);
  assert.equal(typeof body.trackingId, 'string');
  assert.equal(body.trackingId, header(response, 'x-request-id'), 'trackingId is the X-Request-Id');
  assert.ok(body.messages.length >= 1 && body.messages.every((m) => typeof m.text === 'string' && m.text.length > 0));
  assert.ok(Array.isArray(body.causes));
  return body;
}

function sdkConfig(server: TestServer, user: ApiUser): Configuration {
  return new Configuration({ baseurl: server.baseUrl, clientId: user.clientId, clientSecret: user.clientSecret, tokenUrl: `${server.baseUrl}/oauth/token` });
}

// ---------------------------------------------------------------------------------------------

describe('e2e: sources and schema attributes through sailpoint-api-client', () => {
  let server: TestServer;
  let admin: ApiUser;
  let reader: ApiUser;
  let owner: Identity;
  let approver: Identity;
  let approver2: Identity;
  let adminConfig: Configuration;
  let readerConfig: Configuration;

  before(async () => {
    server = await startTestServer();
    admin = await createApiUser(server, 'e2e.admin', { admin: true });
    reader = await createApiUser(server, 'e2e.reader', { rights: ['idn:nesr:read'] });
    owner = await createIdentity(server, 'e2e.owner');
    approver = await createIdentity(server, 'e2e.approver');
    approver2 = await createIdentity(server, 'e2e.approver2');
    adminConfig = sdkConfig(server, admin);
    readerConfig = sdkConfig(server, reader);
  });

  after(async () => {
    await server?.close();
  });

  for (const { flavour, className, client: makeClient } of FLAVOURS) {
    describe(`${flavour}: ${className}`, () => {
      let sdk: NelmClient;
      let manager: Identity;
      let source: SourceDto;
      let second: SourceDto;
      let custom: AttributeDto;

      before(async () => {
        sdk = makeClient(adminConfig);
        // An account manager of this flavour's sources only, so requested-for lists exactly them.
        manager = await createIdentity(server, `e2e.manager.${flavour}`);
      });

      test('createNonEmployeeSource', async () => {
        const body: SourceBody = {
          name: `B ${flavour} contractors`,
          description: `Contractors created through the ${flavour} SDK class`,
          owner: { id: owner.id },
          approvers: [{ id: approver.id }],
          accountManagers: [{ id: manager.id }],
        };
        source = ok<SourceDto>(flavour, 'POST', '/non-employee-sources', await sdk.createSource(body));
        assert.match(source.id, UUID7);
        assert.equal(typeof source.sourceId, 'string');
        assert.equal(source.name, body.name);
        assert.equal(source.description, body.description);
        assert.deepEqual(source.approvers, [{ type: 'IDENTITY', id: approver.id }]);
        assert.deepEqual(source.accountManagers, [{ type: 'IDENTITY', id: manager.id }]);
        assert.equal(typeof source.cloudExternalId, 'string');
        assert.equal(source.created, source.modified);
        if (flavour === 'beta') assert.equal(source.nonEmployeeCount, null);

        second = ok<SourceDto>(
          flavour,
          'POST',
          '/non-employee-sources',
          await sdk.createSource({ name: `A ${flavour} interns`, description: '', owner: { id: owner.id }, accountManagers: [{ id: manager.id }] }),
        );
        assert.deepEqual(second.approvers, []);
      });

      test('getNonEmployeeSource', async () => {
        const got = ok<SourceDto>(flavour, 'GET', '/non-employee-sources/{sourceId}', await sdk.getSource(source.id));
        const { cloudExternalId: _c, nonEmployeeCount: _n, ...expected } = source;
        const { nonEmployeeCount, ...rest } = got;
        assert.deepEqual(rest, expected);
        if (flavour === 'beta') assert.equal(nonEmployeeCount, null);
        // The reader (idn:nesr:read) may get any source.
        const asReader = ok<SourceDto>(flavour, 'GET', '/non-employee-sources/{sourceId}', await makeClient(readerConfig).getSource(source.id));
        assert.equal(asReader.id, source.id);
      });

      test('listNonEmployeeSources: requestedFor, nonEmployeeCount, sorters, count', async () => {
        const byName = await sdk.listSources({ requestedFor: manager.id, nonEmployeeCount: true, sorters: 'name', count: true });
        const list = ok<SourceDto[]>(flavour, 'GET', '/non-employee-sources', byName);
        assert.deepEqual(
          list.map((s) => s.id),
          [second.id, source.id],
        );
        assert.equal(header(byName, 'X-Total-Count'), '2');
        assert.ok(list.every((s) => s.nonEmployeeCount === 0));

        const descending = await sdk.listSources({ requestedFor: manager.id, sorters: '-name', limit: 1, offset: 0, count: true });
        const page = ok<SourceDto[]>(flavour, 'GET', '/non-employee-sources', descending);
        assert.equal(descending.status, 200);
        assert.deepEqual(
          page.map((s) => s.id),
          [source.id],
        );
        assert.equal(header(descending, 'X-Total-Count'), '2', 'X-Total-Count ignores limit and offset');
        // v2024/v3: null unless asked for. Beta: left out (its list item's count is not nullable).
        if (flavour === 'beta') assert.equal('nonEmployeeCount' in page[0]!, false);
        else assert.equal(page[0]?.nonEmployeeCount, null, 'nonEmployeeCount is null unless asked for');

        const created = ok<SourceDto[]>(
          flavour,
          'GET',
          '/non-employee-sources',
          await sdk.listSources({ requestedFor: manager.id, nonEmployeeCount: true, sorters: '-created,name' }),
        );
        assert.equal(created.length, 2);

        const noCount = await sdk.listSources({ requestedFor: manager.id, nonEmployeeCount: true });
        ok<SourceDto[]>(flavour, 'GET', '/non-employee-sources', noCount);
        assert.equal(header(noCount, 'X-Total-Count'), undefined, 'X-Total-Count only when count=true');

        // Without requested-for: every source of the org (earlier flavours deleted theirs).
        const all = ok<SourceDto[]>(flavour, 'GET', '/non-employee-sources', await sdk.listSources({ sorters: 'sourceId', nonEmployeeCount: true }));
        assert.ok(all.some((s) => s.id === source.id) && all.some((s) => s.id === second.id));
        const sourceIds = all.map((s) => s.sourceId);
        assert.deepEqual(sourceIds, [...sourceIds].sort());
      });

      // Beta's list item is allOf(NonEmployeeSource {nonEmployeeCount: nullable int32},
      // {nonEmployeeCount: int32}), so null is not allowed there.
      test('listNonEmployeeSources without nonEmployeeCount matches the contract', async () => {
        const list = ok<SourceDto[]>(flavour, 'GET', '/non-employee-sources', await sdk.listSources({ requestedFor: manager.id }));
        assert.equal(list.length, 2);
        if (flavour !== 'beta') assert.ok(list.every((s) => s.nonEmployeeCount === null));
      });

      test('patchNonEmployeeSource: replace /name and /approvers', async () => {
        const patched = ok<SourceDto>(
          flavour,
          'PATCH',
          '/non-employee-sources/{sourceId}',
          await sdk.patchSource(source.id, [
            { op: 'replace', path: '/name', value: `B ${flavour} contractors (renamed)` },
            // The spec's example: an array of identity-id strings.
            { op: 'replace', path: '/approvers', value: [approver2.id, approver.id] },
          ]),
        );
        assert.equal(patched.name, `B ${flavour} contractors (renamed)`);
        assert.deepEqual(patched.approvers, [
          { type: 'IDENTITY', id: approver2.id },
          { type: 'IDENTITY', id: approver.id },
        ]);
        assert.deepEqual(patched.accountManagers, source.accountManagers);
        assert.equal(patched.created, source.created);
        assert.ok(Date.parse(patched.modified) >= Date.parse(source.modified));
        const got = ok<SourceDto>(flavour, 'GET', '/non-employee-sources/{sourceId}', await sdk.getSource(source.id));
        assert.equal(got.name, patched.name);
        assert.deepEqual(got.approvers, patched.approvers);
        source = { ...source, ...got };
      });

      test('createNonEmployeeSourceSchemaAttributes', async () => {
        custom = ok<AttributeDto>(
          flavour,
          'POST',
          '/non-employee-sources/{sourceId}/schema-attributes',
          await sdk.createAttribute(source.id, {
            type: 'TEXT',
            label: 'Badge number',
            technicalName: 'badgeNumber',
            helpText: 'As printed on the badge',
            placeholder: 'B-0000',
            required: false,
          }),
        );
        assert.equal(custom.system, false);
        assert.equal(custom.type, 'TEXT');
        assert.equal(custom.label, 'Badge number');
        assert.equal(custom.technicalName, 'badgeNumber');
        assert.equal(custom.helpText, 'As printed on the badge');
        assert.equal(custom.placeholder, 'B-0000');
        assert.equal(custom.required, false);
      });

      test('getNonEmployeeSourceSchemaAttributes: the 8 system attributes first, then the custom one', async () => {
        const list = ok<AttributeDto[]>(flavour, 'GET', '/non-employee-sources/{sourceId}/schema-attributes', await sdk.listAttributes(source.id));
        assert.equal(list.length, 9);
        assert.deepEqual(
          list.slice(0, 8).map((a) => a.technicalName),
          SYSTEM_NAMES,
        );
        assert.ok(list.slice(0, 8).every((a) => a.system === true));
        assert.deepEqual(list[8], custom);
      });

      test('getNonEmployeeSchemaAttribute', async () => {
        const got = ok<AttributeDto>(
          flavour,
          'GET',
          '/non-employee-sources/{sourceId}/schema-attributes/{attributeId}',
          await sdk.getAttribute(source.id, custom.id),
        );
        assert.deepEqual(got, custom);
      });

      test('patchNonEmployeeSchemaAttribute: replace /label', async () => {
        const patched = ok<AttributeDto>(
          flavour,
          'PATCH',
          '/non-employee-sources/{sourceId}/schema-attributes/{attributeId}',
          await sdk.patchAttribute(source.id, custom.id, [{ op: 'replace', path: '/label', value: 'Badge #' }]),
        );
        assert.equal(patched.label, 'Badge #');
        assert.equal(patched.technicalName, custom.technicalName);
        assert.equal(patched.created, custom.created);
        const got = ok<AttributeDto>(
          flavour,
          'GET',
          '/non-employee-sources/{sourceId}/schema-attributes/{attributeId}',
          await sdk.getAttribute(source.id, custom.id),
        );
        assert.equal(got.label, 'Badge #');
        custom = got;
      });

      test('createNonEmployeeSourceSchemaAttributes errors: duplicate technicalName → 400.1.409, 11th custom → 400.1.4', async () => {
        const path = '/non-employee-sources/{sourceId}/schema-attributes';
        await rejected(
          flavour,
          'POST',
          path,
          sdk.createAttribute(source.id, { type: 'TEXT', label: 'Again', technicalName: 'badgeNumber' }),
          400,
          '400.1.409 Reference conflict',
        );
        // A custom attribute may not take a system attribute's technical name either.
        await rejected(
          flavour,
          'POST',
          path,
          sdk.createAttribute(source.id, { type: 'TEXT', label: 'E-mail', technicalName: 'email' }),
          400,
          '400.1.409 Reference conflict',
        );
        for (let i = 2; i <= 10; i++) {
          ok<AttributeDto>(flavour, 'POST', path, await sdk.createAttribute(source.id, { type: 'TEXT', label: `Extra ${i}`, technicalName: `extra${i}` }));
        }
        const full = ok<AttributeDto[]>(flavour, 'GET', path, await sdk.listAttributes(source.id));
        assert.equal(full.length, 18, '8 system + 10 custom');
        await rejected(
          flavour,
          'POST',
          path,
          sdk.createAttribute(source.id, { type: 'TEXT', label: 'Eleventh', technicalName: 'extra11' }),
          400,
          '400.1.4 Limit violation',
        );
      });

      test('deleteNonEmployeeSchemaAttribute', async () => {
        const path = '/non-employee-sources/{sourceId}/schema-attributes/{attributeId}';
        const list = ok<AttributeDto[]>(flavour, 'GET', '/non-employee-sources/{sourceId}/schema-attributes', await sdk.listAttributes(source.id));
        const victim = list.find((a) => a.technicalName === 'extra10');
        assert.ok(victim);
        const deleted = await sdk.deleteAttribute(source.id, victim.id);
        ok<unknown>(flavour, 'DELETE', path, deleted, 204);
        await rejected(flavour, 'GET', path, sdk.getAttribute(source.id, victim.id), 404, '404 Not found');
        const after = ok<AttributeDto[]>(flavour, 'GET', '/non-employee-sources/{sourceId}/schema-attributes', await sdk.listAttributes(source.id));
        assert.equal(after.length, 17);
        // A system attribute cannot be deleted.
        const system = after[0]!;
        const error = await rejected(flavour, 'DELETE', path, sdk.deleteAttribute(source.id, system.id), 400, '400.1.3 Illegal update attempt');
        assert.match(error.messages[0]!.text, /accountName/);
      });

      test('deleteNonEmployeeSourceSchemaAttributes: removes only the custom attributes', async () => {
        const deleted = await sdk.deleteAllAttributes(source.id);
        ok<unknown>(flavour, 'DELETE', '/non-employee-sources/{sourceId}/schema-attributes', deleted, 204);
        const list = ok<AttributeDto[]>(flavour, 'GET', '/non-employee-sources/{sourceId}/schema-attributes', await sdk.listAttributes(source.id));
        assert.deepEqual(
          list.map((a) => a.technicalName),
          SYSTEM_NAMES,
        );
      });

      test('an identity with only idn:nesr:read gets 403 on create', async () => {
        const asReader = makeClient(readerConfig);
        await rejected(
          flavour,
          'POST',
          '/non-employee-sources',
          asReader.createSource({ name: 'not allowed', description: '', owner: { id: owner.id } }),
          403,
          '403 Forbidden',
        );
        // … and on the writes of the schema attributes.
        await rejected(
          flavour,
          'POST',
          '/non-employee-sources/{sourceId}/schema-attributes',
          asReader.createAttribute(source.id, { type: 'TEXT', label: 'No', technicalName: 'nope' }),
          403,
          '403 Forbidden',
        );
        await rejected(flavour, 'DELETE', '/non-employee-sources/{sourceId}', asReader.deleteSource(source.id), 403, '403 Forbidden');
      });

      test('deleteNonEmployeeSource, then a get of the unknown id → 404 ErrorResponseDto', async () => {
        for (const s of [source, second]) {
          const deleted = await sdk.deleteSource(s.id);
          ok<unknown>(flavour, 'DELETE', '/non-employee-sources/{sourceId}', deleted, 204);
        }
        await rejected(flavour, 'GET', '/non-employee-sources/{sourceId}', sdk.getSource(source.id), 404, '404 Not found');
        await rejected(flavour, 'GET', '/non-employee-sources/{sourceId}/schema-attributes', sdk.listAttributes(source.id), 404, '404 Not found');
        await rejected(flavour, 'DELETE', '/non-employee-sources/{sourceId}', sdk.deleteSource(source.id), 404, '404 Not found');
        const left = ok<SourceDto[]>(flavour, 'GET', '/non-employee-sources', await sdk.listSources({ requestedFor: manager.id, count: true }));
        assert.deepEqual(left, []);
      });
    });
  }

  test('a base URL with a trailing slash (the SDK then requests //v2024/...) still works', async () => {
    const config = new Configuration({
      baseurl: `${server.baseUrl}/`,
      clientId: admin.clientId,
      clientSecret: admin.clientSecret,
      tokenUrl: `${server.baseUrl}/oauth/token`,
    });
    const sdk = v2024Client(config);
    const created = ok<SourceDto>(
      'v2024',
      'POST',
      '/non-employee-sources',
      await sdk.createSource({ name: 'slash', description: '', owner: { id: owner.id } }),
    );
    const list = ok<SourceDto[]>('v2024', 'GET', '/non-employee-sources', await sdk.listSources({ nonEmployeeCount: true }));
    assert.ok(list.some((s) => s.id === created.id));
    ok<unknown>('v2024', 'DELETE', '/non-employee-sources/{sourceId}', await sdk.deleteSource(created.id), 204);
  });

  test('a bad token → 401 with the {error} body of the contract, in error.response.data', async () => {
    for (const { flavour, client } of FLAVOURS) {
      const sdk = client(new Configuration({ baseurl: server.baseUrl, accessToken: 'not-a-token' }));
      let caught: unknown;
      try {
        await sdk.listSources({});
      } catch (error) {
        caught = error;
      }
      const response = (caught as { response?: { status: number; data: unknown } } | undefined)?.response;
      assert.ok(response, `${flavour}: expected an HTTP error`);
      assert.equal(response.status, 401);
      assertMatchesContract(flavour, 'GET', '/non-employee-sources', 401, response.data);
      assert.equal(typeof (response.data as { error?: unknown }).error, 'string');
    }
  });
});
