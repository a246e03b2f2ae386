/**
 * End to end through the unmodified official SDK (v2024 classes): what a client reads back is what
 * the documents promise. UUID ids; a source named by its `sourceId`; dates with the offset sent;
 * the approval's calendar date; data in attribute order; names regardless of case; a deleted
 * request gone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Configuration, NonEmployeeLifecycleManagementV2024Api, type NonEmployeeSourceWithCloudExternalIdV2024 } from 'sailpoint-api-client';
import { recordBody } from '../helpers/factories.js';
import { UUID7 } from '../helpers/ids.js';
import { createApiUser, startTestServer, type ApiUser, type TestServer } from '../helpers/server.js';

async function status(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    const response = (error as { response?: { status: number } }).response;
    assert.ok(response, String(error));
    return response.status;
  }
}

describe('fidelity through the official SDK', () => {
  let server: TestServer;
  let admin: ApiUser;
  let approver: ApiUser;
  let api: NonEmployeeLifecycleManagementV2024Api;
  let approverApi: NonEmployeeLifecycleManagementV2024Api;
  let source: NonEmployeeSourceWithCloudExternalIdV2024;

  const configFor = (user: ApiUser) =>
    new Configuration({ baseurl: server.baseUrl, clientId: user.clientId, clientSecret: user.clientSecret, tokenUrl: `${server.baseUrl}/oauth/token` });

  before(async () => {
    server = await startTestServer();
    admin = await createApiUser(server, 'fidelity.admin', { admin: true });
    approver = await createApiUser(server, 'fidelity.approver');
    await createApiUser(server, 'jane.doe');
    api = new NonEmployeeLifecycleManagementV2024Api(configFor(admin));
    approverApi = new NonEmployeeLifecycleManagementV2024Api(configFor(approver));
    source = (
      await api.createNonEmployeeSource({
        nonEmployeeSourceRequestBodyV2024: {
          name: 'Fidelity',
          description: 'e2e',
          owner: { id: admin.identity.id },
          approvers: [{ id: approver.identity.id }],
        },
      })
    ).data;
    for (const technicalName of ['zeta', 'alpha']) {
      await api.createNonEmployeeSourceSchemaAttributes({
        sourceId: source.id!,
        nonEmployeeSchemaAttributeBodyV2024: { type: 'TEXT', label: technicalName, technicalName },
      });
    }
  });
  after(async () => server.close());

  test('a record named by the source sourceId: UUID id, dates as sent, data in attribute order', async () => {
    assert.match(source.id!, UUID7);
    const body = recordBody(source.sourceId!, 'William.Smith', {
      startDate: '2020-03-24T23:30:00-05:00',
      data: { alpha: 'a', zeta: 'z' },
    });
    const record = (await api.createNonEmployeeRecord({ nonEmployeeRequestBodyV2024: body as never })).data;
    assert.match(record.id!, UUID7);
    assert.equal(record.sourceId, source.id);
    assert.equal(record.startDate, '2020-03-24T23:30:00-05:00');
    assert.deepEqual(Object.keys(record.data!), ['zeta', 'alpha']);
    const listed = (await api.listNonEmployeeRecords({ filters: `sourceId eq "${source.sourceId}"` })).data;
    assert.deepEqual(
      listed.map((r) => r.id),
      [record.id],
    );
    // The same account in another case is a conflict.
    assert.equal(await status(api.createNonEmployeeRecord({ nonEmployeeRequestBodyV2024: { ...body, accountName: 'william.smith' } as never })), 400);
  });

  test("a request keeps its offset; the approver's detail shows the date the client wrote; a deleted request is gone", async () => {
    const body = recordBody(source.id!, 'late.starter', { startDate: '2020-03-24T23:30:00-05:00', manager: 'JANE.DOE' });
    const request = (await api.createNonEmployeeRequest({ nonEmployeeRequestBodyV2024: body as never })).data;
    assert.match(request.id!, UUID7);
    assert.equal(request.startDate, '2020-03-24T23:30:00-05:00');
    const itemId = request.approvalItems![0]!.id!;
    assert.match(itemId, UUID7);
    const detail = (await approverApi.getNonEmployeeApproval({ id: itemId })).data;
    assert.equal(detail.nonEmployeeRequest?.startDate, '2020-03-24');
    // The SDK's model has no `name` on the requester; the published schema does.
    assert.equal((detail.nonEmployeeRequest?.requester as { name?: string } | undefined)?.name, 'fidelity.admin');
    await api.deleteNonEmployeeRequest({ id: request.id! });
    assert.equal(await status(api.getNonEmployeeRequest({ id: request.id! })), 404);
    assert.equal(await status(api.deleteNonEmployeeRequest({ id: request.id! })), 404);
  });
});
