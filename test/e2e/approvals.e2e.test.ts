/**
 * End to end: the unmodified official SDK (`sailpoint-api-client`, v3, v2024 and beta classes)
 * against the listening server, for the whole request flow: an account manager creates a request,
 * the first approver approves, the second approves or rejects, and the record exists or not.
 * Mails go to a real SMTP server in the test process. Every JSON body is checked against
 * SailPoint's OpenAPI slice of its flavour; v1 is driven with fetch. Races go over real sockets.
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
import { adminToken, createApiUser, fetchToken, startTestServer, type ApiUser, type TestServer } from '../helpers/server.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

interface Res {
  status: number;
  data: unknown;
}
type Body = Record<string, unknown>;

/** The request operations of one SDK class, under one shape. */
interface Client {
  create(body: Body): Promise<Res>;
  getRequest(id: string): Promise<Res>;
  listRequests(requestedFor: string, filters?: string): Promise<Res>;
  requestSummary(requestedFor: string): Promise<Res>;
  deleteRequest(id: string): Promise<Res>;
  listApprovals(requestedFor?: string, filters?: string): Promise<Res>;
  getApproval(id: string, detail?: boolean): Promise<Res>;
  approve(id: string, comment?: string): Promise<Res>;
  reject(id: string, comment: string): Promise<Res>;
  approvalSummary(requestedFor: string): Promise<Res>;
}

function v3(config: Configuration): Client {
  const api = new NonEmployeeLifecycleManagementApi(config);
  return {
    create: (body) => api.createNonEmployeeRequest({ nonEmployeeRequestBody: body as never }),
    getRequest: (id) => api.getNonEmployeeRequest({ id }),
    listRequests: (requestedFor, filters) => api.listNonEmployeeRequests({ requestedFor, ...(filters ? { filters } : {}) }),
    requestSummary: (requestedFor) => api.getNonEmployeeRequestSummary({ requestedFor }),
    deleteRequest: (id) => api.deleteNonEmployeeRequest({ id }),
    listApprovals: (requestedFor, filters) => api.listNonEmployeeApprovals({ ...(requestedFor ? { requestedFor } : {}), ...(filters ? { filters } : {}) }),
    getApproval: (id, detail) => api.getNonEmployeeApproval({ id, ...(detail === undefined ? {} : { includeDetail: detail }) }),
    approve: (id, comment) => api.approveNonEmployeeRequest({ id, nonEmployeeApprovalDecision: comment === undefined ? {} : { comment } }),
    reject: (id, comment) => api.rejectNonEmployeeRequest({ id, nonEmployeeRejectApprovalDecision: { comment } }),
    approvalSummary: (requestedFor) => api.getNonEmployeeApprovalSummary({ requestedFor }),
  };
}

function v2024(config: Configuration): Client {
  const api = new NonEmployeeLifecycleManagementV2024Api(config);
  return {
    create: (body) => api.createNonEmployeeRequest({ nonEmployeeRequestBodyV2024: body as never }),
    getRequest: (id) => api.getNonEmployeeRequest({ id }),
    listRequests: (requestedFor, filters) => api.listNonEmployeeRequests({ requestedFor, ...(filters ? { filters } : {}) }),
    requestSummary: (requestedFor) => api.getNonEmployeeRequestSummary({ requestedFor }),
    deleteRequest: (id) => api.deleteNonEmployeeRequest({ id }),
    listApprovals: (requestedFor, filters) => api.listNonEmployeeApprovals({ ...(requestedFor ? { requestedFor } : {}), ...(filters ? { filters } : {}) }),
    getApproval: (id, detail) => api.getNonEmployeeApproval({ id, ...(detail === undefined ? {} : { includeDetail: detail }) }),
    approve: (id, comment) => api.approveNonEmployeeRequest({ id, nonEmployeeApprovalDecisionV2024: comment === undefined ? {} : { comment } }),
    reject: (id, comment) => api.rejectNonEmployeeRequest({ id, nonEmployeeRejectApprovalDecisionV2024: { comment } }),
    approvalSummary: (requestedFor) => api.getNonEmployeeApprovalSummary({ requestedFor }),
  };
}

function beta(config: Configuration): Client {
  const api = new NonEmployeeLifecycleManagementBetaApi(config);
  return {
    create: (body) => api.createNonEmployeeRequest({ nonEmployeeRequestBodyBeta: body as never }),
    getRequest: (id) => api.getNonEmployeeRequest({ id }),
    listRequests: (requestedFor, filters) => api.listNonEmployeeRequests({ requestedFor, ...(filters ? { filters } : {}) }),
    requestSummary: (requestedFor) => api.getNonEmployeeRequestSummary({ requestedFor }),
    deleteRequest: (id) => api.deleteNonEmployeeRequest({ id }),
    listApprovals: (requestedFor, filters) => api.listNonEmployeeApproval({ ...(requestedFor ? { requestedFor } : {}), ...(filters ? { filters } : {}) }),
    getApproval: (id, detail) => api.getNonEmployeeApproval({ id, ...(detail === undefined ? {} : { includeDetail: String(detail) }) }),
    approve: (id, comment) => api.approveNonEmployeeRequest({ id, nonEmployeeApprovalDecisionBeta: comment === undefined ? {} : { comment } }),
    reject: (id, comment) => api.rejectNonEmployeeRequest({ id, nonEmployeeRejectApprovalDecisionBeta: { comment } }),
    approvalSummary: (requestedFor) => api.getNonEmployeeApprovalSummary({ requestedFor }),
  };
}

const CLASSES = [
  { flavour: 'v3' as const, client: v3 },
  { flavour: 'v2024' as const, client: v2024 },
  { flavour: 'beta' as const, client: beta },
];

const REQUESTS = '/non-employee-requests';
const REQUEST = '/non-employee-requests/{id}';
const APPROVALS = '/non-employee-approvals';
const APPROVAL = '/non-employee-approvals/{id}';

function ok<T>(flavour: Flavour, method: HttpMethod, path: string, res: Res, status = 200): T {
  assert.equal(res.status, status, `${method} ${path}`);
  if (status !== 204) assertMatchesContract(flavour, method, path, status, res.data);
  return res.data as T;
}

async function failed(flavour: Flavour, method: HttpMethod, path: string, call: Promise<unknown>, status: number, detailCode: string): Promise<void> {
  const error = await call.then(
    () => assert.fail(`${method} ${path} should fail with ${status}`),
    (e: { response?: Res }) => e,
  );
  assert.ok(error.response, String(error));
  assert.equal(error.response.status, status, JSON.stringify(error.response.data));
  assertMatchesContract(flavour, method, path, status, error.response.data);
  assert.equal((error.response.data as { detailCode: string }).detailCode, detailCode);
}

interface RequestDto {
  id: string;
  approvalStatus: string;
  completionDate?: string;
  approvalItems: { id: string; approvalStatus: string }[];
}

describe('e2e: requests and approvals through sailpoint-api-client', () => {
  let server: TestServer;
  let smtp: TestSmtp;
  let admin: ApiUser;
  let manager: ApiUser;
  let first: ApiUser;
  let second: ApiUser;
  let outsider: ApiUser;
  const config = (user: ApiUser) =>
    new Configuration({ baseurl: server.baseUrl, clientId: user.clientId, clientSecret: user.clientSecret, tokenUrl: `${server.baseUrl}/oauth/token` });
  const call = async (method: string, path: string, user: ApiUser | string, body?: unknown) => {
    const token = typeof user === 'string' ? user : await fetchToken(server.baseUrl, user.clientId, user.clientSecret);
    const res = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, data: text ? JSON.parse(text) : undefined };
  };
  const newSource = async (name: string, approvers: string[]) => {
    const res = await call('POST', '/v2024/non-employee-sources', await adminToken(server), {
      name,
      description: name,
      owner: { id: admin.identity.id },
      approvers: approvers.map((id) => ({ id })),
      accountManagers: [{ id: manager.identity.id }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.data));
    return (res.data as { id: string }).id;
  };
  const body = (sourceId: string, accountName: string) => ({
    accountName,
    firstName: 'Ada',
    lastName: 'Lovelace',
    email: `${accountName}@example.com`,
    phone: '5125555555',
    manager: 'e2e.manager',
    sourceId,
    startDate: '2020-03-24T00:00:00-05:00',
    endDate: '2021-03-25T00:00:00-05:00',
  });
  const recordCount = async (accountName: string) =>
    (
      (await call('GET', `/v2024/non-employee-records?filters=${encodeURIComponent(`accountName eq "${accountName}"`)}`, await adminToken(server)))
        .data as unknown[]
    ).length;

  before(async () => {
    smtp = await startSmtp();
    server = await startTestServer({}, { SMTP_URL: smtp.url });
    admin = await createApiUser(server, 'e2e.admin', { admin: true });
    manager = await createApiUser(server, 'e2e.manager');
    first = await createApiUser(server, 'e2e.first');
    second = await createApiUser(server, 'e2e.second');
    outsider = await createApiUser(server, 'e2e.outsider');
  });
  after(async () => {
    await server?.close();
    await smtp?.close();
  });

  for (const { flavour, client } of CLASSES) {
    test(`${flavour}: manager requests, first approves, second approves → the record; second rejects → none`, async () => {
      const source = await newSource(`E2E ${flavour}`, [first.identity.id, second.identity.id]);
      const [asManager, asFirst, asSecond, asOutsider] = [manager, first, second, outsider].map((u) => client(config(u)));
      const mailsBefore = smtp.mails.length;

      const created = ok<RequestDto>(flavour, 'POST', REQUESTS, await asManager!.create(body(source, `ada.${flavour}`)));
      assert.equal(created.approvalStatus, 'PENDING');
      const [item1, item2] = created.approvalItems;
      await failed(flavour, 'POST', REQUESTS, asManager!.create(body(source, `ada.${flavour}`)), 400, '400.1.409 Reference conflict');

      const mine = ok<{ id: string }[]>(flavour, 'GET', APPROVALS, await asFirst!.listApprovals('me', 'approvalStatus eq "Pending"'));
      assert.deepEqual(
        mine.map((i) => i.id),
        [item1!.id],
      );
      const detail = ok<{ nonEmployeeRequest: { id: string; startDate: string } }>(flavour, 'GET', APPROVAL, await asFirst!.getApproval(item1!.id));
      assert.equal(detail.nonEmployeeRequest.startDate, '2020-03-24');
      assert.equal(ok<{ nonEmployeeRequest?: unknown }>(flavour, 'GET', APPROVAL, await asFirst!.getApproval(item1!.id, false)).nonEmployeeRequest, undefined);

      await failed(flavour, 'POST', `${APPROVAL}/approve`, asOutsider!.approve(item1!.id), 403, '403 Forbidden');
      await failed(flavour, 'POST', `${APPROVAL}/approve`, asSecond!.approve(item2!.id), 400, '400.1.3 Illegal update attempt');
      assert.equal(
        ok<{ approvalStatus: string }>(flavour, 'POST', `${APPROVAL}/approve`, await asFirst!.approve(item1!.id, 'fine')).approvalStatus,
        'APPROVED',
      );
      assert.equal(ok<{ approvalStatus: string }>(flavour, 'POST', `${APPROVAL}/approve`, await asSecond!.approve(item2!.id)).approvalStatus, 'APPROVED');
      const done = ok<RequestDto>(flavour, 'GET', REQUEST, await asManager!.getRequest(created.id));
      assert.equal(done.approvalStatus, 'APPROVED');
      assert.ok(done.completionDate);
      assert.equal(await recordCount(`ada.${flavour}`), 1);

      const other = ok<RequestDto>(flavour, 'POST', REQUESTS, await asManager!.create(body(source, `bob.${flavour}`)));
      ok(flavour, 'POST', `${APPROVAL}/approve`, await asFirst!.approve(other.approvalItems[0]!.id));
      ok(flavour, 'POST', `${APPROVAL}/reject`, await asSecond!.reject(other.approvalItems[1]!.id, 'Not this time'));
      assert.equal(ok<RequestDto>(flavour, 'GET', REQUEST, await asManager!.getRequest(other.id)).approvalStatus, 'REJECTED');
      assert.equal(await recordCount(`bob.${flavour}`), 0);

      const listed = ok<RequestDto[]>(flavour, 'GET', REQUESTS, await asManager!.listRequests('me', `sourceId eq "${source}"`));
      assert.deepEqual(
        listed.map((r) => r.approvalStatus),
        ['APPROVED', 'REJECTED'],
      );
      const summary = ok<Body>(flavour, 'GET', '/non-employee-requests/summary/{requested-for}', await asManager!.requestSummary('me'));
      assert.ok((summary.approved as number) >= 1 && (summary.rejected as number) >= 1);
      const approvals = ok<Body>(flavour, 'GET', '/non-employee-approvals/summary/{requested-for}', await asSecond!.approvalSummary('me'));
      assert.ok((approvals.approved as number) >= 1 && (approvals.rejected as number) >= 1);

      // Withdrawn after approver 1 was asked: deleted, and approver 1 hears of it.
      const withdrawn = ok<RequestDto>(flavour, 'POST', REQUESTS, await asManager!.create(body(source, `cid.${flavour}`)));
      await server.app.services.notifications.drain();
      ok(flavour, 'DELETE', REQUEST, await client(config(admin)).deleteRequest(withdrawn.id), 204);
      await assert.rejects(asManager!.getRequest(withdrawn.id), (error: { response?: { status?: number } }) => error.response?.status === 404);

      // Mails: approver 1 (x3), approver 2 (x2), the manager (approved, rejected), approver 1 again (withdrawn).
      await server.app.services.notifications.drain();
      const mails = await smtp.waitFor(mailsBefore + 8);
      const to = (who: ApiUser) =>
        mails
          .slice(mailsBefore)
          .filter((m) => m.to.includes(who.identity.email!))
          .map((m) => m.subject.split(':')[0]);
      assert.deepEqual(to(first).sort(), ['Approval needed', 'Approval needed', 'Approval needed', 'Withdrawn']);
      assert.deepEqual(to(second).sort(), ['Approval needed', 'Approval needed']);
      assert.deepEqual(to(manager).sort(), ['Approved', 'Rejected']);
    });
  }

  test('v1 with fetch: the same flow, checked against nelm-v1.openapi.json', async () => {
    const source = await newSource('E2E v1', [first.identity.id]);
    const created = await call('POST', '/non-employee-requests/v1', manager, body(source, 'ada.v1'));
    const request = ok<RequestDto>('v1', 'POST', '/non-employee-requests/v1', created);
    const list = await call('GET', '/non-employee-approvals/v1?requested-for=me', first);
    ok('v1', 'GET', '/non-employee-approvals/v1', list);
    ok(
      'v1',
      'GET',
      '/non-employee-approvals/v1/{id}',
      await call('GET', `/non-employee-approvals/v1/${request.approvalItems[0]!.id}?include-detail=true`, first),
    );
    ok(
      'v1',
      'POST',
      '/non-employee-approvals/v1/{id}/approve',
      await call('POST', `/non-employee-approvals/v1/${request.approvalItems[0]!.id}/approve`, first, { comment: 'ok' }),
    );
    assert.equal(
      ok<RequestDto>('v1', 'GET', '/non-employee-requests/v1/{id}', await call('GET', `/non-employee-requests/v1/${request.id}`, manager)).approvalStatus,
      'APPROVED',
    );
    ok('v1', 'GET', '/non-employee-requests/v1/summary/{requested-for}', await call('GET', '/non-employee-requests/v1/summary/me', manager));
    ok('v1', 'GET', '/non-employee-approvals/v1/summary/{requested-for}', await call('GET', '/non-employee-approvals/v1/summary/me', first));
    assert.equal(await recordCount('ada.v1'), 1);
  });

  test('races over sockets: two group members, approve against reject, in parallel; exactly one wins each time', async () => {
    const admin = await adminToken(server);
    const group = await call('POST', '/admin/v1/workgroups', admin, { name: 'E2E approvers', members: [first.identity.id, second.identity.id] });
    assert.equal(group.status, 200, JSON.stringify(group.data));
    const source = await newSource('E2E race', [(group.data as { id: string }).id]);
    const [t1, t2] = await Promise.all([
      fetchToken(server.baseUrl, first.clientId, first.clientSecret),
      fetchToken(server.baseUrl, second.clientId, second.clientSecret),
    ]);
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => call('POST', '/v2024/non-employee-requests', manager, body(source, `race.${i}`))));
    const results = await Promise.all(
      made.map(async (res, i) => {
        const itemId = (res.data as RequestDto).approvalItems[0]!.id;
        const decisions = await Promise.all([
          call('POST', `/v2024/non-employee-approvals/${itemId}/approve`, t1, {}),
          call('POST', `/v2024/non-employee-approvals/${itemId}/${i % 2 ? 'reject' : 'approve'}`, t2, { comment: 'racing' }),
        ]);
        return { id: (res.data as RequestDto).id, i, decisions };
      }),
    );
    for (const { id, i, decisions } of results) {
      assert.deepEqual(decisions.map((d) => d.status).sort(), [200, 400], JSON.stringify(decisions.map((d) => d.data)));
      const winner = decisions.find((d) => d.status === 200)!.data as { approvalStatus: string };
      const stored = (await call('GET', `/v2024/non-employee-requests/${id}`, admin)).data as RequestDto;
      assert.equal(stored.approvalStatus, winner.approvalStatus);
      assert.equal(await recordCount(`race.${i}`), winner.approvalStatus === 'APPROVED' ? 1 : 0);
    }
  });
});
