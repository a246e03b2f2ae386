/**
 * The load generator of `npm run bench -- load` and `npm run bench -- cluster`: run as a script,
 * in a process of its own so that it does not share the server's CPU time slices or heap, it reads
 * its plan (JSON) from stdin, runs `connections` loops for `seconds`, each picking the next call
 * from the mix, and prints one JSON line with the counts and latencies per operation. Node's fetch
 * (keep-alive): at most `connections` requests in flight, so as many sockets. The cluster test
 * imports `runLoad` and runs the same mix in its own process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Plan {
  baseUrl: string;
  /** Admin token: lists, gets, creates, patches, requests. */
  token: string;
  /** Token of the approver of every source. */
  approverToken: string;
  /**
   * Tokens per connection instead (connection i takes entry i modulo their number): each client
   * then has its own share of a per-client rate limit.
   */
  clients?: { token: string; approverToken: string }[];
  sources: string[];
  /** Record ids to get and patch. */
  records: string[];
  manager: string;
  connections: number;
  seconds: number;
  /** Prefix of the accountNames this run creates (unique per run). */
  prefix: string;
  /** The least time between the starts of two calls of one connection, in ms (0: none). */
  paceMs?: number;
}

export interface OpSummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface DriverResult {
  seconds: number;
  requests: number;
  throughput: number;
  total: OpSummary;
  ops: Record<string, OpSummary & { errors: number }>;
  errors: number;
  /** The first failures: operation, call, status (0: no answer) and the start of the answer. */
  samples: string[];
}

type Op = 'list' | 'get' | 'create' | 'patch' | 'approve';
/** Weights of the mix: reads dominate, as with the official client's typical use. */
const MIX: [Op, number][] = [
  ['list', 30],
  ['get', 30],
  ['create', 15],
  ['patch', 15],
  ['approve', 10],
];
const TOTAL = MIX.reduce((n, [, w]) => n + w, 0);

function pick(): Op {
  let r = Math.random() * TOTAL;
  for (const [op, w] of MIX) {
    r -= w;
    if (r < 0) return op;
  }
  return 'list';
}

/** Runs `plan`; `stop` ends every loop early (after its call in flight). */
export async function runLoad(plan: Plan, stop?: AbortSignal): Promise<DriverResult> {
  const latencies: Record<string, number[]> = {};
  const errors: Record<string, number> = {};
  const samples: string[] = [];
  let seq = 0;
  const any = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;

  const timed = async (
    name: string,
    method: string,
    url: string,
    token: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ approvalItems: { id: string }[] } | undefined> => {
    const t0 = performance.now();
    let status = 0;
    let text = '';
    try {
      const res = await fetch(`${plan.baseUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      status = res.status;
      text = await res.text();
    } catch (error) {
      text = String(error);
    }
    latencies[name] ??= [];
    latencies[name].push(performance.now() - t0);
    if (status < 200 || status >= 300) {
      errors[name] = (errors[name] ?? 0) + 1;
      if (samples.length < 5) samples.push(`${name} ${method} ${url} → ${status}: ${text.slice(0, 300)}`);
      return undefined;
    }
    return text ? JSON.parse(text) : undefined;
  };

  const person = (accountName: string, sourceId: string) => ({
    accountName,
    firstName: 'Load',
    lastName: 'Test',
    email: `${accountName}@example.com`,
    phone: '555-0100',
    manager: plan.manager,
    sourceId,
    startDate: '2024-01-01T00:00:00Z',
    endDate: '2030-01-01T00:00:00Z',
  });

  const step = async (op: Op, client: { token: string; approverToken: string }) => {
    switch (op) {
      case 'list':
        return timed('list', 'GET', `/v2024/non-employee-records?limit=50&filters=${encodeURIComponent(`sourceId eq "${any(plan.sources)}"`)}`, client.token);
      case 'get':
        return timed('get', 'GET', `/v2024/non-employee-records/${any(plan.records)}`, client.token);
      case 'create':
        return timed('create', 'POST', '/v2024/non-employee-records', client.token, person(`${plan.prefix}.c.${seq++}`, any(plan.sources)));
      case 'patch':
        return timed(
          'patch',
          'PATCH',
          `/v2024/non-employee-records/${any(plan.records)}`,
          client.token,
          [{ op: 'replace', path: '/phone', value: `555-${seq++}` }],
          'application/json-patch+json',
        );
      case 'approve': {
        const request = await timed('request', 'POST', '/v2024/non-employee-requests', client.token, person(`${plan.prefix}.r.${seq++}`, any(plan.sources)));
        if (!request) return;
        return timed('approve', 'POST', `/v2024/non-employee-approvals/${request.approvalItems[0]!.id}/approve`, client.approverToken, {});
      }
    }
  };

  const clients = plan.clients?.length ? plan.clients : [{ token: plan.token, approverToken: plan.approverToken }];
  const pace = plan.paceMs ?? 0;
  const start = performance.now();
  const until = start + plan.seconds * 1000;
  await Promise.all(
    Array.from({ length: plan.connections }, async (_, connection) => {
      const client = clients[connection % clients.length]!;
      while (performance.now() < until && !stop?.aborted) {
        const began = performance.now();
        await step(pick(), client);
        const rest = pace - (performance.now() - began);
        if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const summary = (xs: number[]): OpSummary => {
    const s = Float64Array.from(xs).sort();
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
    return { count: s.length, p50: q(0.5), p99: q(0.99), max: s[s.length - 1] ?? 0 };
  };
  const all = Object.values(latencies).flat();
  return {
    seconds: elapsed,
    requests: all.length,
    throughput: all.length / elapsed,
    total: summary(all),
    ops: Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, { ...summary(v), errors: errors[k] ?? 0 }])),
    errors: Object.values(errors).reduce((a, b) => a + b, 0),
    samples,
  };
}

/** Runs `plan` in a child process of its own (this file as a script): the benchmarks' way. */
export function drive(plan: Plan): Promise<DriverResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(JSON.stringify(plan));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as DriverResult) : reject(new Error(`driver exited with ${code}`))));
  });
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  process.stdout.write(`${JSON.stringify(await runLoad(JSON.parse(input) as Plan))}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  });
}
