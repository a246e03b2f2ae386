/**
 * The `nelm` command as users run it: `bin/nelm.js`, which runs the compiled CLI in dist/ (npm test
 * builds it first, as npm install does). One node process per call, no TypeScript loader.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before the CLI tests');

/** The node arguments that run `nelm`: add the command's own after them. */
export const CLI = [path.join(ROOT, 'bin', 'nelm.js')];
