/**
 * The served OpenAPI is a tested artifact: every NELM operation it describes must exist upstream
 * (test/contract/nelm-*.openapi.json) with the same operationId, parameters, request content
 * types and status codes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { harness, type Harness } from '../helpers/app.js';

type Op = {
  operationId: string;
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, unknown>;
  'x-nelm-extension'?: boolean;
};
type Doc = { paths: Record<string, Record<string, Op>> };

const reference = (slice: string): Doc => JSON.parse(readFileSync(path.resolve(import.meta.dirname, '..', 'contract', `nelm-${slice}.openapi.json`), 'utf8'));

/** The upstream path template with this server's parameter names, for comparing paths. */
const shape = (p: string) => p.replace(/\{[^}]+\}/g, '{}');

function operations(doc: Doc): Map<string, Op> {
  const out = new Map<string, Op>();
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) if (op?.operationId) out.set(`${method.toUpperCase()} ${shape(p)}`, op);
  }
  return out;
}

describe('served OpenAPI', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => h.close());

  for (const [flavour, slice, prefix] of [
    ['v2024', 'v2024', '/v2024'],
    ['v3', 'v2024', '/v3'],
    ['beta', 'beta', '/beta'],
    ['v1', 'v1', ''],
  ] as const) {
    test(`${flavour}: every served NELM operation matches the upstream one`, async () => {
      const served = (await h.app.inject({ method: 'GET', url: `/${flavour}/openapi.json` })).json() as Doc;
      const upstream = operations(reference(slice));
      const mine = operations(served);
      let compared = 0;
      for (const [key, op] of mine) {
        if (op['x-nelm-extension']) continue;
        const upstreamKey = key.replace(` ${prefix}/`, ' /');
        const theirs = upstream.get(upstreamKey);
        assert.ok(theirs, `${key} is not an upstream operation`);
        assert.equal(op.operationId, theirs.operationId, key);
        const params = (o: Op) => (o.parameters ?? []).map((p) => `${p.in}:${p.in === 'path' ? '' : p.name}:${Boolean(p.required)}`).sort();
        assert.deepEqual(params(op), params(theirs), `${key} parameters`);
        assert.deepEqual(
          Object.keys(op.requestBody?.content ?? {}).sort(),
          Object.keys(theirs.requestBody?.content ?? {}).sort(),
          `${key} request content types`,
        );
        for (const status of Object.keys(theirs.responses)) assert.ok(status in op.responses, `${key} declares ${status}`);
        const success = (o: Op) => Object.keys(o.responses).filter((s) => s.startsWith('2'));
        assert.deepEqual(success(op), success(theirs), `${key} success status`);
        compared++;
      }
      // Sources (5) and schema attributes (6) at least; later modules add theirs.
      assert.ok(compared >= 11, `compared ${compared} operations`);
    });
  }
});
