#!/usr/bin/env node
// Builds dist/ (the CLI tests run the built `nelm`, as users do; the console tests the built console), then runs every test file under
// test/ with node's test runner (TypeScript through tsx). Pass file paths or name fragments to run
// a subset: `npm test -- sources`. The engine is the one DATABASE_URL names (SQLite by default,
// each test on its own database; on PostgreSQL each test app gets its own schema).
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return find(full);
    return name.endsWith('.test.ts') ? [full] : [];
  });
}

const filters = process.argv.slice(2);
const files = find('test')
  .sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files match');
  process.exit(1);
}
execFileSync(process.execPath, [path.join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
execFileSync(process.execPath, [path.join('scripts', 'build-console.mjs')], { stdio: 'inherit' });
const engine = /^postgres/.test(process.env.DATABASE_URL ?? '') ? 'PostgreSQL' : 'SQLite';
console.log(`Running ${files.length} test files on ${engine}`);
// Three files at a time: many tests wait on timers, processes and the browser, so a third file keeps
// two cores busier (the SQLite run takes about a fifth less than with two).
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=3', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test' },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
