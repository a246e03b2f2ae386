#!/usr/bin/env node
// Builds the web console (console/) into dist/console/: one minified script and one stylesheet
// with content-hashed names under assets/, and index.html naming them. Run by `npm run build`.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'console');

rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, 'assets'), { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: ['console/src/main.tsx'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((file) => path.relative(out, path.join(root, file)).split(path.sep).join('/'));
const script = outputs.find((file) => file.endsWith('.js'));
const style = outputs.find((file) => file.endsWith('.css'));
if (!script || !style) throw new Error(`the console build made no script or no stylesheet: ${outputs.join(', ')}`);

const template = readFileSync(path.join(root, 'console', 'index.html'), 'utf8');
const page = template.replace('%STYLE%', `/console/${style}`).replace('%SCRIPT%', `/console/${script}`);
writeFileSync(path.join(out, 'index.html'), page);
console.log(`console built: dist/console/${script}, dist/console/${style}`);
