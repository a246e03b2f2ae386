/**
 * The shape of the code, as docs/architecture.md describes it: no import circles, files a reader
 * can hold in mind, routes that only translate HTTP, modules that reach each other through their
 * services, and engine differences only under src/db/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '..', '..', 'src');
/** Longest source file, in lines (a migration is frozen, whatever its length). */
const MAX_LINES = 400;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

const sources = new Map(files(SRC).map((file) => [path.relative(SRC, file), readFileSync(file, 'utf8')]));

/** The files of src/ a file imports (type-only imports included), as paths relative to src/. */
function importsOf(file: string): string[] {
  const text = sources.get(file)!;
  const out: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
    const target = path.normalize(path.join(path.dirname(file), match[1]!.replace(/\.js$/, '.ts')));
    if (sources.has(target)) out.push(target);
  }
  return out;
}

test('no import circles in src/', () => {
  const graph = new Map([...sources.keys()].map((file) => [file, importsOf(file)]));
  const state = new Map<string, 'visiting' | 'done'>();
  const circles: string[] = [];
  const visit = (file: string, trail: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      circles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file)!) visit(next, [...trail, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(circles, []);
});

test(`no source file over ${MAX_LINES} lines (migrations aside)`, () => {
  const long = [...sources]
    .filter(([file, text]) => !file.startsWith(path.join('db', 'migrations')) && text.split('\n').length > MAX_LINES)
    .map(([file, text]) => `${file}: ${text.split('\n').length}`);
  assert.deepEqual(long, []);
});

test('routes import no repository and not the app; services import no other module’s repository', () => {
  const wrong: string[] = [];
  for (const file of sources.keys()) {
    const [top, module, name] = file.split(path.sep);
    if (top !== 'modules') continue;
    for (const target of importsOf(file)) {
      const [, targetModule, targetName] = target.split(path.sep);
      if (name === 'routes.ts' && (targetName === 'repository.ts' || target === 'app.ts')) wrong.push(`${file} → ${target}`);
      if (targetName === 'repository.ts' && targetModule !== module) wrong.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('nothing outside src/db/ (and the configuration that names the engine) asks which engine runs', () => {
  const asks = /=== '(postgres|sqlite)'|!== '(postgres|sqlite)'|PostgresIntrospector|SqliteIntrospector|\.engine\s*[!=]==/;
  const found = [...sources]
    .filter(([file]) => !file.startsWith(`db${path.sep}`) && !file.startsWith(`config${path.sep}`))
    .filter(([, text]) => asks.test(text))
    .map(([file]) => file);
  assert.deepEqual(found, []);
});

test('SQL only in repositories and src/db/', () => {
  const sqlAt = /\.(selectFrom|insertInto|updateTable|deleteFrom)\(/;
  const found = [...sources]
    .filter(([file]) => !file.startsWith(`db${path.sep}`) && !/repository\.ts$|list\.ts$/.test(file))
    .filter(([, text]) => sqlAt.test(text))
    .map(([file]) => file);
  assert.deepEqual(found, []);
});
