/**
 * The attacker of `npm run bench -- hostile`, in a process of its own (its CPU time is not the
 * probes'): reads its plan (JSON) from stdin, runs `connections` loops for `seconds`, each on a
 * keep-alive connection from its own loopback address (127.0.<block>.<n>, so that per-address
 * limits see distinct callers), sending the attack's request again and again as fast as the server
 * answers. Prints one JSON line: requests sent, answers by status, connection errors.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';

export type AttackKind = 'token-body' | 'nested-json' | 'wrong-secret' | 'unknown-kid' | 'csv-commas' | 'upload-flood';

export interface AttackPlan {
  baseUrl: string;
  kind: AttackKind;
  connections: number;
  seconds: number;
  /** The third octet of the attackers' addresses. */
  block: number;
  /** An identity with `idn:nesr:create` and nothing else. */
  token: string;
  adminClientId: string;
  /** Where uploads go. */
  sourceId: string;
  recordId: string;
  /** A valid CSV of the source (upload-flood). */
  csv?: string;
}

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

const MIB = 1024 * 1024;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function multipart(csv: Buffer): { body: Buffer; type: string } {
  const boundary = `----hostile${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="records.csv"\r\nContent-Type: text/csv\r\n\r\n`);
  return { body: Buffer.concat([head, csv, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

/** The attack's request; a function where each request differs. */
function requests(plan: AttackPlan): () => Request {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const bearer = { authorization: `Bearer ${plan.token}` };
  switch (plan.kind) {
    case 'token-body': {
      const body = Buffer.from('k=v&'.repeat(MIB / 4));
      return () => ({ method: 'POST', path: '/oauth/token', headers: form, body });
    }
    case 'nested-json': {
      const body = Buffer.from('['.repeat(MIB / 2) + ']'.repeat(MIB / 2));
      return () => ({ method: 'POST', path: '/v2024/non-employee-records', headers: { ...bearer, 'content-type': 'application/json' }, body });
    }
    case 'wrong-secret':
      return () => ({
        method: 'POST',
        path: '/oauth/token',
        headers: form,
        body: Buffer.from(
          new URLSearchParams({ grant_type: 'client_credentials', client_id: plan.adminClientId, client_secret: randomBytes(16).toString('hex') }).toString(),
        ),
      });
    case 'unknown-kid':
      return () => {
        const token = `${b64({ alg: 'EdDSA', kid: randomBytes(16).toString('hex'), typ: 'JWT' })}.${b64({ sub: 'x', exp: 4102444800 })}.${randomBytes(64).toString('base64url')}`;
        return { method: 'GET', path: `/v2024/non-employee-records/${plan.recordId}`, headers: { authorization: `Bearer ${token}` } };
      };
    case 'csv-commas': {
      const header = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate\n';
      const { body, type } = multipart(Buffer.concat([Buffer.from(header), Buffer.alloc(16 * MIB - header.length - 300, ',')]));
      return () => ({
        method: 'POST',
        path: `/v2024/non-employee-sources/${plan.sourceId}/non-employee-bulk-upload`,
        headers: { ...bearer, 'content-type': type },
        body,
      });
    }
    case 'upload-flood': {
      const { body, type } = multipart(Buffer.from(plan.csv ?? ''));
      return () => ({
        method: 'POST',
        path: `/v2024/non-employee-sources/${plan.sourceId}/non-employee-bulk-upload`,
        headers: { ...bearer, 'content-type': type },
        body,
      });
    }
  }
}

function send(url: URL, agent: http.Agent, request: Request): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        agent,
        headers: { ...request.headers, ...(request.body ? { 'content-length': String(request.body.length) } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const plan = JSON.parse(input) as AttackPlan;
  const url = new URL(plan.baseUrl);
  const next = requests(plan);
  next();
  // Started and its requests built: the probes begin now, so that they measure the attack and not
  // the start of this process.
  process.stdout.write('ready\n');
  const statuses: Record<string, number> = {};
  let sent = 0;
  let errors = 0;
  const until = Date.now() + plan.seconds * 1000;
  await Promise.all(
    Array.from({ length: plan.connections }, async (_, i) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: `127.0.${plan.block}.${i + 2}` });
      while (Date.now() < until) {
        sent++;
        try {
          const status = await send(url, agent, next());
          statuses[status] = (statuses[status] ?? 0) + 1;
        } catch {
          // The server may close a connection whose body it refused unread.
          errors++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      agent.destroy();
    }),
  );
  process.stdout.write(`${JSON.stringify({ sent, statuses, errors })}\n`);
}

await main();
