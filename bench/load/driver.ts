/**
 * The load generator of `npm run bench -- load`, in a process of its own so that it does not share
 * the server's CPU time slices or heap: reads its plan (JSON) from stdin, runs `connections`
 * loops for `seconds`, each picking the next call from the mix, and prints one JSON line with the
 * counts and latencies per operation. Node's fetch (keep-alive): at most `connections` requests in flight, so as many sockets.
 */
export interface Plan {
  baseUrl: string;
  /** Admin token: lists, gets, creates, patches, requests. */
  token: string;
  /** Token of the approver of every source. */
  approverToken: string;
  sources: string[];
  /** Record ids to get and patch. */
  records: string[];
  manager: string;
  connections: number;
  seconds: number;
  /** Prefix of the accountNames this run creates (unique per run). */
  prefix: string;
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

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const plan = JSON.parse(input) as Plan;
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
    endDate: '2027-01-01T00:00:00Z',
  });

  const step = async (op: Op) => {
    switch (op) {
      case 'list':
        return timed('list', 'GET', `/v2024/non-employee-records?limit=50&filters=${encodeURIComponent(`sourceId eq "${any(plan.sources)}"`)}`, plan.token);
      case 'get':
        return timed('get', 'GET', `/v2024/non-employee-records/${any(plan.records)}`, plan.token);
      case 'create':
        return timed('create', 'POST', '/v2024/non-employee-records', plan.token, person(`${plan.prefix}.c.${seq++}`, any(plan.sources)));
      case 'patch':
        return timed(
          'patch',
          'PATCH',
          `/v2024/non-employee-records/${any(plan.records)}`,
          plan.token,
          [{ op: 'replace', path: '/phone', value: `555-${seq++}` }],
          'application/json-patch+json',
        );
      case 'approve': {
        const request = await timed('request', 'POST', '/v2024/non-employee-requests', plan.token, person(`${plan.prefix}.r.${seq++}`, any(plan.sources)));
        if (!request) return;
        return timed('approve', 'POST', `/v2024/non-employee-approvals/${request.approvalItems[0]!.id}/approve`, plan.approverToken, {});
      }
    }
  };

  const start = performance.now();
  const until = start + plan.seconds * 1000;
  await Promise.all(
    Array.from({ length: plan.connections }, async () => {
      while (performance.now() < until) await step(pick());
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const summary = (xs: number[]) => {
    const s = Float64Array.from(xs).sort();
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
    return { count: s.length, p50: q(0.5), p99: q(0.99), max: s[s.length - 1] ?? 0 };
  };
  const all = Object.values(latencies).flat();
  process.stdout.write(
    `${JSON.stringify({
      seconds: elapsed,
      requests: all.length,
      throughput: all.length / elapsed,
      total: summary(all),
      ops: Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, { ...summary(v), errors: errors[k] ?? 0 }])),
      errors: Object.values(errors).reduce((a, b) => a + b, 0),
      samples,
    })}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
