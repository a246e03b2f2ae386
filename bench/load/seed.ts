/**
 * The seed of the mixed load (`bench/load`, `bench/cluster`, the cluster test): 5 sources with one
 * approver, 1,000 records each (bulk upload; fewer when asked), and the approver's API client;
 * returns what the load driver needs, and who the approver and the admin are.
 */
import { randomBytes } from 'node:crypto';
import { csvLine } from '../../src/modules/bulk/csv.js';
import type { Plan } from './driver.js';

/** Where the seed is written: a server (or a load balancer in front of several) and an admin token. */
export interface Api {
  baseUrl: string;
  token: string;
  call<T = unknown>(method: string, url: string, body?: unknown): Promise<T>;
}

export type Seeded = Omit<Plan, 'connections' | 'seconds' | 'prefix'> & { approverId: string; adminId: string };

export async function seed(server: Api, { sources: SOURCES = 5, records: RECORDS = 1000 } = {}): Promise<Seeded> {
  const alias = `approver.${randomBytes(3).toString('hex')}`;
  const approver = await server.call<{ id: string }>('POST', '/admin/v1/identities', {
    alias,
    name: alias,
    email: `${alias}@example.com`,
    admin: false,
    rights: [],
  });
  const client = await server.call<{ clientId: string; clientSecret: string }>('POST', `/admin/v1/identities/${approver.id}/clients`);
  const token = await fetch(`${server.baseUrl}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }),
  });
  const approverToken = ((await token.json()) as { access_token: string }).access_token;
  const admin = (await server.call<{ id: string; alias: string }[]>('GET', '/admin/v1/identities?limit=250')).find((i) => i.alias === 'admin')!;
  const sources: string[] = [];
  const records: string[] = [];
  for (let s = 0; s < SOURCES; s++) {
    const source = await server.call<{ id: string }>('POST', '/v2024/non-employee-sources', {
      name: `load ${s}`,
      description: 'load bench',
      owner: { id: admin.id },
      approvers: [{ id: approver.id }],
    });
    sources.push(source.id);
    const lines = [csvLine(['accountName', 'firstName', 'lastName', 'phone', 'email', 'manager', 'startDate', 'endDate'])];
    for (let i = 0; i < RECORDS; i++)
      lines.push(
        csvLine([`seed.${s}.${i}`, 'Seed', `Record ${i}`, '555', `seed.${s}.${i}@example.com`, 'admin', '2024-01-01T00:00:00Z', '2030-01-01T00:00:00Z']),
      );
    const form = new FormData();
    form.set('data', new Blob([lines.join('')], { type: 'text/csv' }), 'seed.csv');
    const posted = await fetch(`${server.baseUrl}/v2024/non-employee-sources/${source.id}/non-employee-bulk-upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: form,
    });
    if (posted.status !== 202) throw new Error(`seed upload → ${posted.status}: ${await posted.text()}`);
    const job = (await posted.json()) as { id: string };
    for (;;) {
      const j = await server.call<{ status: string }>('GET', `/v2024/non-employee-sources/${source.id}/non-employee-bulk-upload/jobs/${job.id}`);
      if (j.status === 'COMPLETED') break;
      if (j.status === 'ERROR') throw new Error('seed import failed');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let offset = 0; offset < RECORDS; offset += 250) {
      const page = await server.call<{ id: string }[]>(
        'GET',
        `/v2024/non-employee-records?limit=250&offset=${offset}&filters=${encodeURIComponent(`sourceId eq "${source.id}"`)}`,
      );
      records.push(...page.map((r) => r.id));
    }
  }
  return { baseUrl: server.baseUrl, token: server.token, approverToken, sources, records, manager: 'admin', approverId: approver.id, adminId: admin.id };
}
