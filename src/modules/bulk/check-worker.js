/**
 * The entry of a bulk upload check's worker thread (check.ts starts it). Plain JavaScript: a worker
 * thread does not load TypeScript through the loader of the process that starts it, so from the
 * sources (no check.js beside this file) it registers tsx first, as bin/nelm.js does.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('./check.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  const { register } = await import('tsx/esm/api');
  register();
}
/** @type {{ serveChecks(): void }} */
const check = await import(existsSync(fileURLToPath(compiled)) ? compiled.href : new URL('./check.ts', import.meta.url).href);
check.serveChecks();
