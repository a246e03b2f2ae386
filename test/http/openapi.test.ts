/**
 * The served OpenAPI is a tested artifact: every NELM operation it describes must exist upstream
 * (test/contract/nelm-*.openapi.json) with the same operationId, parameters, request content
 * types and status codes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { FLAVOURS } from '../../src/http/operation.js';
import { ADMIN, harness, type Harness } from '../helpers/app.js';

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
        if (op['x-nelm-extension'] || !key.includes('/non-employee-')) continue;
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

  const documents = ['/openapi.json', ...FLAVOURS.map((f) => `/${f}/openapi.json`)];

  for (const url of documents) {
    test(`${url} is valid OpenAPI 3.1 (swagger-parser), with the token endpoint and the admin API`, async () => {
      const res = await h.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200);
      const doc = res.json() as Doc & { openapi: string };
      assert.equal(doc.openapi, '3.1.0');
      await SwaggerParser.validate(structuredClone(doc) as never);
      assert.equal(doc.paths['/oauth/token']?.post?.operationId, 'createToken');
      assert.ok(doc.paths['/admin/v1/identities']?.post, 'the admin API');
      const nelm = Object.keys(doc.paths).filter((p) => p.includes('/non-employee-'));
      assert.equal(nelm.length, url === '/openapi.json' ? 46 : 23, 'the NELM paths');
    });
  }

  test('a document that breaks the rules is refused by the same check', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/v2024/openapi.json' })).json() as Record<string, unknown>;
    await assert.rejects(SwaggerParser.validate({ ...doc, openapi: '3.0.1' } as never));
  });

  test('the token endpoint answers what its document says', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'client_credentials', client_id: ADMIN.clientId, client_secret: ADMIN.clientSecret },
    });
    assert.equal(res.statusCode, 200, res.body);
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const schema = doc.paths['/oauth/token'].post.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(res.json()).sort(), Object.keys(schema.properties).sort());
  });

  describe('the interactive reference at /docs', () => {
    test('a page with no inline script, under a Content-Security-Policy that forbids it', async () => {
      const res = await h.app.inject({ method: 'GET', url: '/docs' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
      const scripts = [...res.body.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
      assert.equal(scripts.length, 3);
      for (const [, attributes, body] of scripts) {
        assert.match(attributes!, / src="\/docs\/[a-z.-]+"/);
        assert.equal(body, '');
      }
    });

    test('its scripts and styles come from this server, and it lists every served document', async () => {
      for (const [file, type] of [
        ['swagger-ui-bundle.js', /javascript/],
        ['swagger-ui-standalone-preset.js', /javascript/],
        ['swagger-ui.css', /css/],
        ['reference.js', /javascript/],
      ] as const) {
        const res = await h.app.inject({ method: 'GET', url: `/docs/${file}` });
        assert.equal(res.statusCode, 200, file);
        assert.match(String(res.headers['content-type']), type);
        assert.ok(res.rawPayload.length > 100, file);
      }
      const start = (await h.app.inject({ method: 'GET', url: '/docs/reference.js' })).body;
      for (const url of documents) assert.ok(start.includes(`"url":"${url}"`), url);
    });

    test('other files are 404 in the API format; no path leaves the package', async () => {
      for (const file of ['package.json', '..%2F..%2Fpackage.json', 'index.html']) {
        const res = await h.app.inject({ method: 'GET', url: `/docs/${file}` });
        assert.equal(res.statusCode, 404, file);
      }
    });
  });
});
