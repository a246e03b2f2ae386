/**
 * End to end through the unmodified official SDK (v2024 classes): what a client reads back is what
 * the documents promise. UUID ids; a source named by its `sourceId`; dates with the offset sent;
 * the approval's calendar date; data in attribute order; names regardless of case (text sorters
 * too); a deleted request gone; a source's owner reading what they own; a request's comment.
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

  test('a source owner with no rights, not an account manager, reads the source, its attributes and its records, and lists it as theirs', async () => {
    const owner = await createApiUser(server, 'fidelity.owner');
    const stranger = await createApiUser(server, 'fidelity.stranger');
    const ownerApi = new NonEmployeeLifecycleManagementV2024Api(configFor(owner));
    const strangerApi = new NonEmployeeLifecycleManagementV2024Api(configFor(stranger));
    const owned = (
      await api.createNonEmployeeSource({
        nonEmployeeSourceRequestBodyV2024: { name: 'Fidelity owned', description: 'e2e', owner: { id: owner.identity.id } },
      })
    ).data;
    assert.deepEqual(owned.accountManagers ?? [], []);
    await api.createNonEmployeeSourceSchemaAttributes({
      sourceId: owned.id!,
      nonEmployeeSchemaAttributeBodyV2024: { type: 'TEXT', label: 'badge', technicalName: 'badge' },
    });
    const record = (await api.createNonEmployeeRecord({ nonEmployeeRequestBodyV2024: recordBody(owned.id!, 'owned.one', { data: { badge: 'B7' } }) as never }))
      .data;

    const read = (await ownerApi.getNonEmployeeSource({ sourceId: owned.id! })).data;
    assert.equal(read.id, owned.id);
    assert.equal(read.name, 'Fidelity owned');
    const attributes = (await ownerApi.getNonEmployeeSourceSchemaAttributes({ sourceId: owned.id! })).data;
    assert.ok(
      attributes.some((a) => a.technicalName === 'badge'),
      JSON.stringify(attributes),
    );
    assert.ok(attributes.some((a) => a.technicalName === 'accountName'));
    const records = (await ownerApi.listNonEmployeeRecords({})).data;
    assert.deepEqual(
      records.map((r) => r.id),
      [record.id],
      'the records of the sources they own, and no others',
    );
    const one = (await ownerApi.getNonEmployeeRecord({ id: record.id! })).data;
    assert.equal(one.accountName, 'owned.one');
    assert.deepEqual(one.data, { badge: 'B7' });
    const mine = (await ownerApi.listNonEmployeeSources({ requestedFor: 'me' })).data;
    assert.deepEqual(
      mine.map((src) => src.id),
      [owned.id],
    );

    // Ownership is what lets them in: someone else with no rights reads none of it.
    assert.equal(await status(strangerApi.getNonEmployeeSource({ sourceId: owned.id! })), 403);
    assert.equal(await status(strangerApi.getNonEmployeeSourceSchemaAttributes({ sourceId: owned.id! })), 403);
    assert.equal(await status(strangerApi.getNonEmployeeRecord({ id: record.id! })), 403);
    assert.deepEqual((await strangerApi.listNonEmployeeRecords({})).data, []);
    assert.deepEqual((await strangerApi.listNonEmployeeSources({ requestedFor: 'me' })).data, []);
  });

  test("a request's comment comes back: the requester's, else the rejection's", async () => {
    const body = { ...recordBody(source.id!, 'commented.one'), comment: 'Starts on Monday' };
    const filed = (await api.createNonEmployeeRequest({ nonEmployeeRequestBodyV2024: body as never })).data;
    assert.equal(filed.comment, 'Starts on Monday');
    assert.equal((await api.getNonEmployeeRequest({ id: filed.id! })).data.comment, 'Starts on Monday');
    const listed = (await api.listNonEmployeeRequests({ requestedFor: 'me', filters: 'accountName eq "commented.one"' })).data;
    assert.deepEqual(
      listed.map((r) => r.comment),
      ['Starts on Monday'],
    );
    const detail = (await approverApi.getNonEmployeeApproval({ id: filed.approvalItems![0]!.id!, includeDetail: true })).data;
    assert.equal(detail.nonEmployeeRequest?.comment, 'Starts on Monday');

    const plain = (await api.createNonEmployeeRequest({ nonEmployeeRequestBodyV2024: recordBody(source.id!, 'commented.two') as never })).data;
    assert.equal(plain.comment, undefined);
    await approverApi.rejectNonEmployeeRequest({ id: plain.approvalItems![0]!.id!, nonEmployeeRejectApprovalDecisionV2024: { comment: 'No budget' } });
    const rejected = (await api.getNonEmployeeRequest({ id: plain.id! })).data;
    assert.equal(rejected.approvalStatus, 'REJECTED');
    assert.equal(rejected.comment, 'No budget');
    const rejectedListed = (await api.listNonEmployeeRequests({ requestedFor: 'me', filters: 'accountName eq "commented.two"' })).data;
    assert.deepEqual(
      rejectedListed.map((r) => r.comment),
      ['No budget'],
    );
  });

  test('text sorters sort regardless of case: alpha, bravo, Mike', async () => {
    for (const name of ['Mike', 'alpha', 'bravo']) {
      await api.createNonEmployeeSource({ nonEmployeeSourceRequestBodyV2024: { name, description: 'sorted', owner: { id: admin.identity.id } } });
    }
    const sourceNames = async (sorters: string) =>
      (await api.listNonEmployeeSources({ sorters })).data.map((src) => src.name).filter((name) => ['Mike', 'alpha', 'bravo'].includes(name!));
    assert.deepEqual(await sourceNames('name'), ['alpha', 'bravo', 'Mike']);
    assert.deepEqual(await sourceNames('-name'), ['Mike', 'bravo', 'alpha']);

    const sorted = (
      await api.createNonEmployeeSource({
        nonEmployeeSourceRequestBodyV2024: { name: 'Fidelity sorted', description: 'e2e', owner: { id: admin.identity.id } },
      })
    ).data;
    for (const firstName of ['Mike', 'alpha', 'bravo']) {
      await api.createNonEmployeeRecord({ nonEmployeeRequestBodyV2024: recordBody(sorted.sourceId!, `sorted.${firstName}`, { firstName }) as never });
    }
    const firstNames = async (sorters: string) =>
      (await api.listNonEmployeeRecords({ filters: `sourceId eq "${sorted.sourceId}"`, sorters })).data.map((r) => r.firstName);
    assert.deepEqual(await firstNames('firstName'), ['alpha', 'bravo', 'Mike']);
    assert.deepEqual(await firstNames('-firstName'), ['Mike', 'bravo', 'alpha']);
    assert.deepEqual(await firstNames('accountName'), ['alpha', 'bravo', 'Mike']);
  });
});
