/**
 * The interactive API reference at `/docs`: Swagger UI from the `swagger-ui-dist` package (no
 * CDN), over the served OpenAPI documents, one per flavour plus the combined one. The page runs no
 * inline script, so its Content-Security-Policy can forbid it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>NELM API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="reference"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/reference.js"></script>
</body>
</html>
`;

/** `documents`: the served OpenAPI documents, [name, url], the first shown first. */
function startScript(documents: readonly (readonly [string, string])[]): string {
  const urls = JSON.stringify(documents.map(([name, url]) => ({ name, url })));
  return `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    urls: ${urls},
    dom_id: '#reference',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout'
  });
});
`;
}

export function referenceRoutes(app: FastifyInstance, documents: readonly (readonly [string, string])[]): void {
  const dist = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Promise<Buffer>>();
  const script = startScript(documents);

  app.get('/docs', async (_request, reply) => reply.header('content-security-policy', CSP).type('text/html; charset=utf-8').send(PAGE));
  app.get('/docs/reference.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
  app.get<{ Params: { file: string } }>('/docs/:file', async (request, reply) => {
    const type = Object.hasOwn(ASSETS, request.params.file) ? ASSETS[request.params.file] : undefined;
    if (!type) return reply.callNotFound();
    let content = cache.get(request.params.file);
    if (!content) {
      content = readFile(path.join(dist, request.params.file));
      cache.set(request.params.file, content);
    }
    return reply
      .type(type)
      .header('cache-control', 'public, max-age=86400')
      .send(await content);
  });
}
