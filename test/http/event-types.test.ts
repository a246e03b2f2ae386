/**
 * Every module writes its events in the transaction of its change: schema attributes, records,
 * requests and approval decisions, identities, API clients, governance groups, and token requests.
 * A change that is refused (and rolled back) writes none. Through app.inject, on either engine.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { transaction } from '../../src/db/dialect.js';
import { ADMIN, harness, type Caller, type Harness } from '../helpers/app.js';
import { bulkCalls, csv, row } from '../helpers/bulk.js';
import { addAttribute, createSource, identityId, recordBody } from '../helpers/factories.js';

const AUDIT = '/admin/v1/audit-events';
const PATCH = { 'content-type': 'application/json-patch+json' };

interface EventJson {
  seq: number;
  type: string;
  actor: { id: string; alias: string } | null;
  target: { type: string; id: string; sourceId: string | null };
  data: { object: Record<string, unknown>; changes?: Record<string, { old: unknown; new: unknown }>; [more: string]: unknown };
  prevHash: string;
  hash: string;
}

const SWEEP_EVENTS = ['record.expiring', 'record.expired', 'record.reactivated'];

describe('event types', () => {
  let h: Harness;
  let clerk: Caller;
  let approver: Caller;
  let sourceId: string;

  /** The events written since `seq`, in chain order. */
  const since = async (seq: number): Promise<EventJson[]> => {
    const res = await h.request('GET', `${AUDIT}?sorters=time&limit=250&filters=${encodeURIComponent(`time ge "2000-01-01T00:00:00Z"`)}`, h.admin.token);
    assert.equal(res.statusCode, 200, res.body);
    // The lifecycle's events (these records' end dates are past: they expire, and one is extended) are told in lifecycle-*.test.ts.
    return (res.json() as EventJson[]).filter((e) => e.seq > seq && !SWEEP_EVENTS.includes(e.type)).sort((a, b) => a.seq - b.seq);
  };
  const head = async () => Math.max(0, ...(await since(0)).map((e) => e.seq));
  const summary = (events: EventJson[]) => events.map((e) => [e.type, e.actor?.alias ?? null, e.target.type]);

  before(async () => {
    h = await harness();
    clerk = await h.caller('clerk', { rights: ['idn:nesr:read', 'idn:nesr:create', 'idn:nesr:update', 'idn:nesr:delete'] });
    approver = await h.caller('approver');
    await identityId(h, 'jane.doe');
    sourceId = await createSource(h, 'Contractors', clerk.identity.id, { approvers: [approver.identity.id] });
  });
  after(async () => h.close());

  test('schema attributes: created, updated with the changes, deleted', async () => {
    const start = await head();
    const id = await addAttribute(h, sourceId, 'costCenter');
    const patched = await h.request(
      'PATCH',
      `/v2024/non-employee-sources/${sourceId}/schema-attributes/${id}`,
      clerk.token,
      [{ op: 'replace', path: '/label', value: 'Cost center' }],
      PATCH,
    );
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((await h.request('DELETE', `/v2024/non-employee-sources/${sourceId}/schema-attributes/${id}`, clerk.token)).statusCode, 204);
    const events = await since(start);
    assert.deepEqual(summary(events), [
      ['schema_attribute.created', 'admin', 'schema_attribute'],
      ['schema_attribute.updated', 'clerk', 'schema_attribute'],
      ['schema_attribute.deleted', 'clerk', 'schema_attribute'],
    ]);
    assert.ok(events.every((e) => e.target.id === id && e.target.sourceId === sourceId));
    assert.deepEqual(events[1]!.data.changes, { label: { old: 'costCenter', new: 'Cost center' } });
    assert.equal(events[2]!.data.object.label, 'Cost center');
  });

  test('records: created, updated with old and new values, deleted one by one and in bulk', async () => {
    const start = await head();
    const ids: string[] = [];
    for (const name of ['r.one', 'r.two', 'r.three']) {
      const res = await h.request('POST', '/v2024/non-employee-records', clerk.token, recordBody(sourceId, name));
      assert.equal(res.statusCode, 200, res.body);
      ids.push(res.json().id);
    }
    const patched = await h.request(
      'PATCH',
      `/v2024/non-employee-records/${ids[0]}`,
      clerk.token,
      [{ op: 'replace', path: '/endDate', value: '2030-01-01T00:00:00Z' }],
      PATCH,
    );
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal((await h.request('DELETE', `/v2024/non-employee-records/${ids[0]}`, clerk.token)).statusCode, 204);
    const bulk = await h.request('POST', '/v2024/non-employee-records/bulk-delete', clerk.token, { ids: ids.slice(1) });
    assert.equal(bulk.statusCode, 204, bulk.body);

    const events = await since(start);
    const told = events.map((e) => [e.type, e.target.id]);
    assert.deepEqual(told.slice(0, 5), [
      ['record.created', ids[0]],
      ['record.created', ids[1]],
      ['record.created', ids[2]],
      ['record.updated', ids[0]],
      ['record.deleted', ids[0]],
    ]);
    // A bulk delete tells each record, in no particular order.
    assert.deepEqual(
      told.slice(5).sort(),
      ids
        .slice(1)
        .map((id) => ['record.deleted', id])
        .sort(),
    );
    const updated = events[3]!;
    assert.deepEqual(updated.data.changes, { endDate: { old: '2021-03-25T00:00:00-05:00', new: '2030-01-01T00:00:00Z' } });
    assert.equal(updated.data.object.endDate, '2030-01-01T00:00:00Z');
    assert.equal(updated.target.sourceId, sourceId);
    assert.equal(events[4]!.data.object.accountName, 'r.one', 'a deleted record is told as it was');
    assert.ok(events.every((e) => e.actor?.alias === 'clerk'));
  });

  test('a refused change writes nothing: a taken accountName, an unchanged record', async () => {
    const created = await h.request('POST', '/v2024/non-employee-records', clerk.token, recordBody(sourceId, 'taken.name'));
    assert.equal(created.statusCode, 200, created.body);
    const start = await head();
    const again = await h.request('POST', '/v2024/non-employee-records', clerk.token, recordBody(sourceId, 'Taken.Name'));
    assert.equal(again.statusCode, 400, again.body);
    const same = await h.request('PUT', `/v2024/non-employee-records/${created.json().id}`, clerk.token, recordBody(sourceId, 'taken.name'));
    assert.equal(same.statusCode, 200, same.body);
    assert.deepEqual(await since(start), []);
  });

  test('requests and approvals: created, approval requested, approved, request approved with its record; rejected; deleted', async () => {
    const start = await head();
    const filed = await h.request('POST', '/v2024/non-employee-requests', clerk.token, recordBody(sourceId, 'req.approved'));
    assert.equal(filed.statusCode, 200, filed.body);
    const request = filed.json();
    const itemId = request.approvalItems[0].id;
    const approved = await h.request('POST', `/v2024/non-employee-approvals/${itemId}/approve`, approver.token, { comment: 'fine' });
    assert.equal(approved.statusCode, 200, approved.body);

    const events = await since(start);
    assert.deepEqual(summary(events), [
      ['request.created', 'clerk', 'request'],
      ['approval.requested', 'clerk', 'approval'],
      ['approval.approved', 'approver', 'approval'],
      ['request.approved', 'approver', 'request'],
      ['record.created', 'approver', 'record'],
    ]);
    const [created, requested, decided, done, record] = events as [EventJson, EventJson, EventJson, EventJson, EventJson];
    assert.equal(created.target.id, request.id);
    assert.equal(requested.target.id, itemId);
    assert.equal(requested.data.object.status, 'PENDING');
    assert.deepEqual(requested.data.object.approver, { type: 'IDENTITY', id: approver.identity.id });
    assert.equal((requested.data.request as { accountName: string }).accountName, 'req.approved', 'an approval event carries its request');
    assert.equal(decided.data.object.status, 'APPROVED');
    assert.equal(decided.data.object.comment, 'fine');
    assert.deepEqual(done.data.changes, { status: { old: 'PENDING', new: 'APPROVED' } });
    assert.equal(done.data.object.recordId, record.target.id);
    assert.equal(record.data.requestId, request.id);
    assert.ok(events.every((e) => e.target.sourceId === sourceId));

    const mark = await head();
    const other = await h.request('POST', '/v2024/non-employee-requests', clerk.token, recordBody(sourceId, 'req.rejected'));
    const rejected = await h.request('POST', `/v2024/non-employee-approvals/${other.json().approvalItems[0].id}/reject`, approver.token, { comment: 'no' });
    assert.equal(rejected.statusCode, 200, rejected.body);
    assert.equal((await h.request('DELETE', `/v2024/non-employee-requests/${other.json().id}`, clerk.token)).statusCode, 204);
    assert.deepEqual(summary(await since(mark)), [
      ['request.created', 'clerk', 'request'],
      ['approval.requested', 'clerk', 'approval'],
      ['approval.rejected', 'approver', 'approval'],
      ['request.rejected', 'approver', 'request'],
      ['request.deleted', 'clerk', 'request'],
    ]);
    const deleted = (await since(mark)).at(-1)!;
    assert.equal(deleted.data.object.status, 'REJECTED', 'a deleted request is told as it was');
  });

  test('a decision that fails (the source is full) writes nothing', async () => {
    const filed = await h.request('POST', '/v2024/non-employee-requests', clerk.token, recordBody(sourceId, 'req.full'));
    assert.equal(filed.statusCode, 200, filed.body);
    await h.app.db.kysely.updateTable('sources').set({ record_count: 20_000 }).where('id', '=', sourceId).execute();
    try {
      const start = await head();
      const res = await h.request('POST', `/v2024/non-employee-approvals/${filed.json().approvalItems[0].id}/approve`, approver.token, {});
      assert.equal(res.statusCode, 400, res.body);
      assert.deepEqual(await since(start), []);
    } finally {
      await h.app.db.kysely.updateTable('sources').set({ record_count: 0 }).where('id', '=', sourceId).execute();
    }
  });

  test('the directory: identities, API clients, governance groups', async () => {
    const start = await head();
    const made = await h.request('POST', '/admin/v1/identities', h.admin.token, { alias: 'newcomer', name: 'New Comer' });
    assert.equal(made.statusCode, 200, made.body);
    const id = made.json().id;
    const client = await h.request('POST', `/admin/v1/identities/${id}/clients`, h.admin.token);
    assert.equal(client.statusCode, 200, client.body);
    const { clientId, clientSecret } = client.json();
    assert.equal((await h.request('DELETE', `/admin/v1/clients/${clientId}`, h.admin.token)).statusCode, 204);
    const group = await h.request('POST', '/admin/v1/workgroups', h.admin.token, { name: 'Reviewers', members: [id] });
    assert.equal(group.statusCode, 200, group.body);
    const member = await identityId(h, 'member.two');
    const renamed = await h.request('PATCH', `/admin/v1/workgroups/${group.json().id}`, h.admin.token, { name: 'Auditors', members: [id, member] });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal((await h.request('DELETE', `/admin/v1/workgroups/${group.json().id}`, h.admin.token)).statusCode, 204);

    const events = (await since(start)).filter((e) => e.target.id !== member);
    assert.deepEqual(summary(events), [
      ['identity.created', 'admin', 'identity'],
      ['client.created', 'admin', 'client'],
      ['client.deleted', 'admin', 'client'],
      ['workgroup.created', 'admin', 'workgroup'],
      ['workgroup.updated', 'admin', 'workgroup'],
      ['workgroup.deleted', 'admin', 'workgroup'],
    ]);
    assert.equal(events[1]!.target.id, clientId);
    assert.deepEqual(events[1]!.data.object.identityId, id);
    assert.ok(!JSON.stringify(events).includes(clientSecret), 'no secret is written to the log');
    assert.deepEqual(events[4]!.data.changes, { name: { old: 'Reviewers', new: 'Auditors' }, members: { old: [id], new: [id, member] } });
  });

  test('token requests: a sign-in and a refused secret, never the secret', async () => {
    const start = await head();
    const form = (secret: string) => `grant_type=client_credentials&client_id=${ADMIN.clientId}&client_secret=${secret}`;
    const urlencoded = { 'content-type': 'application/x-www-form-urlencoded' };
    const ok = await h.app.inject({ method: 'POST', url: '/oauth/token', payload: form(ADMIN.clientSecret), headers: urlencoded });
    assert.equal(ok.statusCode, 200, ok.body);
    const wrong = await h.app.inject({ method: 'POST', url: '/oauth/token', payload: form('not-the-secret'), headers: urlencoded });
    assert.equal(wrong.statusCode, 401, wrong.body);
    const events = await since(start);
    assert.deepEqual(summary(events), [
      ['auth.token_issued', 'admin', 'client'],
      ['auth.token_refused', null, 'client'],
    ]);
    assert.equal(events[1]!.data.object.reason, 'wrong_secret');
    assert.equal(events[1]!.target.id, ADMIN.clientId);
    assert.ok(!JSON.stringify(events).includes('not-the-secret') && !JSON.stringify(events).includes(ADMIN.clientSecret));
  });

  test("a token request does not wait for the database's writer; its event is written once the writer is free", async () => {
    const start = await head();
    const form = `grant_type=client_credentials&client_id=${ADMIN.clientId}&client_secret=${ADMIN.clientSecret}`;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding!: () => void;
    const holds = new Promise<void>((resolve) => {
      holding = resolve;
    });
    // A change that holds the writer (SQLite) and the tenant's event chain (PostgreSQL), as a bulk import does.
    const writer = transaction(h.app.db.kysely, async (trx) => {
      await h.app.services.events.append(trx, h.config.tenant, [
        { type: 'test.held', actor: null, target: { type: 'test', id: 'held' }, data: { object: {} } },
      ]);
      holding();
      await held;
    });
    await holds;
    const answered = await Promise.race([
      h.app.inject({ method: 'POST', url: '/oauth/token', payload: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 5000)),
    ]);
    release();
    await writer;
    assert.notEqual(answered, 'waited', 'the token request waited for the writer');
    assert.equal((answered as Awaited<ReturnType<Harness['app']['inject']>>).statusCode, 200);
    assert.deepEqual(
      summary(await since(start)).map(([type]) => type),
      ['test.held', 'auth.token_issued'],
    );
  });

  test('a bulk import: one event per record it creates or changes, with the job, then bulk_job.completed; a failed job only bulk_job.failed', async () => {
    const bulk = bulkCalls(h);
    const source = await bulk.source('Imported');
    await bulk.finished(source, await bulk.queued(source, csv(row('imp.one'), row('imp.two'))));
    const start = await head();
    const job = await bulk.finished(source, await bulk.queued(source, csv(row('imp.one', 'Finance'), row('imp.two'), row('imp.three'))));
    assert.equal(job.status, 'COMPLETED');
    const events = await since(start);
    assert.deepEqual(
      events.map((e) => [e.type, e.type.startsWith('record.') ? e.data.object.accountName : e.target.id]),
      [
        ['record.created', 'imp.three'],
        ['record.updated', 'imp.one'],
        ['bulk_job.completed', job.id],
      ],
    );
    assert.ok(events.every((e) => e.actor?.alias === 'admin' && e.target.sourceId === source));
    assert.ok(events.slice(0, 2).every((e) => e.data.jobId === job.id));
    assert.deepEqual(events[1]!.data.changes, { data: { old: { department: 'Sales' }, new: { department: 'Finance' } } });
    assert.deepEqual(events[2]!.data.object.counts, { created: 1, updated: 1, unchanged: 1, failed: 0 });

    const mark = await head();
    const failed = await bulk.finished(
      source,
      await bulk.queued(source, csv(row('imp.four'), 'imp.five,Ann,Lee,555,imp.five@example.com,admin,not-a-date,2024-12-31,Sales')),
    );
    assert.equal(failed.status, 'ERROR');
    assert.deepEqual(summary(await since(mark)), [['bulk_job.failed', 'admin', 'bulk_job']]);
  });
});
