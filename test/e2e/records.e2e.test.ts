/**
 * End to end: non-employee records through the unmodified official SDK (v3, v2024 and beta
 * classes), every JSON body checked against SailPoint's OpenAPI slice of its flavour; the SDK's
 * own Paginator pages through more than one page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Configuration,
  NonEmployeeLifecycleManagementApi,
  NonEmployeeLifecycleManagementBetaApi,
  NonEmployeeLifecycleManagementV2024Api,
  Paginator,
} from 'sailpoint-api-client';
import { assertMatchesContract, type Flavour } from '../helpers/contract.js';
import { createApiUser, startTestServer, type ApiUser, type TestServer } from '../helpers/server.js';
import { recordBody } from '../helpers/factories.js';

type Body = Record<string, unknown>;
interface Response {
  status: number;
  data: unknown;
  headers: unknown;
}
interface RecordsClient {
  create(body: Body): Promise<Response>;
  get(id: string): Promise<Response>;
  list(query: { limit?: number; offset?: number; count?: boolean; sorters?: string; filters?: string }): Promise<Response>;
  put(id: string, body: Body): Promise<Response>;
  patch(id: string, ops: { op: 'replace'; path: string; value: string }[]): Promise<Response>;
  remove(id: string): Promise<Response>;
  bulkDelete(ids: string[]): Promise<Response>;
  /** The SDK's Paginator over the list operation. */
  all(filters: string): Promise<Response>;
}

function client(flavour: 'v3' | 'v2024' | 'beta', config: Configuration): RecordsClient {
  if (flavour === 'v3') {
    const api = new NonEmployeeLifecycleManagementApi(config);
    return {
      create: (b) => api.createNonEmployeeRecord({ nonEmployeeRequestBody: b as never }),
      get: (id) => api.getNonEmployeeRecord({ id }),
      list: (q) => api.listNonEmployeeRecords(q),
      put: (id, b) => api.updateNonEmployeeRecord({ id, nonEmployeeRequestBody: b as never }),
      patch: (id, ops) => api.patchNonEmployeeRecord({ id, jsonPatchOperation: ops }),
      remove: (id) => api.deleteNonEmployeeRecord({ id }),
      bulkDelete: (ids) => api.deleteNonEmployeeRecordsInBulk({ deleteNonEmployeeRecordsInBulkRequest: { ids } }),
      all: (filters) => Paginator.paginate(api, api.listNonEmployeeRecords, { filters }, 250),
    };
  }
  if (flavour === 'v2024') {
    const api = new NonEmployeeLifecycleManagementV2024Api(config);
    return {
      create: (b) => api.createNonEmployeeRecord({ nonEmployeeRequestBodyV2024: b as never }),
      get: (id) => api.getNonEmployeeRecord({ id }),
      list: (q) => api.listNonEmployeeRecords(q),
      put: (id, b) => api.updateNonEmployeeRecord({ id, nonEmployeeRequestBodyV2024: b as never }),
      patch: (id, ops) => api.patchNonEmployeeRecord({ id, jsonPatchOperationV2024: ops }),
      remove: (id) => api.deleteNonEmployeeRecord({ id }),
      bulkDelete: (ids) => api.deleteNonEmployeeRecordsInBulk({ deleteNonEmployeeRecordsInBulkRequestV2024: { ids } }),
      all: (filters) => Paginator.paginate(api, api.listNonEmployeeRecords, { filters }, 250),
    };
  }
  const api = new NonEmployeeLifecycleManagementBetaApi(config);
  return {
    create: (b) => api.createNonEmployeeRecord({ nonEmployeeRequestBodyBeta: b as never }),
    get: (id) => api.getNonEmployeeRecord({ id }),
    list: (q) => api.listNonEmployeeRecords(q),
    put: (id, b) => api.updateNonEmployeeRecord({ id, nonEmployeeRequestBodyBeta: b as never }),
    patch: (id, ops) => api.patchNonEmployeeRecord({ id, jsonPatchOperationBeta: ops }),
    remove: (id) => api.deleteNonEmployeeRecord({ id }),
    bulkDelete: (ids) => api.deleteNonEmployeeRecordInBulk({ deleteNonEmployeeRecordInBulkRequestBeta: { ids } }),
    all: (filters) => Paginator.paginate(api, api.listNonEmployeeRecords, { filters }, 250),
  };
}

async function rejected(call: Promise<Response>, status: number): Promise<{ detailCode: string; causes: { text: string }[] }> {
  try {
    await call;
  } catch (error) {
    const response = (error as { response?: { status: number; data: { detailCode: string; causes: { text: string }[] } } }).response;
    assert.ok(response, String(error));
    assert.equal(response.status, status);
    assert.equal(typeof response.data.detailCode, 'string');
    return response.data;
  }
  throw new Error(`expected a ${status}`);
}

describe('records through the official SDK', () => {
  let server: TestServer;
  let admin: ApiUser;
  let config: Configuration;
  let sourceId: string;

  before(async () => {
    server = await startTestServer();
    admin = await createApiUser(server, 'records.admin', { admin: true });
    await createApiUser(server, 'jane.doe', { rights: ['idn:nesr:read'] });
    config = new Configuration({
      baseurl: server.baseUrl,
      clientId: admin.clientId,
      clientSecret: admin.clientSecret,
      tokenUrl: `${server.baseUrl}/oauth/token`,
    });
    const sources = new NonEmployeeLifecycleManagementV2024Api(config);
    sourceId = (
      await sources.createNonEmployeeSource({
        nonEmployeeSourceRequestBodyV2024: { name: 'Contractors', description: 'e2e', owner: { id: admin.identity.id } },
      })
    ).data.id!;
    await sources.createNonEmployeeSourceSchemaAttributes({
      sourceId,
      nonEmployeeSchemaAttributeBodyV2024: { type: 'TEXT', label: 'Badge', technicalName: 'badge', required: true },
    });
  });
  after(async () => server.close());

  for (const flavour of ['v3', 'v2024', 'beta'] as const) {
    test(`${flavour}: create, get, list, put, patch, delete, bulk delete`, async () => {
      const sdk = client(flavour, config);
      const check = (f: Flavour, method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, r: Response) => {
        assert.equal(r.status, 200);
        assertMatchesContract(f, method, path, 200, r.data);
        return r.data as Body & { id: string };
      };
      const body = (accountName: string, startDate: string) => recordBody(sourceId, accountName, { startDate, data: { badge: 'B-1' } });
      const created = check(flavour, 'POST', '/non-employee-records', await sdk.create(body(`${flavour}.one`, '2020-03-24T00:00-05:00')));
      assert.equal(created.startDate, '2020-03-24T00:00:00-05:00', 'the offset it was sent with');
      assert.deepEqual(created.data, { badge: 'B-1' });
      const second = check(flavour, 'POST', '/non-employee-records', await sdk.create(body(`${flavour}.two`, '2020-03-24')));

      assert.deepEqual(check(flavour, 'GET', '/non-employee-records/{id}', await sdk.get(created.id)), created);

      const page = await sdk.list({ filters: `sourceId eq "${sourceId}" and accountName sw "${flavour}."`, sorters: '-accountName', count: true, limit: 1 });
      const rows = page.data as { id: string }[];
      assertMatchesContract(flavour, 'GET', '/non-employee-records', 200, rows);
      assert.deepEqual(
        rows.map((r) => r.id),
        [second.id],
      );
      assert.equal((page.headers as Record<string, string>)['x-total-count'], '2');

      const replaced = check(
        flavour,
        'PUT',
        '/non-employee-records/{id}',
        await sdk.put(created.id, { ...body(`${flavour}.one`, '2020-03-24'), lastName: 'Smythe' }),
      );
      assert.equal(replaced.lastName, 'Smythe');
      const again = check(
        flavour,
        'PUT',
        '/non-employee-records/{id}',
        await sdk.put(created.id, { ...body(`${flavour}.one`, '2020-03-24'), lastName: 'Smythe' }),
      );
      assert.deepEqual(again, replaced, 'a repeated PUT yields the same record');

      const patched = check(
        flavour,
        'PATCH',
        '/non-employee-records/{id}',
        await sdk.patch(created.id, [{ op: 'replace', path: '/endDate', value: '2030-01-01' }]),
      );
      assert.equal(patched.endDate, '2030-01-01T00:00:00Z');

      const duplicate = await rejected(sdk.create(body(`${flavour}.one`, '2020-03-24')), 400);
      assert.equal(duplicate.detailCode, '400.1.409 Reference conflict');
      const invalid = await rejected(sdk.create({ ...body(`${flavour}.three`, 'yesterday'), email: 'nope', data: { badge: 'B', shoe: '42' } }), 400);
      const texts = invalid.causes.map((c) => c.text).join(' | ');
      for (const field of ['startDate', 'email', 'shoe']) assert.match(texts, new RegExp(field));

      assert.equal((await sdk.remove(created.id)).status, 204);
      assert.equal((await rejected(sdk.remove(created.id), 404)).detailCode, '404 Not found');
      const unknown = 'ffffffffffffffffffffffffffffffff';
      const partial = await rejected(sdk.bulkDelete([second.id, unknown]), 400);
      assert.match(partial.causes.map((c) => c.text).join(' '), new RegExp(unknown));
      assert.equal((await sdk.get(second.id)).status, 200, 'bulk delete is all or nothing');
      assert.equal((await sdk.bulkDelete([second.id])).status, 204);
      await rejected(sdk.get(second.id), 404);
    });
  }

  test('the SDK Paginator reads every record across pages of 250', async () => {
    const sdk = client('v2024', config);
    const total = 260;
    for (let i = 0; i < total; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, total - i) }, (_, k) =>
          sdk.create({
            accountName: `page.${String(i + k).padStart(3, '0')}`,
            firstName: 'P',
            lastName: 'Q',
            email: `p${i + k}@example.com`,
            phone: '1',
            manager: 'jane.doe',
            sourceId,
            startDate: '2024-01-01',
            endDate: '2024-12-31',
            data: { badge: 'x' },
          }),
        ),
      );
    }
    const all = await sdk.all(`accountName sw "page."`);
    const names = (all.data as { accountName: string }[]).map((r) => r.accountName);
    assert.equal(names.length, total);
    assert.equal(new Set(names).size, total, 'no record twice, none missing');
  });
});
