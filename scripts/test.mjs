#!/usr/bin/env node
// Builds dist/ (the CLI tests run the built `nelm`, as users do; the console tests the built console), then runs every test file under
// test/ with node's test runner (TypeScript through tsx). Pass file paths or name fragments to run
// a subset: `npm test -- sources`. The engine is the one DATABASE_URL names (SQLite by default,
// each test on its own database; on PostgreSQL each test app gets its own schema).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function find(dir, suffix) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return find(full, suffix);
    return name.endsWith(suffix) ? [full] : [];
  });
}

/**
 * The longest files, longest first (the PostgreSQL run's): they start first, so that the run does
 * not end with one of them alone on the machine (`node --test` would start files in name order).
 * Every other file follows in name order. The run ends by naming its longest files: keep this
 * list in step.
 */
const LONGEST = [
  'test/e2e/bulk.e2e.test.ts',
  'test/fuzz/operations.test.ts',
  'test/reliability/crash.test.ts',
  'test/authz/matrix.test.ts',
  'test/e2e/cli.e2e.test.ts',
  'test/e2e/cluster.e2e.test.ts',
  'test/e2e/backup.e2e.test.ts',
  'test/console/sources.test.ts',
  'test/console/requests-approvals.test.ts',
  'test/console/admin.test.ts',
  'test/e2e/exports-takeover.e2e.test.ts',
  'test/console/foundation.test.ts',
  'test/console/records.test.ts',
  'test/console/speed.test.ts',
  'test/console/import-export.test.ts',
  'test/e2e/shutdown.e2e.test.ts',
  'test/http/bulk-queue.test.ts',
  'test/fuzz/patch.test.ts',
  'test/e2e/audit-cli.e2e.test.ts',
  'test/http/bulk.test.ts',
];
/** Files at a time. */
const CONCURRENCY = 3;

if (process.argv[2] === '--run') {
  // The second step, in a node process that loads tsx: node:test's run() starts each file in a
  // process of its own with this process's node flags, in the order given.
  const { run } = await import('node:test');
  const { spec } = await import('node:test/reporters');
  const files = process.argv.slice(3);
  const spent = new Map();
  const stream = run({ files: files.map((f) => path.resolve(f)), concurrency: CONCURRENCY });
  stream.on('test:fail', () => {
    process.exitCode = 1;
  });
  const topLevel = ({ nesting, file, details }) => {
    if (nesting === 0 && file) spent.set(file, (spent.get(file) ?? 0) + (details?.duration_ms ?? 0));
  };
  stream.on('test:pass', topLevel);
  stream.on('test:fail', topLevel);
  const report = stream.compose(new spec());
  report.on('end', () => {
    const longest = [...spent].sort((a, b) => b[1] - a[1]).slice(0, 12);
    console.log(`longest files (s in their tests): ${longest.map(([f, ms]) => `${path.relative('.', f)} ${(ms / 1000).toFixed(1)}`).join(', ')}`);
  });
  report.pipe(process.stdout);
} else {
  const filters = process.argv.slice(2);
  const found = find('test', '.test.ts')
    .map((f) => f.split(path.sep).join('/'))
    .sort()
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
  if (found.length === 0) {
    console.error('no test files match');
    process.exit(1);
  }
  const rank = (f) => (LONGEST.includes(f) ? LONGEST.indexOf(f) : LONGEST.length);
  const files = [...found].sort((a, b) => rank(a) - rank(b));

  // The build, skipped when dist/ holds what these sources build and nothing touched it since (CI
  // runs the suite twice): dist/.test-build keeps a hash of the sources and one of dist/ as built.
  const STAMP = path.join('dist', '.test-build');
  const digest = (paths, read) => {
    const hash = createHash('sha256');
    for (const file of paths) hash.update(`${file}\0`).update(read(file)).update('\0');
    return hash.digest('hex');
  };
  const sources = digest(
    [
      ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json', path.join('scripts', 'build-console.mjs'), path.join('console', 'index.html')],
      ...find('src', ''),
      ...find(path.join('console', 'src'), ''),
    ].sort(),
    (file) => readFileSync(file),
  );
  const outputs = () =>
    digest(
      find('dist', '')
        .filter((file) => file !== STAMP)
        .sort(),
      (file) => {
        const { size, mtimeMs } = statSync(file);
        return `${size} ${mtimeMs}`;
      },
    );
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === `${sources} ${outputs()}`) {
    console.log('dist/ holds the build of these sources (dist/.test-build): not built again');
  } else {
    rmSync(STAMP, { force: true });
    execFileSync(process.execPath, [path.join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    execFileSync(process.execPath, [path.join('scripts', 'build-console.mjs')], { stdio: 'inherit' });
    writeFileSync(STAMP, `${sources} ${outputs()}`);
  }

  const engine = /^postgres/.test(process.env.DATABASE_URL ?? '') ? 'PostgreSQL' : 'SQLite';
  console.log(`Running ${files.length} test files on ${engine}, ${CONCURRENCY} at a time`);
  // NELM_TEST_BUILT tells the console tests that the console is built (test/helpers/console.ts).
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--run', ...files], {
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'test', NELM_TEST_BUILT: '1' },
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
