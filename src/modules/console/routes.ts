/**
 * The web console: the single-page app built into `dist/console/` (scripts/build-console.mjs),
 * served under `/console/`. Hashed assets are cached for a year; `index.html` answers `/console/`
 * and every client-side route below it, never cached. Every console response carries a strict
 * Content-Security-Policy. `/` leads to the console. The console's API (`/console/api/…`) is
 * mounted elsewhere; an unknown path under it is a 404 in the API's format, not the page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { fail } from '../../errors/api-error.js';

export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Where the build writes the console: `dist/console` at the repository root (from src/ or dist/). */
export const CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'console');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

interface Asset {
  type: string;
  body: Buffer;
}

/** The built files, read once: `index.html` and the hashed files under `assets/` by name. */
function load(dir: string): { index: Buffer | undefined; assets: Map<string, Asset> } {
  const assets = new Map<string, Asset>();
  const assetDir = path.join(dir, 'assets');
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) {
      const type = TYPES[path.extname(name)];
      if (type) assets.set(name, { type, body: readFileSync(path.join(assetDir, name)) });
    }
  }
  const indexFile = path.join(dir, 'index.html');
  return { index: existsSync(indexFile) ? readFileSync(indexFile) : undefined, assets };
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('Content-Security-Policy', CONSOLE_CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'same-origin')
    .header('X-Frame-Options', 'DENY');
}

/** Mounts `/` (a redirect) and `/console/…` on the public scope. */
export function consoleRoutes(app: FastifyInstance, dir: string = CONSOLE_DIR): void {
  const { index, assets } = load(dir);
  app.get('/', async (_request, reply) => reply.redirect('/console/', 302));
  const page = async (_request: unknown, reply: FastifyReply) => {
    secure(reply).header('Cache-Control', 'no-cache');
    if (!index) return reply.code(503).type('text/plain; charset=utf-8').send('The console is not built: run `npm run build`.\n');
    return reply.type('text/html; charset=utf-8').send(index);
  };
  app.get('/console', page);
  app.get<{ Params: { '*': string } }>('/console/*', async (request, reply) => {
    const rest = request.params['*'];
    if (rest === 'api' || rest.startsWith('api/')) throw fail.notFound(`No operation answers ${request.method} ${request.url.split('?')[0]}.`);
    if (rest.startsWith('assets/')) {
      const asset = assets.get(rest.slice('assets/'.length));
      if (!asset) throw fail.notFound('No such console file.');
      return secure(reply).header('Cache-Control', 'public, max-age=31536000, immutable').type(asset.type).send(asset.body);
    }
    return page(request, reply);
  });
}
