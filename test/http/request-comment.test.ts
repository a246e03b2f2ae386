/**
 * A request's `comment` (NonEmployeeRequest and the approval detail's request): what the requester
 * wrote when filing it, or else the comment of the decision that ended it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Caller, errorOf, harness, type Harness } from '../helpers/app.js';
import { assertMatchesContract } from '../helpers/contract.js';
import { createSource, recordBody } from '../helpers/factories.js';

describe("a request's comment", () => {
  let h: Harness;
  let approver: Caller;
  let sourceId: string;
  const requests = '/v2024/non-employee-requests';

  before(async () => {
    h = await harness();
    await h.caller('jane.doe');
    approver = await h.caller('comment.approver');
    sourceId = await createSource(h, 'Comments', h.admin.identity.id, { approvers: [approver.identity.id] });
  });
  after(() => h.close());

  const file = async (accountName: string, over: Record<string, unknown> = {}) => {
    const res = await h.request('POST', requests, h.admin.token, recordBody(sourceId, accountName, over));
    assert.equal(res.statusCode, 200, res.body);
    assertMatchesContract('v2024', 'POST', '/non-employee-requests', 200, res.json());
    return res.json();
  };

  test("the requester's comment, trimmed, on create, get, list and the approval detail", async () => {
    const made = await file('comment.one', { comment: '  Starts Monday, badge ready ' });
    assert.equal(made.comment, 'Starts Monday, badge ready');
    const got = await h.request('GET', `${requests}/${made.id}`, h.admin.token);
    assert.equal(got.json().comment, 'Starts Monday, badge ready');
    const listed = (await h.request('GET', `${requests}?requested-for=me`, h.admin.token)).json() as { id: string; comment?: string }[];
    assert.equal(listed.find((r) => r.id === made.id)?.comment, 'Starts Monday, badge ready');
    const detail = await h.request('GET', `/v2024/non-employee-approvals/${made.approvalItems[0].id}`, approver.token);
    assert.equal(detail.statusCode, 200, detail.body);
    assert.equal(detail.json().nonEmployeeRequest.comment, 'Starts Monday, badge ready');
    assertMatchesContract('v2024', 'GET', '/non-employee-approvals/{id}', 200, detail.json());
  });

  test("without one, none while pending; then the rejection's reason", async () => {
    const made = await file('comment.two');
    assert.equal('comment' in made, false);
    const rejected = await h.request('POST', `/v2024/non-employee-approvals/${made.approvalItems[0].id}/reject`, approver.token, { comment: 'No budget' });
    assert.equal(rejected.statusCode, 200, rejected.body);
    const got = await h.request('GET', `${requests}/${made.id}`, h.admin.token);
    assert.equal(got.json().approvalStatus, 'REJECTED');
    assert.equal(got.json().comment, 'No budget');
  });

  test('a blank comment is none; one over 4,000 characters is a 400 naming it', async () => {
    assert.equal('comment' in (await file('comment.three', { comment: '   ' })), false);
    const long = await h.request('POST', requests, h.admin.token, recordBody(sourceId, 'comment.four', { comment: 'x'.repeat(4001) }));
    assert.equal(long.statusCode, 400, long.body);
    assert.match(errorOf(long).causes[0]!.text, /comment/);
  });
});
