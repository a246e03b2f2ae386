/**
 * Shared pieces of the hostile-input (fuzz) tests: how many runs, how a request is sent and judged,
 * the change counter that proves a rejected request stored nothing, the seed world, and the
 * generators of hostile values (fast-check arbitraries).
 *
 * Run sizes scale with FUZZ_RUNS (a multiplier, default 1): `FUZZ_RUNS=10 npm test -- fuzz`.
 * FUZZ_SEED fixes fast-check's seed to replay a failure (the failing seed is printed).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Harness } from '../helpers/app.js';

// ---------------------------------------------------------------------------------------------
// Run sizes and bookkeeping

const scale = Number(process.env.FUZZ_RUNS ?? '1');
if (!Number.isFinite(scale) || scale <= 0) throw new Error(`FUZZ_RUNS must be a positive number, got ${process.env.FUZZ_RUNS}`);

/** `n` runs at the default scale, scaled by FUZZ_RUNS (at least 1). */
export function runs(n: number): number {
  return Math.max(1, Math.round(n * scale));
}

/** fast-check parameters: the run count, and the seed when FUZZ_SEED replays one. */
export function params(n: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED;
  return { numRuns: runs(n), ...(seed ? { seed: Number(seed) } : {}) };
}

export const stats = { requests: 0, started: Date.now() };

export function engineName(): string {
  return /^postgres/.test(process.env.DATABASE_URL ?? '') ? 'PostgreSQL' : 'SQLite';
}

/** One line for the test log: `fuzz <file>: 12345 requests in 23.4 s on SQLite`. */
export function summary(file: string): string {
  return `fuzz ${file}: ${stats.requests} requests in ${((Date.now() - stats.started) / 1000).toFixed(1)} s on ${engineName()}`;
}

// ---------------------------------------------------------------------------------------------
// Sending and judging

/** Longest a single request may take before it counts as a hang. */
const HANG_MS = 15_000;

/** Sends one request through inject; a request that does not answer within HANG_MS fails the test. */
export async function send(h: Harness, options: InjectOptions): Promise<LightMyRequestResponse> {
  stats.requests++;
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${options.method} ${String(options.url).slice(0, 200)} gave no answer in ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    return await Promise.race([h.app.inject(options), hang]);
  } finally {
    clearTimeout(timer);
  }
}

export const ALLOWED_STATUSES = new Set([200, 202, 204, 400, 401, 403, 404]);
const STACK_FRAME = /\n\s+at .+:\d+:\d+/;

function isMessage(m: unknown): boolean {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const { locale, localeOrigin, text, ...rest } = m as Record<string, unknown>;
  return (
    Object.keys(rest).length === 0 &&
    (typeof locale === 'string' || locale === null) &&
    (localeOrigin === 'DEFAULT' || localeOrigin === 'REQUEST' || localeOrigin === null) &&
    typeof text === 'string'
  );
}

/** Why `body` is not a well-formed ErrorResponseDto for `status`, or undefined when it is. */
export function errorDtoProblem(res: LightMyRequestResponse): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return 'body is not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body is not an object';
  const { detailCode, trackingId, messages, causes, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `unexpected members ${Object.keys(rest).join(', ')}`;
  if (typeof detailCode !== 'string' || !detailCode.startsWith(String(res.statusCode)))
    return `detailCode ${JSON.stringify(detailCode)} does not fit status ${res.statusCode}`;
  if (typeof trackingId !== 'string' || trackingId === '') return 'trackingId missing';
  if (trackingId !== res.headers['x-request-id']) return 'trackingId differs from X-Request-Id';
  if (!Array.isArray(messages) || messages.length === 0 || !messages.every(isMessage)) return 'messages malformed';
  if (!Array.isArray(causes) || !causes.every(isMessage)) return 'causes malformed';
  if (!/^application\/json/.test(String(res.headers['content-type']))) return `content-type ${res.headers['content-type']}`;
  return undefined;
}

/** Why `body` is not the 401 shape `{"error": …}` (optionally `error_description`), or undefined. */
function unauthorizedProblem(res: LightMyRequestResponse): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return 'body is not JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body is not an object';
  const { error, error_description: description, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return `unexpected members ${Object.keys(rest).join(', ')}`;
  if (typeof error !== 'string' || (description !== undefined && typeof description !== 'string')) return 'error is not a string';
  return undefined;
}

/**
 * The properties every answer must have: never a 5xx, only documented statuses, and every error in
 * its documented shape (ErrorResponseDto for 400/403/404 with trackingId = X-Request-Id; `{error}`
 * for 401). `oauth` allows the token endpoint's RFC 6749 400s as well.
 */
export function assertDocumented(res: LightMyRequestResponse, what: string, options: { oauth?: boolean } = {}): void {
  const context = () => `${what} → ${res.statusCode} ${res.body.slice(0, 500)}`;
  assert.ok(res.statusCode < 500, `5xx: ${context()}`);
  assert.ok(ALLOWED_STATUSES.has(res.statusCode), `undocumented status: ${context()}`);
  if (res.statusCode === 401) {
    const problem = unauthorizedProblem(res);
    assert.equal(problem, undefined, `401 body: ${problem}: ${context()}`);
  } else if (res.statusCode >= 400) {
    const problem = errorDtoProblem(res);
    if (problem !== undefined && options.oauth && res.statusCode === 400 && unauthorizedProblem(res) === undefined) return;
    assert.equal(problem, undefined, `error body: ${problem}: ${context()}`);
    assert.doesNotMatch(res.body, STACK_FRAME, `stack trace in the body: ${context()}`);
  }
}

/** A request as a string for messages: method, URL (cut) and body (cut). */
export function describeRequest(options: InjectOptions): string {
  const payload = options.payload;
  const body =
    payload === undefined ? '' : typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('latin1') : JSON.stringify(payload);
  return `${options.method} ${String(options.url).slice(0, 300)} ${JSON.stringify(options.headers ?? {}).slice(0, 300)} ${body.slice(0, 300)}`;
}

// ---------------------------------------------------------------------------------------------
// What the database holds

/**
 * Tables that workers change on their own time, whatever the request under test does: the event
 * log's consumers (their cursors, the mails and webhook deliveries they derive), the webhook
 * sender, the lifecycle sweep, and the chain head every event moves (an event is counted itself).
 */
const WRITTEN_IN_THE_BACKGROUND = new Set([
  'event_chains',
  'event_consumers',
  'event_cursors',
  'notifications',
  'webhook_deliveries',
  'webhook_attempts',
  'lifecycle_due',
  'lifecycle_done',
  'lifecycle_digests',
  'lifecycle_digest_lines',
]);

/**
 * A change counter for the whole database, for "a rejected request stored nothing": a row trigger
 * on every table adds one to `fuzz_changes.n` for each row inserted, updated or deleted (test
 * instrumentation, in the test's own database). Equal readings before and after a request show it
 * wrote nothing. Tables only workers write are left out, and `events` counts the events of callers
 * (with an actor). Bulk jobs also change in the background: wait with `bulkIdle` after a 202.
 */
export async function changeCounter(h: Harness): Promise<() => Promise<number>> {
  const db = h.app.db;
  const tables = (await db.kysely.introspection.getTables())
    .filter((t) => !t.isView && !t.name.startsWith('kysely_') && (db.engine !== 'postgres' || t.schema === db.schema))
    .map((t) => t.name);
  assert.ok(tables.includes('records') && tables.includes('bulk_jobs'), `expected the NELM tables, found ${tables.join(', ')}`);
  await sql`create table fuzz_changes (n integer not null)`.execute(db.kysely);
  await sql`insert into fuzz_changes (n) values (0)`.execute(db.kysely);
  if (db.engine === 'postgres') {
    await sql`create function fuzz_bump() returns trigger language plpgsql as $$ begin update fuzz_changes set n = n + 1; return null; end $$`.execute(
      db.kysely,
    );
  }
  for (const table of tables.filter((t) => !WRITTEN_IN_THE_BACKGROUND.has(t))) {
    // The audit trail: the events a caller's change writes (a token request refused after its
    // secret was checked writes one by design, with no actor; so do the server's own sweeps).
    const when = table === 'events' ? sql` when (new.actor_id is not null)` : sql``;
    for (const event of table === 'events' ? ['insert'] : ['insert', 'update', 'delete']) {
      const name = sql.id(`fuzz_${table}_${event}`);
      const on = sql.raw(event);
      if (db.engine === 'postgres') {
        await sql`create trigger ${name} after ${on} on ${sql.id(table)} for each row${when} execute function fuzz_bump()`.execute(db.kysely);
      } else {
        await sql`create trigger ${name} after ${on} on ${sql.id(table)}${when} begin update fuzz_changes set n = n + 1; end`.execute(db.kysely);
      }
    }
  }
  return async () => {
    const { rows } = await sql<{ n: number | string }>`select n from fuzz_changes`.execute(db.kysely);
    return Number(rows[0]!.n);
  };
}

/** Waits until no bulk upload job is pending or running (a job writes in the background). */
export async function bulkIdle(h: Harness): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const busy = await h.app.db.kysely.selectFrom('bulk_jobs').select('id').where('status', 'in', ['PENDING', 'IN_PROGRESS']).limit(1).execute();
    if (busy.length === 0) return;
    await sleep(10);
  }
  throw new Error('bulk jobs did not finish');
}

// ---------------------------------------------------------------------------------------------
// The seed world: one source with custom attributes, records, a pending request, a bulk job

export interface World {
  userToken: string;
  approverToken: string;
  approverId: string;
  userId: string;
  workgroupId: string;
  sourceId: string;
  attributeIds: string[];
  recordIds: string[];
  requestId: string;
  approvalId: string;
  jobId: string;
  /** Every id above, for path parameters. */
  ids: string[];
}

export const SYSTEM_COLUMNS = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate';

export function recordBody(sourceId: string, accountName: string): Record<string, unknown> {
  return {
    accountName,
    firstName: 'Ada',
    lastName: 'Lovelace',
    email: `${accountName.replace(/[^a-z0-9]/gi, '') || 'x'}@example.com`,
    phone: '555-0100',
    manager: 'admin',
    sourceId,
    data: { dept: 'R&D' },
    startDate: '2024-01-01',
    endDate: '2025-01-01',
  };
}

interface Part {
  name?: string;
  value: string | Buffer;
  filename?: string | null;
  type?: string;
}

/** A multipart/form-data body; `boundary` is random unless given. */
export function multipart(parts: Part[], boundary = `----fuzz${randomBytes(6).toString('hex')}`): { payload: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const filename = p.filename === null ? '' : `; filename="${p.filename ?? 'records.csv'}"`;
    const type = p.filename === null ? '' : `Content-Type: ${p.type ?? 'text/csv'}\r\n`;
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name ?? 'data'}"${filename}\r\n${type}\r\n`),
      Buffer.from(p.value),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function ok(res: LightMyRequestResponse, status = 200): Promise<Record<string, unknown>> {
  assert.equal(res.statusCode, status, res.body);
  return res.body ? (res.json() as Record<string, unknown>) : {};
}

export async function seed(h: Harness): Promise<World> {
  const admin = h.admin.token;
  const user = await h.caller(`fuzz.user.${randomBytes(3).toString('hex')}`);
  const approver = await h.caller(`fuzz.approver.${randomBytes(3).toString('hex')}`);
  const workgroup = await ok(
    await h.request('POST', '/admin/v1/workgroups', admin, { name: `fuzz-${randomBytes(3).toString('hex')}`, members: [approver.identity.id] }),
  );
  const source = await ok(
    await h.request('POST', '/v2024/non-employee-sources', admin, {
      name: 'Fuzz source',
      description: 'seed',
      owner: { id: h.admin.identity.id },
      approvers: [{ id: approver.identity.id }],
      accountManagers: [{ id: user.identity.id }],
    }),
  );
  const sourceId = String(source.id);
  for (const technicalName of ['dept', 'badge']) {
    await ok(
      await h.request('POST', `/v2024/non-employee-sources/${sourceId}/schema-attributes`, admin, { type: 'TEXT', label: technicalName, technicalName }),
    );
  }
  const attributes = (await h.request('GET', `/v2024/non-employee-sources/${sourceId}/schema-attributes`, admin)).json() as { id: string }[];
  const recordIds: string[] = [];
  for (const name of ['seed.one', 'seed.two', 'seed.three'])
    recordIds.push(String((await ok(await h.request('POST', '/v2024/non-employee-records', admin, recordBody(sourceId, name)))).id));
  const request = await ok(await h.request('POST', '/v2024/non-employee-requests', admin, recordBody(sourceId, 'seed.request')));
  const approvalId = String((request.approvalItems as { id: string }[])[0]!.id);
  const csv = `${SYSTEM_COLUMNS},dept\nseed.bulk,Bo,Li,555,bo@example.com,admin,2024-01-01,2025-01-01,=1+1\n`;
  const { payload, contentType } = multipart([{ value: csv }]);
  const job = await ok(
    await h.app.inject({
      method: 'POST',
      url: `/v2024/non-employee-sources/${sourceId}/non-employee-bulk-upload`,
      headers: { authorization: `Bearer ${admin}`, 'content-type': contentType },
      payload,
    }),
    202,
  );
  await bulkIdle(h);
  const world = {
    userToken: user.token,
    approverToken: approver.token,
    approverId: approver.identity.id,
    userId: user.identity.id,
    workgroupId: String(workgroup.id),
    sourceId,
    attributeIds: attributes.map((a) => a.id),
    recordIds,
    requestId: String(request.id),
    approvalId,
    jobId: String(job.id),
  };
  return {
    ...world,
    ids: [
      sourceId,
      ...world.attributeIds,
      ...recordIds,
      world.requestId,
      approvalId,
      world.jobId,
      world.userId,
      world.approverId,
      world.workgroupId,
      h.admin.identity.id,
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** Strings that have broken parsers, databases and filters before. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  'x\uDBFF\uDBFF',
  '\uFEFF',
  '\u202Eevil',
  '\u200B',
  'e\u0301',
  '𝕳𝖊𝖑𝖑𝖔',
  '👩‍👩‍👧‍👦',
  '\r\n',
  '\t',
  '\u2028\u2029',
  "' OR 1=1 --",
  '"); DROP TABLE records; --',
  "'; DROP TABLE sources; --",
  '1; SELECT pg_sleep(10)',
  "' UNION SELECT secret_hash FROM api_clients --",
  '%',
  '_',
  '\\',
  '\\"',
  '%00',
  '../../etc/passwd',
  '..',
  '.',
  '%2e%2e%2f',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, sent as written.
  '${jndi:ldap://x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '=1+1',
  '+cmd|/C calc',
  '-2+3',
  '@SUM(A1:A9)',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'null',
  'true',
  'undefined',
  'NaN',
  '-0',
  '1e309',
  '9223372036854775808',
  'me',
  'accountName eq "x" or 1 eq 1',
  'sourceId eq "x") or (1 eq 1',
  'id pr',
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_STRINGS), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
  {
    arbitrary: fc.tuple(fc.constantFrom('a', '\u0000', '\uD800', 'é', '"', "'", '%', '𝕏'), fc.integer({ min: 256, max: 70_000 })).map(([c, n]) => c.repeat(n)),
    weight: 1,
  },
);

/** A JSON text nested `depth` levels deep (arrays, objects or both), optionally left unclosed. */
export function deepJson(depth: number, kind: 'array' | 'object' | 'mixed', closed = true): string {
  const open = kind === 'array' ? '['.repeat(depth) : kind === 'object' ? '{"a":'.repeat(depth) : '[{"a":'.repeat(Math.ceil(depth / 2));
  const close = kind === 'array' ? ']'.repeat(depth) : kind === 'object' ? '}'.repeat(depth) : '}]'.repeat(Math.ceil(depth / 2));
  const inner = kind === 'array' ? '' : '1';
  return closed ? open + inner + close : open + inner;
}

/** JSON texts meant to hurt: deep nesting, prototype-pollution keys at any depth, odd escapes, odd numbers. */
export const nastyJsonText: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom(10, 100, 1000, 10_000), fc.constantFrom('array', 'object', 'mixed') as fc.Arbitrary<'array' | 'object' | 'mixed'>, fc.boolean())
    .map(([d, k, c]) => deepJson(d, k, c)),
  fc
    .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.integer({ min: 0, max: 20 }))
    .map(([key, depth]) => `${'{"a":'.repeat(depth)}{"${key}":{"polluted":true,"prototype":{"polluted":true}}}${'}'.repeat(depth)}`),
  fc.constantFrom(
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '[{"op":"add","path":"/__proto__/admin","value":true}]',
    '{"name":"a","name":"b"}',
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
    '"\\udfff"',
    '{"a":1e999}',
    '{"a":-0}',
    '{"a":123456789012345678901234567890}',
    '[1,2,]',
    "{'a':1}",
    '{"a":1}garbage',
    '\uFEFF{"a":1}',
    'null',
    'true',
    '0',
    '""',
    '[]',
    '{}',
    ' ',
    '',
    'NaN',
    '{"a":"\u0000"}',
  ),
);

/** A JSON value of any shape, or a hostile one. */
export const nastyJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: nastyString, weight: 3 },
  { arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, -0, 1e308, Number.MAX_SAFE_INTEGER + 2, [], {}, [[[]]], { id: '' }), weight: 2 },
  { arbitrary: fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'a'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }), weight: 1 },
);

/** A string that is safe to put in a URL: percent-encoded unless it is one of the raw path tricks. */
export function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    // A lone surrogate: encode the UTF-16 units one by one as the bytes a broken client would send.
    return [...value].map((c) => (/[\uD800-\uDFFF]/.test(c) ? '%ED%A0%80' : encodeURIComponent(c))).join('');
  }
}
