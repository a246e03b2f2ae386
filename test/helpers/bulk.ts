/** Bulk upload helpers for the HTTP tests: CSV files, multipart bodies, sources, jobs. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Harness } from './app.js';

export const SYSTEM = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate';
export const row = (name: string, department = 'Sales') => `${name},Ann,Lee,555-0100,${name}@example.com,admin,2024-01-01,2024-12-31,${department}`;
export const csv = (...rows: string[]) => `${[`${SYSTEM},department`, ...rows].join('\n')}\n`;
export const rows = (n: number, prefix: string, department = 'Sales') => csv(...Array.from({ length: n }, (_, i) => row(`${prefix}${i}`, department)));

export function multipart(value: string | Buffer): { payload: Buffer; contentType: string } {
  const boundary = `----bulk${randomBytes(6).toString('hex')}`;
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="records.csv"\r\nContent-Type: text/csv\r\n\r\n`),
    Buffer.from(value),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface Job {
  id: string;
  status: string;
  message: string | null;
  started: string | null;
  finished: string | null;
  counts: { created: number; updated: number };
}

/** Upload, job and source calls of one app (any app of the database: two may share one). */
export function bulkCalls(h: Harness, app: FastifyInstance = h.app) {
  const token = h.admin.token;
  const base = (sourceId: string) => `/v2024/non-employee-sources/${sourceId}`;
  const calls = {
    upload(sourceId: string, file: string | Buffer) {
      const { payload, contentType } = multipart(file);
      return app.inject({
        method: 'POST',
        url: `${base(sourceId)}/non-employee-bulk-upload`,
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
        payload,
      });
    },
    async queued(sourceId: string, file: string | Buffer): Promise<string> {
      const res = await calls.upload(sourceId, file);
      assert.equal(res.statusCode, 202, res.body);
      return res.json().id;
    },
    async job(sourceId: string, id: string): Promise<Job> {
      return (
        await app.inject({ method: 'GET', url: `${base(sourceId)}/non-employee-bulk-upload/jobs/${id}`, headers: { authorization: `Bearer ${token}` } })
      ).json();
    },
    async finished(sourceId: string, id: string, timeoutMs = 120_000): Promise<Job> {
      for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
        const j = await calls.job(sourceId, id);
        if (j.status === 'COMPLETED' || j.status === 'ERROR') return j;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`job ${id} did not finish`);
    },
    async source(name: string): Promise<string> {
      const res = await h.request('POST', '/v2024/non-employee-sources', token, { name, description: 'bulk', owner: { id: h.admin.identity.id } });
      assert.equal(res.statusCode, 200, res.body);
      const id = res.json().id as string;
      const attribute = { type: 'TEXT', label: 'department', technicalName: 'department' };
      assert.equal((await h.request('POST', `${base(id)}/schema-attributes`, token, attribute)).statusCode, 200);
      return id;
    },
    async records(sourceId: string): Promise<number> {
      const row = await h.app.db.kysely
        .selectFrom('records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('source_id', '=', sourceId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
  return calls;
}

/** The texts of an ErrorResponseDto's causes, one per line. */
export const causesOf = (body: { causes: { text: string }[] }) => body.causes.map((c) => c.text).join('\n');
