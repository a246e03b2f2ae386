/**
 * The authorization matrix (test/authz/matrix.ts), one test per cell per flavour.
 *
 * Each flavour group (the year-versioned flavours; beta; v1) gets a fresh app and fixture world
 * (see matrix.ts for the world). Read rows run first, against the untouched world, so list cells
 * can name exactly what each caller sees; write rows follow. A write cell that is expected to
 * succeed acts on a fresh object made like the target (same source, same relationships); every
 * other write cell must leave the database as it was (compared table by table before and after).
 * Every body is also checked against the upstream OpenAPI slices (the extensions, which have none,
 * against the shared error shapes only), and every 401 must name its own reason.
 *
 * Flavours: v2024, beta and v1 run every cell. v3, v2025 and v2026 (identical to v2024 apart from
 * the base path) each run a third of the cells, chosen so that the three of them
 * together run every cell once (NELM_AUTHZ_FULL=1 runs every cell under every flavour).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import { ADMIN, errorOf, harness, type Caller, type Harness } from '../helpers/app.js';
import { assertMatchesContract, type Flavour, type HttpMethod } from '../helpers/contract.js';
import { TokenService } from '../../src/auth/tokens.js';
import type { Right } from '../../src/auth/principal.js';
import { CALLERS, MATRIX, cellText, rowKey, type CallerKind, type Outcome, type Ref, type Row } from './matrix.js';

const FULL: readonly Flavour[] = ['v2024', 'beta', 'v1'];
const SAMPLED: readonly Flavour[] = ['v3', 'v2025', 'v2026'];
const EVERY_CELL = process.env.NELM_AUTHZ_FULL === '1';

type Resource = 'non-employee-sources' | 'non-employee-records' | 'non-employee-requests' | 'non-employee-approvals';
/** The relationship callers: identities with a token of their own. */
type Person = Exclude<CallerKind, 'noToken' | 'expired' | 'otherKey' | 'deletedClient'>;

interface World {
  h: Harness;
  people: Record<Person, Caller>;
  tokens: Record<CallerKind, string | undefined>;
  ids: Record<Ref, string>;
  /** accountName of the record refs (CSV rows are matched by it). */
  accountNames: Partial<Record<Ref, string>>;
  /** A's custom schema attribute. */
  attrA: string;
  groupId: string;
  /** The requester's token while they held idn:nesr:create (fixtures only; their matrix token has no right). */
  requesterFixtureToken: string;
  /** The state after the fixture was built (for the final check). */
  initial: Snapshot;
  /** The state after the last refused write, while no other cell ran since. */
  clean: Snapshot | undefined;
  next: number;
}

// Fixture bodies -------------------------------------------------------------------------------

const START = '2024-01-01T00:00:00.000Z';
const END = '2024-12-31T00:00:00.000Z';
const NEW_END = '2025-06-30T00:00:00.000Z';

const recordBody = (sourceId: string, accountName: string, over: Record<string, unknown> = {}) => ({
  accountName,
  firstName: 'Ada',
  lastName: 'Lovelace',
  email: `${accountName}@example.com`,
  phone: '555-0100',
  manager: 'admin',
  sourceId,
  startDate: START,
  endDate: END,
  ...over,
});

/** One row the job refuses (a bad date): the job ends in ERROR and writes nothing. */
const UPLOAD_CSV =
  'accountName,firstName,lastName,phone,email,manager,startDate,endDate\nbulk.row,Ann,Lee,555-0100,bulk.row@example.com,admin,not-a-date,2024-12-31\n';

function multipart(csv: string): { payload: Buffer; contentType: string } {
  const boundary = `----authz${randomBytes(6).toString('hex')}`;
  const payload = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="records.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
  );
  return { payload, contentType: `multipart/form-data; boundary=${boundary}` };
}

const ok = (res: LightMyRequestResponse, what: string) => {
  assert.ok(res.statusCode >= 200 && res.statusCode < 300, `fixture: ${what} → ${res.statusCode} ${res.body}`);
  return res.body ? res.json() : undefined;
};

// Database snapshots -----------------------------------------------------------------------------

type Snapshot = Record<string, string[]>;

/** Every table a NELM call could change, rows as sorted JSON; columns a background worker moves are left out. */
async function snapshot(w: Pick<World, 'h'>): Promise<Snapshot> {
  const db = w.h.app.db.kysely as unknown as Kysely<Record<string, Record<string, unknown>>>;
  const rows = async (table: string, pick?: string[]) => {
    // The events of callers: the server's own (the lifecycle's sweep) come on their own time.
    const all = await (table === 'events' ? db.selectFrom(table).selectAll().where('actor_id', 'is not', null) : db.selectFrom(table).selectAll()).execute();
    return all
      .map((r) =>
        JSON.stringify(pick ? Object.fromEntries(pick.map((k) => [k, r[k]])) : r, (_k, v: unknown) => (Buffer.isBuffer(v) ? `<${v.length} bytes>` : v)),
      )
      .sort();
  };
  const tables: [string, string[]?][] = [
    ['tenants'],
    ['identities'],
    ['api_clients', ['client_id', 'identity_id']],
    ['workgroups'],
    ['workgroup_members'],
    ['sources'],
    ['source_members'],
    ['schema_attributes'],
    ['records'],
    ['requests'],
    ['approval_items'],
    // What a call adds to the log; mails are derived from it by a consumer, on its own time.
    ['events', ['id', 'type', 'actor_id', 'target_id']],
    ['bulk_jobs', ['id', 'source_id', 'status', 'row_count']],
    ['bulk_job_errors'],
  ];
  const read = await Promise.all(tables.map(([table, pick]) => rows(table, pick)));
  return Object.fromEntries(tables.map(([table], i) => [table, read[i]!]));
}

async function jobFinished(w: World, jobId: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const row = await w.h.app.db.kysely.selectFrom('bulk_jobs').select('status').where('id', '=', jobId).executeTakeFirst();
    if (row?.status === 'COMPLETED' || row?.status === 'ERROR') return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`bulk job ${jobId} did not finish`);
}

// The world --------------------------------------------------------------------------------------

async function build(): Promise<World> {
  const h = await harness();
  const admin = h.admin.token;
  const person = (alias: string, rights: Right[] = []) => h.caller(`matrix.${alias}`, { rights });
  // In parallel: each API client's secret is hashed with scrypt.
  const [read, create, update, del, manager, groupManager, otherManager, owner, requester, approver, laterApprover, unrelated, ownerB, approverB] =
    await Promise.all([
      person('read', ['idn:nesr:read']),
      person('create', ['idn:nesr:create']),
      person('update', ['idn:nesr:update']),
      person('delete', ['idn:nesr:delete']),
      person('manager'),
      person('group.manager'),
      person('other.manager'),
      person('owner'),
      person('requester'),
      person('approver'),
      person('later.approver'),
      person('unrelated'),
      person('owner.b'),
      person('approver.b'),
    ]);
  const people: Record<Person, Caller> = {
    admin: h.admin,
    read: read!,
    create: create!,
    update: update!,
    delete: del!,
    manager: manager!,
    groupManager: groupManager!,
    otherManager: otherManager!,
    owner: owner!,
    requester: requester!,
    approver: approver!,
    laterApprover: laterApprover!,
    unrelated: unrelated!,
  };
  const id = (p: Person) => people[p].identity.id;

  const group = ok(await h.request('POST', '/admin/v1/workgroups', admin, { name: 'Managers of A', members: [id('groupManager')] }), 'workgroup');
  const srcA = ok(
    await h.request('POST', '/v2024/non-employee-sources', admin, {
      name: 'Source A',
      description: 'A',
      owner: { id: id('owner') },
      approvers: [{ id: id('approver') }, { id: id('laterApprover') }],
      accountManagers: [{ id: id('manager') }, { id: group.id }],
    }),
    'source A',
  ).id as string;
  const srcB = ok(
    await h.request('POST', '/v2024/non-employee-sources', admin, {
      name: 'Source B',
      description: 'B',
      owner: { id: ownerB!.identity.id },
      approvers: [{ id: approverB!.identity.id }],
      accountManagers: [{ id: id('otherManager') }],
    }),
    'source B',
  ).id as string;
  const attrA = ok(
    await h.request('POST', `/v2024/non-employee-sources/${srcA}/schema-attributes`, admin, {
      type: 'TEXT',
      label: 'Cost center',
      technicalName: 'costCenter',
    }),
    'attribute',
  ).id as string;
  const record = async (sourceId: string, name: string) =>
    ok(await h.request('POST', '/v2024/non-employee-records', admin, recordBody(sourceId, name)), `record ${name}`).id as string;

  // The requester filed qA while holding idn:nesr:create; their matrix token carries no right.
  const requesterFixtureToken = (
    await h.app.services.tokens.issue({
      tenantId: h.config.tenant,
      identityId: id('requester'),
      alias: people.requester.identity.alias,
      clientId: String(decodeJwt(people.requester.token).client_id),
      admin: false,
      rights: ['idn:nesr:create'],
    })
  ).token;
  const qA = ok(await h.request('POST', '/v2024/non-employee-requests', requesterFixtureToken, recordBody(srcA, 'asked.a')), 'request qA');
  const qB = ok(await h.request('POST', '/v2024/non-employee-requests', people.otherManager.token, recordBody(srcB, 'asked.b')), 'request qB');
  assert.deepEqual(
    qA.approvalItems.map((i: { approvalStatus: string }) => i.approvalStatus),
    ['PENDING', 'NOT_READY'],
  );
  assert.deepEqual(
    qB.approvalItems.map((i: { approvalStatus: string }) => i.approvalStatus),
    ['PENDING'],
  );

  const { payload, contentType } = multipart(UPLOAD_CSV);
  const job = ok(
    await h.app.inject({
      method: 'POST',
      url: `/v2024/non-employee-sources/${srcA}/non-employee-bulk-upload`,
      headers: { authorization: `Bearer ${admin}`, 'content-type': contentType },
      payload,
    }),
    'bulk job',
  );

  // Tokens that must not work: an org admin's, expired; forged with another key (same claims, the
  // real key id); of an org admin whose API client was deleted.
  const expired = (
    await (async () => {
      const past = new TokenService(h.app.db.kysely, -3600, h.app.services.tokens.keyRing);
      await past.init();
      return past.issue({ tenantId: h.config.tenant, identityId: h.admin.identity.id, alias: 'admin', clientId: ADMIN.clientId, admin: true, rights: [] });
    })()
  ).token;
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const otherKey = await new SignJWT(decodeJwt(admin))
    .setProtectedHeader({ alg: 'EdDSA', kid: decodeProtectedHeader(admin).kid!, typ: 'JWT' })
    .sign(privateKey);
  const gone = ok(await h.request('POST', '/admin/v1/identities', admin, { alias: 'matrix.gone', admin: true }), 'identity');
  const client = ok(await h.request('POST', `/admin/v1/identities/${gone.id}/clients`, admin), 'client');
  const issued = await h.app.inject({
    method: 'POST',
    url: `/oauth/token?grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
  });
  const deletedClient = ok(issued, 'token').access_token as string;
  ok(await h.request('GET', '/v2024/non-employee-sources', deletedClient), 'the token works before its client is deleted');
  ok(await h.request('DELETE', `/admin/v1/clients/${client.clientId}`, admin), 'delete client');

  const tokens = Object.fromEntries(CALLERS.map((c) => [c, c in people ? people[c as Person].token : undefined])) as Record<CallerKind, string | undefined>;
  Object.assign(tokens, { noToken: undefined, expired, otherKey, deletedClient });

  const w: World = {
    h,
    people,
    tokens,
    ids: {
      srcA,
      srcB,
      rA1: await record(srcA, 'record.a1'),
      rA2: await record(srcA, 'record.a2'),
      rB1: await record(srcB, 'record.b1'),
      qA: qA.id,
      qB: qB.id,
      iA1: qA.approvalItems[0].id,
      iA2: qA.approvalItems[1].id,
      iB1: qB.approvalItems[0].id,
      jobA: job.id,
    },
    accountNames: { rA1: 'record.a1', rA2: 'record.a2', rB1: 'record.b1' },
    attrA,
    groupId: group.id,
    requesterFixtureToken,
    initial: {},
    clean: undefined,
    next: 0,
  };
  await jobFinished(w, job.id);
  w.initial = await snapshot(w);
  return w;
}

// Fresh objects for the cells that succeed on a write ------------------------------------------------

const unique = (w: World, prefix: string) => `${prefix}.${++w.next}`;

async function freshSource(w: World): Promise<string> {
  const p = w.people;
  const res = await w.h.request('POST', '/v2024/non-employee-sources', w.h.admin.token, {
    name: unique(w, 'fresh source'),
    description: 'like A',
    owner: { id: p.owner.identity.id },
    approvers: [{ id: p.approver.identity.id }, { id: p.laterApprover.identity.id }],
    accountManagers: [{ id: p.manager.identity.id }, { id: w.groupId }],
  });
  return ok(res, 'fresh source').id;
}

async function freshAttribute(w: World, sourceId: string): Promise<string> {
  const name = unique(w, 'fresh').replace('.', '');
  return ok(
    await w.h.request('POST', `/v2024/non-employee-sources/${sourceId}/schema-attributes`, w.h.admin.token, { type: 'TEXT', label: name, technicalName: name }),
    'fresh attribute',
  ).id;
}

async function freshRecord(w: World): Promise<{ id: string; accountName: string }> {
  const accountName = unique(w, 'fresh.record');
  return {
    id: ok(await w.h.request('POST', '/v2024/non-employee-records', w.h.admin.token, recordBody(w.ids.srcA, accountName)), 'fresh record').id,
    accountName,
  };
}

async function freshRequest(w: World): Promise<{ id: string; items: string[] }> {
  const res = ok(
    await w.h.request('POST', '/v2024/non-employee-requests', w.requesterFixtureToken, recordBody(w.ids.srcA, unique(w, 'fresh.request'))),
    'fresh request',
  );
  return { id: res.id, items: res.approvalItems.map((i: { id: string }) => i.id) };
}

// How each row is called ---------------------------------------------------------------------------

interface Call {
  method: HttpMethod;
  resource: Resource;
  /** Fastify-style, relative to the resource: `/:sourceId/schema-attributes`. */
  path: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** application/json-patch+json for PATCH; multipart for the upload (`csv`). */
  patch?: boolean;
  csv?: string;
  /** Runs after a successful call (waits for a bulk job). */
  settle?: (res: LightMyRequestResponse) => Promise<void>;
}

interface Ctx {
  w: World;
  /** True when the cell is expected to succeed on a write: act on a fresh object. */
  fresh: boolean;
}

const SOURCES: Resource = 'non-employee-sources';
const RECORDS: Resource = 'non-employee-records';
const REQUESTS: Resource = 'non-employee-requests';
const APPROVALS: Resource = 'non-employee-approvals';
const ATTRIBUTE = '/:sourceId/schema-attributes/:attributeId';
const JOB = '/:sourceId/non-employee-bulk-upload/jobs/:jobId';
const COUNT = { count: 'true' };
const EXTENSIONS = new Set([
  'listNonEmployeeBulkUploadJobs',
  'getNonEmployeeBulkUploadJob',
  'exportNonEmployeeBulkUploadJobErrors',
  'reorderNonEmployeeSourceSchemaAttributes',
]);
const orOfSources = (w: World) => `sourceId eq "${w.ids.srcB}" or sourceId eq "${w.ids.srcA}"`;

async function recordTarget({ w, fresh }: Ctx): Promise<{ id: string; accountName: string }> {
  return fresh ? freshRecord(w) : { id: w.ids.rA1, accountName: w.accountNames.rA1! };
}

async function attributeTarget({ w, fresh }: Ctx): Promise<Record<string, string>> {
  if (!fresh) return { sourceId: w.ids.srcA, attributeId: w.attrA };
  const sourceId = await freshSource(w);
  return { sourceId, attributeId: await freshAttribute(w, sourceId) };
}

const CALLS: Record<string, (ctx: Ctx) => Promise<Call>> = {
  // Sources
  listNonEmployeeSources: async () => ({ method: 'GET', resource: SOURCES, path: '', query: COUNT }),
  'listNonEmployeeSources/me': async () => ({ method: 'GET', resource: SOURCES, path: '', query: { 'requested-for': 'me', ...COUNT } }),
  'listNonEmployeeSources/managerId': async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: '',
    query: { 'requested-for': w.people.manager.identity.id, ...COUNT },
  }),
  createNonEmployeeSource: async ({ w }) => ({
    method: 'POST',
    resource: SOURCES,
    path: '',
    body: { name: unique(w, 'created source'), description: 'made by a matrix cell', owner: { id: w.people.owner.identity.id } },
  }),
  getNonEmployeeSource: async ({ w }) => ({ method: 'GET', resource: SOURCES, path: '/:sourceId', params: { sourceId: w.ids.srcA } }),
  patchNonEmployeeSource: async ({ w, fresh }) => ({
    method: 'PATCH',
    resource: SOURCES,
    path: '/:sourceId',
    params: { sourceId: fresh ? await freshSource(w) : w.ids.srcA },
    body: [{ op: 'replace', path: '/description', value: 'patched' }],
    patch: true,
  }),
  deleteNonEmployeeSource: async ({ w, fresh }) => ({
    method: 'DELETE',
    resource: SOURCES,
    path: '/:sourceId',
    params: { sourceId: fresh ? await freshSource(w) : w.ids.srcA },
  }),
  // Schema attributes
  getNonEmployeeSourceSchemaAttributes: async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: '/:sourceId/schema-attributes',
    params: { sourceId: w.ids.srcA },
  }),
  createNonEmployeeSourceSchemaAttributes: async ({ w, fresh }) => {
    const name = unique(w, 'made').replace('.', '');
    return {
      method: 'POST',
      resource: SOURCES,
      path: '/:sourceId/schema-attributes',
      params: { sourceId: fresh ? await freshSource(w) : w.ids.srcA },
      body: { type: 'TEXT', label: name, technicalName: name },
    };
  },
  deleteNonEmployeeSourceSchemaAttributes: async (ctx) => ({
    method: 'DELETE',
    resource: SOURCES,
    path: '/:sourceId/schema-attributes',
    params: { sourceId: (await attributeTarget(ctx)).sourceId! },
  }),
  getNonEmployeeSchemaAttribute: async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: ATTRIBUTE,
    params: { sourceId: w.ids.srcA, attributeId: w.attrA },
  }),
  'getNonEmployeeSchemaAttribute/viaB': async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: ATTRIBUTE,
    params: { sourceId: w.ids.srcB, attributeId: w.attrA },
  }),
  patchNonEmployeeSchemaAttribute: async (ctx) => ({
    method: 'PATCH',
    resource: SOURCES,
    path: ATTRIBUTE,
    params: await attributeTarget(ctx),
    body: [{ op: 'replace', path: '/label', value: 'Patched' }],
    patch: true,
  }),
  'patchNonEmployeeSchemaAttribute/viaB': async ({ w }) => ({
    method: 'PATCH',
    resource: SOURCES,
    path: ATTRIBUTE,
    params: { sourceId: w.ids.srcB, attributeId: w.attrA },
    body: [{ op: 'replace', path: '/label', value: 'Patched' }],
    patch: true,
  }),
  reorderNonEmployeeSourceSchemaAttributes: async (ctx) => {
    const { sourceId, attributeId } = await attributeTarget(ctx);
    return { method: 'PUT', resource: SOURCES, path: '/:sourceId/schema-attributes-order', params: { sourceId: sourceId! }, body: { order: [attributeId!] } };
  },
  deleteNonEmployeeSchemaAttribute: async (ctx) => ({ method: 'DELETE', resource: SOURCES, path: ATTRIBUTE, params: await attributeTarget(ctx) }),
  'deleteNonEmployeeSchemaAttribute/viaB': async ({ w }) => ({
    method: 'DELETE',
    resource: SOURCES,
    path: ATTRIBUTE,
    params: { sourceId: w.ids.srcB, attributeId: w.attrA },
  }),
  // Records
  listNonEmployeeRecords: async () => ({ method: 'GET', resource: RECORDS, path: '', query: COUNT }),
  'listNonEmployeeRecords/orFilter': async ({ w }) => ({ method: 'GET', resource: RECORDS, path: '', query: { filters: orOfSources(w), ...COUNT } }),
  'listNonEmployeeRecords/merged': async ({ w }) => ({
    method: 'GET',
    resource: RECORDS,
    path: '',
    query: { sorters: 'lastName', filters: orOfSources(w), ...COUNT },
  }),
  createNonEmployeeRecord: async ({ w }) => ({ method: 'POST', resource: RECORDS, path: '', body: recordBody(w.ids.srcA, unique(w, 'made.record')) }),
  getNonEmployeeRecord: async ({ w }) => ({ method: 'GET', resource: RECORDS, path: '/:id', params: { id: w.ids.rA1 } }),
  updateNonEmployeeRecord: async (ctx) => {
    const r = await recordTarget(ctx);
    return {
      method: 'PUT',
      resource: RECORDS,
      path: '/:id',
      params: { id: r.id },
      body: recordBody(ctx.w.ids.srcA, r.accountName, { firstName: 'Changed', endDate: NEW_END }),
    };
  },
  'updateNonEmployeeRecord/endDate': async (ctx) => {
    const r = await recordTarget(ctx);
    return { method: 'PUT', resource: RECORDS, path: '/:id', params: { id: r.id }, body: recordBody(ctx.w.ids.srcA, r.accountName, { endDate: NEW_END }) };
  },
  patchNonEmployeeRecord: async (ctx) => ({
    method: 'PATCH',
    resource: RECORDS,
    path: '/:id',
    params: { id: (await recordTarget(ctx)).id },
    body: [{ op: 'replace', path: '/firstName', value: 'Changed' }],
    patch: true,
  }),
  'patchNonEmployeeRecord/endDate': async (ctx) => ({
    method: 'PATCH',
    resource: RECORDS,
    path: '/:id',
    params: { id: (await recordTarget(ctx)).id },
    body: [{ op: 'replace', path: '/endDate', value: NEW_END }],
    patch: true,
  }),
  'patchNonEmployeeRecord/noop': async (ctx) => ({
    method: 'PATCH',
    resource: RECORDS,
    path: '/:id',
    params: { id: (await recordTarget(ctx)).id },
    body: [],
    patch: true,
  }),
  'patchNonEmployeeRecord/testOnly': async (ctx) => ({
    method: 'PATCH',
    resource: RECORDS,
    path: '/:id',
    params: { id: (await recordTarget(ctx)).id },
    body: [{ op: 'test', path: '/firstName', value: 'Ada' }],
    patch: true,
  }),
  'patchNonEmployeeRecord/endDateAndTest': async (ctx) => ({
    method: 'PATCH',
    resource: RECORDS,
    path: '/:id',
    params: { id: (await recordTarget(ctx)).id },
    body: [
      { op: 'test', path: '/firstName', value: 'Ada' },
      { op: 'replace', path: '/endDate', value: NEW_END },
    ],
    patch: true,
  }),
  deleteNonEmployeeRecord: async (ctx) => ({ method: 'DELETE', resource: RECORDS, path: '/:id', params: { id: (await recordTarget(ctx)).id } }),
  deleteNonEmployeeRecordsInBulk: async (ctx) => ({ method: 'POST', resource: RECORDS, path: '/bulk-delete', body: { ids: [(await recordTarget(ctx)).id] } }),
  // Requests
  createNonEmployeeRequest: async ({ w }) => ({ method: 'POST', resource: REQUESTS, path: '', body: recordBody(w.ids.srcA, unique(w, 'made.request')) }),
  'listNonEmployeeRequests/me': async () => ({ method: 'GET', resource: REQUESTS, path: '', query: { 'requested-for': 'me', ...COUNT } }),
  'listNonEmployeeRequests/requesterId': async ({ w }) => ({
    method: 'GET',
    resource: REQUESTS,
    path: '',
    query: { 'requested-for': w.people.requester.identity.id, ...COUNT },
  }),
  'listNonEmployeeRequests/orFilter': async ({ w }) => ({
    method: 'GET',
    resource: REQUESTS,
    path: '',
    query: { 'requested-for': 'me', filters: orOfSources(w), ...COUNT },
  }),
  getNonEmployeeRequest: async ({ w }) => ({ method: 'GET', resource: REQUESTS, path: '/:id', params: { id: w.ids.qA } }),
  deleteNonEmployeeRequest: async ({ w, fresh }) => ({
    method: 'DELETE',
    resource: REQUESTS,
    path: '/:id',
    params: { id: fresh ? (await freshRequest(w)).id : w.ids.qA },
  }),
  'getNonEmployeeRequestSummary/me': async () => ({ method: 'GET', resource: REQUESTS, path: '/summary/:requestedFor', params: { requestedFor: 'me' } }),
  'getNonEmployeeRequestSummary/managerId': async ({ w }) => ({
    method: 'GET',
    resource: REQUESTS,
    path: '/summary/:requestedFor',
    params: { requestedFor: w.people.manager.identity.id },
  }),
  // Approvals
  listNonEmployeeApprovals: async () => ({ method: 'GET', resource: APPROVALS, path: '', query: COUNT }),
  'listNonEmployeeApprovals/me': async () => ({ method: 'GET', resource: APPROVALS, path: '', query: { 'requested-for': 'me', ...COUNT } }),
  'listNonEmployeeApprovals/approverId': async ({ w }) => ({
    method: 'GET',
    resource: APPROVALS,
    path: '',
    query: { 'requested-for': w.people.approver.identity.id, ...COUNT },
  }),
  'listNonEmployeeApprovals/orFilter': async () => ({
    method: 'GET',
    resource: APPROVALS,
    path: '',
    query: { filters: 'approvalStatus eq "NOT_READY" or approvalStatus eq "PENDING"', ...COUNT },
  }),
  getNonEmployeeApproval: async ({ w }) => ({ method: 'GET', resource: APPROVALS, path: '/:id', params: { id: w.ids.iA1 } }),
  'getNonEmployeeApproval/L2': async ({ w }) => ({ method: 'GET', resource: APPROVALS, path: '/:id', params: { id: w.ids.iA2 } }),
  approveNonEmployeeRequest: async ({ w, fresh }) => ({
    method: 'POST',
    resource: APPROVALS,
    path: '/:id/approve',
    params: { id: fresh ? (await freshRequest(w)).items[0]! : w.ids.iA1 },
    body: { comment: 'fine' },
  }),
  'approveNonEmployeeRequest/L2': async ({ w }) => ({
    method: 'POST',
    resource: APPROVALS,
    path: '/:id/approve',
    params: { id: w.ids.iA2 },
    body: { comment: 'fine' },
  }),
  rejectNonEmployeeRequest: async ({ w, fresh }) => ({
    method: 'POST',
    resource: APPROVALS,
    path: '/:id/reject',
    params: { id: fresh ? (await freshRequest(w)).items[0]! : w.ids.iA1 },
    body: { comment: 'no' },
  }),
  'rejectNonEmployeeRequest/L2': async ({ w }) => ({
    method: 'POST',
    resource: APPROVALS,
    path: '/:id/reject',
    params: { id: w.ids.iA2 },
    body: { comment: 'no' },
  }),
  'getNonEmployeeApprovalSummary/me': async () => ({ method: 'GET', resource: APPROVALS, path: '/summary/:requestedFor', params: { requestedFor: 'me' } }),
  'getNonEmployeeApprovalSummary/approverId': async ({ w }) => ({
    method: 'GET',
    resource: APPROVALS,
    path: '/summary/:requestedFor',
    params: { requestedFor: w.people.approver.identity.id },
  }),
  // Bulk
  exportNonEmployeeRecords: async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: '/:sourceId/non-employees/download',
    params: { sourceId: w.ids.srcA },
  }),
  importNonEmployeeRecordsInBulk: async ({ w }) => ({
    method: 'POST',
    resource: SOURCES,
    path: '/:sourceId/non-employee-bulk-upload',
    params: { sourceId: w.ids.srcA },
    csv: UPLOAD_CSV,
    settle: async (res) => jobFinished(w, res.json().id),
  }),
  getNonEmployeeBulkUploadStatus: async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: '/:sourceId/non-employee-bulk-upload/status',
    params: { sourceId: w.ids.srcA },
  }),
  exportNonEmployeeSourceSchemaTemplate: async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: '/:sourceId/schema-attributes-template/download',
    params: { sourceId: w.ids.srcA },
  }),
  listNonEmployeeBulkUploadJobs: async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: '/:sourceId/non-employee-bulk-upload/jobs',
    params: { sourceId: w.ids.srcA },
    query: COUNT,
  }),
  getNonEmployeeBulkUploadJob: async ({ w }) => ({ method: 'GET', resource: SOURCES, path: JOB, params: { sourceId: w.ids.srcA, jobId: w.ids.jobA } }),
  'getNonEmployeeBulkUploadJob/viaB': async ({ w }) => ({ method: 'GET', resource: SOURCES, path: JOB, params: { sourceId: w.ids.srcB, jobId: w.ids.jobA } }),
  exportNonEmployeeBulkUploadJobErrors: async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: `${JOB}/errors`,
    params: { sourceId: w.ids.srcA, jobId: w.ids.jobA },
  }),
  'exportNonEmployeeBulkUploadJobErrors/viaB': async ({ w }) => ({
    method: 'GET',
    resource: SOURCES,
    path: `${JOB}/errors`,
    params: { sourceId: w.ids.srcB, jobId: w.ids.jobA },
  }),
};

// Running and judging a cell ---------------------------------------------------------------------------

function urlOf(flavour: Flavour, call: Call): string {
  const path = call.path.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(call.params?.[name] ?? `<${name}?>`));
  const base = flavour === 'v1' ? `/${call.resource}/v1${path}` : `/${flavour}/${call.resource}${path}`;
  const query = call.query ? `?${new URLSearchParams(call.query).toString()}` : '';
  return base + query;
}

function send(w: World, flavour: Flavour, call: Call, token: string | undefined): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (call.csv !== undefined) {
    const { payload, contentType } = multipart(call.csv);
    return w.h.app.inject({ method: call.method, url: urlOf(flavour, call), headers: { ...headers, 'content-type': contentType }, payload });
  }
  if (call.body !== undefined) {
    headers['content-type'] = call.patch ? 'application/json-patch+json' : 'application/json';
    return w.h.app.inject({ method: call.method, url: urlOf(flavour, call), headers, payload: JSON.stringify(call.body) });
  }
  return w.h.app.inject({ method: call.method, url: urlOf(flavour, call), headers });
}

const sorted = (values: Iterable<string>) => [...values].sort();

const WHY_401 = {
  noToken: /no Authorization header/,
  expired: /JWT is expired/,
  otherKey: /invalid signature/,
  deletedClient: /API client was deleted/,
} as const;

function judge(w: World, flavour: Flavour, row: Row, caller: CallerKind, call: Call, expected: Outcome, res: LightMyRequestResponse): void {
  const context = `${row.op} ${urlOf(flavour, call)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  assert.equal(res.statusCode, expected.status, context);
  const isCsv = /^text\/csv/.test(String(res.headers['content-type'] ?? ''));
  let body: unknown;
  switch (expected.body) {
    case 'empty':
      assert.equal(res.body, '', context);
      break;
    case 'csv': {
      assert.ok(isCsv, `${context}: not text/csv`);
      body = res.body;
      if (expected.exactly) {
        const lines = res.body.split('\n').filter((l) => l !== '');
        const names = lines.slice(1).map((l) => l.split(',')[0]!);
        assert.deepEqual(sorted(names), sorted(expected.exactly.map((r) => w.accountNames[r] ?? `<${r} is not a record>`)), context);
      }
      break;
    }
    case '{error}':
      body = res.json();
      assert.deepEqual(Object.keys(body as object), ['error'], context);
      assert.equal(typeof (body as { error: unknown }).error, 'string', context);
      // Each bad token is refused for its own reason, not for another one.
      if (caller in WHY_401) assert.match((body as { error: string }).error, WHY_401[caller as keyof typeof WHY_401], context);
      break;
    case 'ErrorResponseDto': {
      const error = errorOf(res);
      body = error;
      const code = expected.status === 403 ? '403 Forbidden' : expected.status === 404 ? '404 Not found' : undefined;
      if (code) assert.equal(error.detailCode, code, context);
      else assert.match(error.detailCode, /^400\./, context);
      break;
    }
    case 'object':
      body = res.json();
      assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `${context}: not a JSON object`);
      if ('equals' in expected) assert.deepEqual(body, expected.equals, context);
      break;
    case 'array': {
      body = res.json();
      assert.ok(Array.isArray(body), `${context}: not a JSON array`);
      const list = body as { id: string }[];
      if (expected.exactly) {
        assert.deepEqual(
          sorted(list.map((o) => o.id)),
          sorted(expected.exactly.map((r) => w.ids[r])),
          `${context}: not exactly ${expected.exactly.join(', ') || 'nothing'}`,
        );
        if (call.query?.count === 'true') assert.equal(res.headers['x-total-count'], String(expected.exactly.length), `${context}: X-Total-Count`);
      }
      break;
    }
  }
  if (expected.body !== 'csv') assert.ok(!isCsv, `${context}: unexpected text/csv`);
  // The upstream contract: every body of a SailPoint operation; for the extensions, the error shapes.
  const template = `/${call.resource}${call.path.replace(/:(\w+)/g, '{$1}')}`;
  const contractOp = EXTENSIONS.has(row.op)
    ? expected.status >= 400
      ? { resource: SOURCES, path: '/{id}/non-employee-bulk-upload/status' }
      : undefined
    : { resource: call.resource, path: template.slice(call.resource.length + 1) };
  if (contractOp) {
    const method: HttpMethod = EXTENSIONS.has(row.op) ? 'GET' : call.method;
    assertMatchesContract(flavour, method, `/${contractOp.resource}${contractOp.path}`, expected.status, expected.body === 'empty' ? undefined : body);
  }
}

/** v3, v2025, v2026: each runs the cells (row i, caller j) with (i + j) % 3 === its position in SAMPLED. */
function runs(flavour: Flavour, rowIndex: number, callerIndex: number): boolean {
  if (EVERY_CELL || FULL.includes(flavour)) return true;
  return (rowIndex + callerIndex) % SAMPLED.length === SAMPLED.indexOf(flavour);
}

// The tests ------------------------------------------------------------------------------------------

const ORDERED = [...MATRIX.filter((r) => !r.write), ...MATRIX.filter((r) => r.write)];

/**
 * Flavour groups, one world each: the year-versioned flavours (v2024 in full, v3, v2025 and v2026
 * sampled), beta, v1. Within a group every read cell of every flavour runs before any write cell.
 */
const GROUPS: readonly (readonly Flavour[])[] = [['v2024', 'v3', 'v2025', 'v2026'], ['beta'], ['v1']];

// The groups run side by side (each on its own app and database); a group's cells run one by one, in order.
describe('authorization matrix', { concurrency: GROUPS.length }, () => {
  for (const group of GROUPS) {
    const name = group.join(', ');
    describe(`authorization matrix: ${name}`, { concurrency: 1 }, () => {
      let w: World;
      before(async () => {
        const started = Date.now();
        w = await build();
        if (process.env.NELM_AUTHZ_TIMING) console.error(`${name}: world built in ${Date.now() - started} ms`);
      });
      after(async () => w?.h.close());

      if (group.includes('v2024')) {
        test('the matrix covers every mounted operation, and every row can be called', async () => {
          const document = (await w.h.app.inject({ method: 'GET', url: '/v2024/openapi.json' })).json() as {
            paths: Record<string, Record<string, { operationId?: string }>>;
          };
          const mounted = new Set(
            Object.entries(document.paths)
              .filter(([path]) => path.includes('/non-employee-'))
              .flatMap(([, item]) => Object.values(item).flatMap((op) => (op.operationId ? [op.operationId] : []))),
          );
          assert.deepEqual(sorted(new Set(MATRIX.map((r) => r.op))), sorted(mounted));
          for (const row of MATRIX) assert.ok(CALLS[rowKey(row)], `no call for ${rowKey(row)}`);
          assert.equal(new Set(MATRIX.map(rowKey)).size, MATRIX.length, 'row keys are unique');
        });
      }

      for (const row of ORDERED) {
        const rowIndex = MATRIX.indexOf(row);
        for (const flavour of group) {
          CALLERS.forEach((caller, callerIndex) => {
            if (!runs(flavour, rowIndex, callerIndex)) return;
            const expected = row.cells[caller];
            test(`${flavour} ${rowKey(row)} × ${caller} → ${cellText(expected)}`, async () => {
              const fresh = row.write && expected.status < 300;
              const call = await CALLS[rowKey(row)]!({ w, fresh });
              const watch = row.write && !fresh;
              const before = watch ? (w.clean ?? (await snapshot(w))) : undefined;
              w.clean = undefined;
              const res = await send(w, flavour, call, w.tokens[caller]);
              if (fresh && res.statusCode < 300) await call.settle?.(res);
              judge(w, flavour, row, caller, call, expected, res);
              if (before) {
                const after = await snapshot(w);
                assert.deepEqual(after, before, `${rowKey(row)} × ${caller}: a refused write changed the database`);
                w.clean = after;
              }
            });
          });
        }
      }

      test(`${name}: the shared objects of the world are as they were built`, async () => {
        const now = await snapshot(w);
        const { ids } = w;
        const among =
          (...values: string[]) =>
          (v: unknown) =>
            typeof v === 'string' && values.includes(v);
        const sources = among(ids.srcA, ids.srcB);
        const requests = among(ids.qA, ids.qB);
        const keep: Record<string, (r: Record<string, unknown>) => boolean> = {
          sources: (r) => sources(r.id),
          source_members: (r) => sources(r.source_id),
          schema_attributes: (r) => sources(r.source_id),
          records: (r) => among(ids.rA1, ids.rA2, ids.rB1)(r.id),
          requests: (r) => requests(r.id),
          approval_items: (r) => requests(r.request_id),
          bulk_jobs: (r) => r.id === ids.jobA,
          workgroups: (r) => r.id === w.groupId,
          workgroup_members: (r) => r.workgroup_id === w.groupId,
        };
        for (const [table, wanted] of Object.entries(keep)) {
          // A source's counters and `modified` move with the records fresh cells add to it.
          const pick = (s: Snapshot) =>
            s[table]!.map((line) => JSON.parse(line) as Record<string, unknown>)
              .filter(wanted)
              .map(({ record_count: _r, custom_attribute_count: _c, ...rest }) =>
                JSON.stringify(table === 'sources' ? { ...rest, modified: undefined } : rest),
              );
          const expected = pick(w.initial);
          assert.ok(expected.length > 0, table);
          assert.deepEqual(pick(now), expected, table);
        }
      });
    });
  }
});
