/**
 * Dates keep what the client sent: the offset comes back on records, requests and the export;
 * sorting and filtering go by the instant; an approval's calendar `date` is the local date.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Caller, harness, type Harness } from '../helpers/app.js';
import { createSource, recordBody } from '../helpers/factories.js';

describe('dates keep their offset', () => {
  let h: Harness;
  let sourceId: string;
  let approver: Caller;
  const records = '/v2024/non-employee-records';

  before(async () => {
    h = await harness();
    await h.caller('jane.doe');
    approver = await h.caller('dates.approver');
    sourceId = await createSource(h, 'Dates', h.admin.identity.id, { approvers: [approver.identity.id] });
    // Local order (east < west) is the opposite of the instants' order (west is earlier in UTC).
    for (const [accountName, startDate] of [
      ['east', '2020-03-24T23:30:00-05:00'],
      ['west', '2020-03-25T01:00:00+09:00'],
      ['plain', '2020-03-24'],
    ]) {
      const res = await h.request('POST', records, h.admin.token, recordBody(sourceId, accountName!, { startDate, endDate: '2030-01-01T00:00+0530' }));
      assert.equal(res.statusCode, 200, res.body);
    }
  });
  after(() => h.close());

  const list = async (query: string) => {
    const res = await h.request('GET', `${records}?filters=${encodeURIComponent(`sourceId eq "${sourceId}"`)}${query}`, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { accountName: string; startDate: string; endDate: string }[];
  };

  test('each date comes back as sent; a plain date is midnight UTC; +0530 is written +05:30', async () => {
    const byName = Object.fromEntries((await list('')).map((r) => [r.accountName, r]));
    assert.equal(byName.east!.startDate, '2020-03-24T23:30:00-05:00');
    assert.equal(byName.west!.startDate, '2020-03-25T01:00:00+09:00');
    assert.equal(byName.plain!.startDate, '2020-03-24T00:00:00Z');
    assert.equal(byName.east!.endDate, '2030-01-01T00:00:00+05:30');
  });

  test('sorters and filters go by the instant', async () => {
    // plain 2020-03-24T00:00Z < west 2020-03-24T16:00Z < east 2020-03-25T04:30Z
    assert.deepEqual(
      (await list('&sorters=startDate')).map((r) => r.accountName),
      ['plain', 'west', 'east'],
    );
    assert.deepEqual(
      (await list('&sorters=-startDate')).map((r) => r.accountName),
      ['east', 'west', 'plain'],
    );
    const after = await h.request(
      'GET',
      `${records}?filters=${encodeURIComponent(`sourceId eq "${sourceId}" and startDate gt "2020-03-24T12:00:00-05:00"`)}`,
      h.admin.token,
    );
    assert.deepEqual(
      (after.json() as { accountName: string }[]).map((r) => r.accountName),
      ['east'],
    );
  });

  test("a request keeps the offset; its approval's calendar date is the date the client wrote", async () => {
    const made = await h.request(
      'POST',
      '/v2024/non-employee-requests',
      h.admin.token,
      recordBody(sourceId, 'late', { startDate: '2020-03-24T23:30:00-05:00' }),
    );
    assert.equal(made.statusCode, 200, made.body);
    assert.equal(made.json().startDate, '2020-03-24T23:30:00-05:00');
    const got = await h.request('GET', `/v2024/non-employee-requests/${made.json().id}`, h.admin.token);
    assert.equal(got.json().startDate, '2020-03-24T23:30:00-05:00');
    const item = made.json().approvalItems[0].id;
    const res = await h.request('GET', `/v2024/non-employee-approvals/${item}`, approver.token);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().nonEmployeeRequest.startDate, '2020-03-24', 'not 2020-03-25, the UTC date');
  });

  test('the CSV export writes the dates as sent', async () => {
    const res = await h.request('GET', `/v2024/non-employee-sources/${sourceId}/non-employees/download`, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /^east,.*,2020-03-24T23:30:00-05:00,2030-01-01T00:00:00\+05:30$/m);
  });
});
