/**
 * The side work of the cluster test (test/e2e/cluster.e2e.test.ts) and benchmark (bench/cluster),
 * run beside the mixed load of `bench/load`, and its checks:
 *
 * - set-up (`SideWork.start`, before the seed, so that the endpoints see every event): a webhook
 *   receiver on 127.0.0.1 (bench/lib/webhooks.ts) with two endpoints, `lifecycle` (answering in
 *   300 ms: a restart is likely to catch a request of it in flight) and `approvals` (20 ms); a
 *   source for the imports and one for the records that expire;
 * - `expireDuring`: records whose end dates are spread over a span of the load (the servers run
 *   with NELM_LIFECYCLE_SWEEP_SECONDS=1, see `SIDE_WORK_ENV`);
 * - `during`: bulk imports of 300 rows at given moments of the load (`upload` starts one at any
 *   other moment), and optionally a client firing twice the per-client rate limit (`probe`);
 * - `check`: each import COMPLETED once (one `bulk_job.completed`) with its rows there once; each
 *   expiring record `record.expired` once; every event of an endpoint's types delivered to it, and
 *   none twice (by `webhook-id`). It checks everything done since `start`, so it may run after each
 *   phase of a benchmark on the same servers, and answers with the problems found (none: all held).
 */
import type { Api } from '../load/seed.js';
import { oauthToken } from './server.js';
import { type Receiver, sleep, startReceiver } from './webhooks.js';

/** What the servers need for the side work: a sweep every second, webhooks to 127.0.0.1 over HTTP. */
export const SIDE_WORK_ENV: Record<string, string> = {
  NELM_LIFECYCLE_SWEEP_SECONDS: '1',
  NELM_WEBHOOK_ALLOW_HTTP: 'true',
  NELM_WEBHOOK_ALLOW_PRIVATE: 'true',
  NELM_WEBHOOK_TIMEOUT: '5',
};

/** The webhook endpoints on the receiver (`<receiver>/<name>`) and the event types of each. */
export const ENDPOINTS = {
  lifecycle: ['record.expired', 'record.expiring'],
  approvals: ['approval.approved', 'request.approved', 'bulk_job.completed', 'bulk_job.failed'],
} as const;
export type EndpointName = keyof typeof ENDPOINTS;

const BULK_ROWS = 300;
/** How long `check` waits for the deliveries while none arrives. */
const DELIVERY_STALL_MS = 60_000;

/** What `check` checked, everything since `start`, and the problems it found. */
export interface Checked {
  /** Bulk imports started, and their rows. */
  imports: number;
  rows: number;
  /** Records that were to expire. */
  expiries: number;
  /** Events each endpoint was to receive. */
  deliveries: Record<EndpointName, number>;
  /** Empty when every check held; else one line per problem. */
  problems: string[];
}

/** What a client firing twice the rate limit got: 200s, 429s, any other status, a Retry-After. */
export interface ProbeResult {
  limit: number;
  ok: number;
  limited: number;
  other: number[];
  retryAfter: string | null;
}

interface AuditEvent {
  id: string;
  type: string;
  target: { id: string };
}

/** A token of a new API client of `identityId`. */
export async function clientToken(api: Api, identityId: string): Promise<string> {
  const client = await api.call<{ clientId: string; clientSecret: string }>('POST', `/admin/v1/identities/${identityId}/clients`);
  return oauthToken(api.baseUrl, client.clientId, client.clientSecret);
}

/** The problems of a probe: only 200s and 429s; the limit, not a multiple of it, let through. */
export function probeProblems({ limit, ok, limited, other, retryAfter }: ProbeResult): string[] {
  const problems: string[] = [];
  if (other.length) problems.push(`rate-limit probe: statuses other than 200 and 429: ${other.join(', ')}`);
  if (ok < limit || ok > limit * 1.05)
    problems.push(`rate-limit probe: ${ok} requests of one client passed a limit of ${limit} (processes counting apart would pass them all)`);
  if (ok + limited + other.length !== 2 * limit) problems.push(`rate-limit probe: ${ok + limited + other.length} answers to ${2 * limit} requests`);
  if (!(Number(retryAfter) > 0)) problems.push(`rate-limit probe: Retry-After ${retryAfter}`);
  return problems;
}

export class SideWork {
  /** Problems met while working (an upload refused, a probe request unanswered), until `check` reports them. */
  private readonly failures: string[] = [];
  private readonly uploads: Promise<{ n: number; id?: string }>[] = [];
  private readonly expiring: string[] = [];
  private lastEnd = 0;

  private constructor(
    private readonly api: Api,
    readonly receiver: Receiver,
    private readonly ownerId: string,
    private readonly bulkSource: string,
    private readonly expiringSource: string,
  ) {}

  /** The receiver, its endpoints and the two sources (owned by the tenant's `admin`). */
  static async start(api: Api): Promise<SideWork> {
    const receiver = await startReceiver((got) => ({ status: 200, delayMs: got.path.endsWith('/lifecycle') ? 300 : 20 }));
    try {
      for (const [name, events] of Object.entries(ENDPOINTS)) await api.call('POST', '/admin/v1/webhooks', { url: `${receiver.url}/${name}`, events });
      const admin = (await api.call<{ id: string; alias: string }[]>('GET', '/admin/v1/identities?limit=250')).find((i) => i.alias === 'admin');
      if (!admin) throw new Error('no identity with the alias admin');
      const source = (name: string) => api.call<{ id: string }>('POST', '/v2024/non-employee-sources', { name, description: '', owner: { id: admin.id } });
      return new SideWork(api, receiver, admin.id, (await source('imports')).id, (await source('expiring')).id);
    } catch (error) {
      await receiver.close();
      throw error;
    }
  }

  /**
   * Creates `count` records whose end dates are spread evenly from `fromMs` to `toMs` after
   * `begins` (a time in ms since the epoch; the end dates are whole seconds, cut down).
   */
  async expireDuring(begins: number, { count, fromMs, toMs }: { count: number; fromMs: number; toMs: number }): Promise<void> {
    for (let i = 0; i < count; i++) {
      const end = begins + fromMs + (count > 1 ? ((toMs - fromMs) * i) / (count - 1) : 0);
      const accountName = `expiring.${this.expiring.length}`;
      const record = await this.api.call<{ id: string }>('POST', '/v2024/non-employee-records', {
        accountName,
        firstName: 'Short',
        lastName: 'Lived',
        email: `${accountName}@example.com`,
        phone: '555',
        manager: 'admin',
        sourceId: this.expiringSource,
        startDate: '2024-01-01T00:00:00Z',
        endDate: new Date(end).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
      this.expiring.push(record.id);
      this.lastEnd = Math.max(this.lastEnd, end);
    }
  }

  /** Starts a bulk import of 300 new records (`check` awaits it). */
  upload(): Promise<unknown> {
    const posted = this.post(this.uploads.length + 1);
    this.uploads.push(posted);
    return posted;
  }

  /**
   * The work during a load that began at `begins` (ms since the epoch): an import at each of
   * `uploadsAtMs` after it and, with `probe`, a client of its own firing twice `probe.limit`
   * requests from 20 connections at `probe.atMs`. Resolves when the uploads are posted and the
   * probe is done, with the probe's result.
   */
  async during(
    begins: number,
    { uploadsAtMs = [], probe }: { uploadsAtMs?: number[]; probe?: { atMs: number; limit: number } },
  ): Promise<ProbeResult | undefined> {
    const at = (ms: number) => sleep(Math.max(0, begins + ms - Date.now()));
    const posted = Promise.all(uploadsAtMs.map((ms) => at(ms).then(() => this.upload())));
    const probed = probe ? at(probe.atMs).then(() => this.probe(probe.limit)) : undefined;
    await posted;
    return probed;
  }

  /**
   * Waits for the imports, expiries and deliveries to be done (each wait bounded) and checks them,
   * everything since `start`; also reports the problems met while working since the last check.
   */
  async check(): Promise<Checked> {
    const problems = this.failures.splice(0);
    const jobs = (await Promise.all(this.uploads)).filter((u): u is { n: number; id: string } => u.id !== undefined);

    // Each bulk job completed once, its rows there once.
    for (const { id } of jobs) {
      const job = await settle(async () => {
        const got = await this.api.call<{ status: string }>('GET', `/v2024/non-employee-sources/${this.bulkSource}/non-employee-bulk-upload/jobs/${id}`);
        return got.status === 'COMPLETED' || got.status === 'ERROR' ? got : undefined;
      }, 60_000);
      if (job?.status !== 'COMPLETED') problems.push(`bulk job ${id}: ${job?.status ?? 'not finished after 60 s'}`);
    }
    const jobEvents = await this.auditEvents(['bulk_job.completed', 'bulk_job.failed']);
    for (const { id } of jobs) {
      const ends = jobEvents.filter((e) => e.target.id === id).map((e) => e.type);
      if (ends.join() !== 'bulk_job.completed') problems.push(`bulk job ${id} ended ${ends.length} times: ${ends.join(', ') || 'never'}`);
    }
    const imported = new Map<string, number>();
    for (let offset = 0; ; offset += 250) {
      const page = await this.api.call<{ accountName: string }[]>(
        'GET',
        `/v2024/non-employee-records?limit=250&offset=${offset}&filters=${encodeURIComponent(`sourceId eq "${this.bulkSource}"`)}`,
      );
      for (const r of page) imported.set(r.accountName, (imported.get(r.accountName) ?? 0) + 1);
      if (page.length < 250) break;
    }
    const rows = new Set(jobs.flatMap(({ n }) => Array.from({ length: BULK_ROWS }, (_, i) => `bulk${n}.${i}`)));
    const rowProblems = [
      ...[...rows].filter((name) => imported.get(name) !== 1).map((name) => `${name} ${imported.get(name) ?? 0} times`),
      ...[...imported.keys()].filter((name) => !rows.has(name)).map((name) => `${name}, of no import`),
    ];
    if (rowProblems.length) problems.push(`imported rows not there once (${rowProblems.length}): ${rowProblems.slice(0, 5).join('; ')}`);

    // Each record expired once.
    const expiring = new Set(this.expiring);
    const expiredOf = async () => (await this.auditEvents(['record.expired'])).filter((e) => expiring.has(e.target.id));
    await settle(async () => new Set((await expiredOf()).map((e) => e.target.id)).size >= expiring.size, Math.max(10_000, this.lastEnd + 10_000 - Date.now()));
    const expired = await expiredOf();
    const times = (id: string) => expired.filter((e) => e.target.id === id).length;
    const notOnce = this.expiring.filter((id) => times(id) !== 1);
    if (notOnce.length)
      problems.push(
        `records not expired once (${notOnce.length}): ${notOnce
          .slice(0, 5)
          .map((id) => `${id} ${times(id)} times`)
          .join(', ')}`,
      );

    // Each event of an endpoint's types reached it, once.
    const names = Object.keys(ENDPOINTS) as EndpointName[];
    const expected = Object.fromEntries(
      await Promise.all(names.map(async (name) => [name, (await this.auditEvents([...ENDPOINTS[name]])).map((e) => e.id)] as const)),
    ) as Record<EndpointName, string[]>;
    const receivedBy = (name: EndpointName) => this.receiver.received.filter((r) => r.path === `/hook/${name}`).map((r) => r.id);
    const missing = () =>
      names.reduce((n, name) => {
        const got = new Set(receivedBy(name));
        return n + expected[name].filter((id) => !got.has(id)).length;
      }, 0);
    for (let left = missing(), since = Date.now(); left > 0; ) {
      if (Date.now() - since > DELIVERY_STALL_MS) break;
      await sleep(250);
      const now = missing();
      if (now < left) since = Date.now();
      left = now;
    }
    await sleep(1500);
    for (const name of names) {
      const got = receivedBy(name);
      const seen = new Set<string>();
      const twice = new Set(got.filter((id) => seen.size === seen.add(id).size));
      if (twice.size) problems.push(`${name}: ${twice.size} events received twice or more: ${[...twice].slice(0, 5).join(', ')}`);
      const wanted = new Set(expected[name]);
      const unexpected = [...seen].filter((id) => !wanted.has(id));
      if (unexpected.length) problems.push(`${name}: ${unexpected.length} events received that are not of its types: ${unexpected.slice(0, 5).join(', ')}`);
      const lost = expected[name].filter((id) => !seen.has(id));
      if (lost.length)
        problems.push(`${name}: ${lost.length} events not received (none arrived for ${DELIVERY_STALL_MS / 1000} s): ${lost.slice(0, 5).join(', ')}`);
    }

    return {
      imports: this.uploads.length,
      rows: jobs.length * BULK_ROWS,
      expiries: this.expiring.length,
      deliveries: Object.fromEntries(names.map((name) => [name, expected[name].length])) as Record<EndpointName, number>,
      problems,
    };
  }

  async close(): Promise<void> {
    await this.receiver.close();
  }

  private async post(n: number): Promise<{ n: number; id?: string }> {
    const rows = Array.from({ length: BULK_ROWS }, (_, i) => `bulk${n}.${i},A,B,1,bulk${n}.${i}@example.com,admin,2024-01-01,2030-01-01`);
    const form = new FormData();
    form.append(
      'data',
      new Blob([['accountName,firstName,lastName,phone,email,manager,startDate,endDate', ...rows].join('\n')], { type: 'text/csv' }),
      'rows.csv',
    );
    try {
      const res = await fetch(`${this.api.baseUrl}/v2024/non-employee-sources/${this.bulkSource}/non-employee-bulk-upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.api.token}` },
        body: form,
      });
      if (res.status === 202) return { n, id: ((await res.json()) as { id: string }).id };
      this.failures.push(`bulk upload ${n} → ${res.status}: ${await res.text()}`);
    } catch (error) {
      this.failures.push(`bulk upload ${n}: ${String(error)}`);
    }
    return { n };
  }

  /** A client of its own firing twice the limit, 20 at a time. */
  private async probe(limit: number): Promise<ProbeResult> {
    const token = await clientToken(this.api, this.ownerId);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < 2 * limit) {
          next++;
          try {
            const res = await fetch(`${this.api.baseUrl}/v2024/non-employee-sources?limit=1`, { headers: { authorization: `Bearer ${token}` } });
            await res.arrayBuffer();
            statuses.push(res.status);
            if (res.status === 429) retryAfter = res.headers.get('retry-after');
          } catch (error) {
            this.failures.push(`rate-limit probe: ${String(error)}`);
          }
        }
      }),
    );
    return {
      limit,
      ok: statuses.filter((s) => s === 200).length,
      limited: statuses.filter((s) => s === 429).length,
      other: statuses.filter((s) => s !== 200 && s !== 429),
      retryAfter,
    };
  }

  /** Every audit event of `types`, oldest first. */
  private async auditEvents(types: string[]): Promise<AuditEvent[]> {
    const filters = encodeURIComponent(`type in (${types.map((t) => `"${t}"`).join(', ')})`);
    const out: AuditEvent[] = [];
    for (let offset = 0; ; offset += 250) {
      const page = await this.api.call<AuditEvent[]>('GET', `/admin/v1/audit-events?filters=${filters}&limit=250&offset=${offset}`);
      out.push(...page);
      if (page.length < 250) return out;
    }
  }
}

/** Polls `probe` every 200 ms until it returns something other than undefined or false, for `timeoutMs` at most (undefined then). */
async function settle<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T | undefined> {
  for (const end = Date.now() + timeoutMs; ; await sleep(200)) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) return undefined;
  }
}
