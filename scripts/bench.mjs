#!/usr/bin/env node
// Runs one benchmark: `npm run bench -- <name> [args…]` runs bench/<name>/index.ts through tsx,
// from the repository root, and exits with its exit code. `npm run bench` lists the benchmarks.
// Benchmarks are not part of `npm test`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const benchDir = path.join(root, 'bench');
const available = existsSync(benchDir)
  ? readdirSync(benchDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(benchDir, d.name, 'index.ts')))
      .map((d) => d.name)
      .sort()
  : [];

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  if (name) console.error(`no benchmark named '${name}'`);
  console.error(`usage: npm run bench -- <name> [args…]\nbenchmarks: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}

const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDir, name, 'index.ts'), ...args], { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
