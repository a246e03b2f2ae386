/**
 * JSON Patch (RFC 6902) applied to a plain document, limited to the fields an operation allows.
 * Used by the three PATCH operations (sources, schema attributes, records); each then validates
 * the patched document with the same rules as a create.
 */
import { fail, type Cause } from '../errors/api-error.js';

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Abuse guards: an operation's `value` nested deeper than `maxDepth` levels or holding more than
 * `maxNodes` values, and a patched document past either (each `copy` may double it), are 400s.
 * The patched documents (source, schema attribute, record) are three levels deep at most.
 */
export const PATCH_LIMITS = { maxDepth: 32, maxNodes: 10_000 } as const;

/** 'depth' or 'size' when `value` is past a limit, else undefined; iterative, stops at the first excess. */
function excess(value: unknown): 'depth' | 'size' | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > PATCH_LIMITS.maxDepth) return 'depth';
    if (++nodes > PATCH_LIMITS.maxNodes) return 'size';
    if (isContainer(node)) for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return undefined;
}

const EXCESS_TEXT = { depth: `is nested deeper than ${PATCH_LIMITS.maxDepth} levels`, size: `holds more than ${PATCH_LIMITS.maxNodes} values` } as const;

function parsePointer(pointer: string, field: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw fail.invalid([{ field, text: `${field} must be a JSON Pointer starting with '/', got '${pointer}'` }]);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

class Patcher {
  constructor(
    private doc: { [key: string]: Json },
    private readonly index: number,
  ) {}

  private error(text: string): never {
    const field = `operations[${this.index}]`;
    throw fail.invalid([{ field, text: `${field}: ${text}` }]);
  }

  /** The pointer's segments; `__proto__`, `constructor` and `prototype` are refused anywhere in it. */
  private segments(pointer: string): string[] {
    const segments = parsePointer(pointer, `operations[${this.index}].path`);
    if (segments.some((s) => FORBIDDEN_KEYS.has(s))) this.error(`path '${pointer}' is not allowed`);
    return segments;
  }

  /** The container that holds the last segment of `segments`, and that segment. */
  private parent(segments: string[], pointer: string): { container: Container; key: string } {
    if (segments.length === 0) this.error(`path '${pointer}' must name a field`);
    let node: Json = this.doc;
    for (const segment of segments.slice(0, -1)) {
      // Own properties only: an inherited one (Object.prototype…) is never a patch target.
      const next: Json | undefined = Array.isArray(node)
        ? node[this.arrayIndex(node, segment, pointer, false)]
        : isContainer(node) && Object.hasOwn(node, segment)
          ? node[segment]
          : undefined;
      if (next === undefined || !isContainer(next)) this.error(`path '${pointer}' does not exist`);
      node = next;
    }
    const key = segments[segments.length - 1]!;
    return { container: node as Container, key };
  }

  private arrayIndex(array: Json[], segment: string, pointer: string, forAdd: boolean): number {
    if (forAdd && segment === '-') return array.length;
    if (!/^(0|[1-9]\d*)$/.test(segment)) this.error(`path '${pointer}' has an invalid array index`);
    const i = Number(segment);
    if (i > array.length || (!forAdd && i === array.length)) this.error(`path '${pointer}' is out of bounds`);
    return i;
  }

  get(pointer: string): Json {
    const segments = this.segments(pointer);
    let node: Json = this.doc;
    for (const segment of segments) {
      const next: Json | undefined = Array.isArray(node)
        ? node[this.arrayIndex(node, segment, pointer, false)]
        : isContainer(node) && Object.hasOwn(node, segment)
          ? node[segment]
          : undefined;
      if (next === undefined) this.error(`path '${pointer}' does not exist`);
      node = next;
    }
    return node;
  }

  add(pointer: string, value: Json): void {
    const { container, key } = this.parent(this.segments(pointer), pointer);
    if (Array.isArray(container)) container.splice(this.arrayIndex(container, key, pointer, true), 0, value);
    else container[key] = value;
  }

  remove(pointer: string): Json {
    const { container, key } = this.parent(this.segments(pointer), pointer);
    if (Array.isArray(container)) return container.splice(this.arrayIndex(container, key, pointer, false), 1)[0]!;
    if (!Object.hasOwn(container, key)) this.error(`path '${pointer}' does not exist`);
    const old = container[key]!;
    delete container[key];
    return old;
  }

  replace(pointer: string, value: Json): void {
    const { container, key } = this.parent(this.segments(pointer), pointer);
    if (Array.isArray(container)) container[this.arrayIndex(container, key, pointer, false)] = value;
    else container[key] = value;
  }

  result(): { [key: string]: Json } {
    return this.doc;
  }
}

/**
 * Applies `operations` to a copy of `document`. Only paths whose first segment is in `writable`
 * may be touched; anything else is a 400 naming the path. Atomic: on any error nothing applies.
 */
export function applyPatch<T extends object>(document: T, operations: readonly PatchOperation[], writable: readonly string[]): T {
  const causes: Cause[] = [];
  operations.forEach((op, i) => {
    for (const [name, pointer] of [
      ['path', op.path],
      ['from', op.from],
    ] as const) {
      if (pointer === undefined) continue;
      const first = pointer.split('/')[1];
      if (!pointer.startsWith('/') || first === undefined || !writable.includes(first.replaceAll('~1', '/').replaceAll('~0', '~'))) {
        causes.push({
          field: `operations[${i}].${name}`,
          text: `operations[${i}].${name} '${pointer}' is not patchable; patchable fields: ${writable.join(', ')}`,
        });
      }
    }
    if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && op.value === undefined) {
      causes.push({ field: `operations[${i}].value`, text: `operations[${i}].value is required for ${op.op}` });
    }
    if ((op.op === 'move' || op.op === 'copy') && op.from === undefined) {
      causes.push({ field: `operations[${i}].from`, text: `operations[${i}].from is required for ${op.op}` });
    }
    const past = op.value === undefined ? undefined : excess(op.value);
    if (past) causes.push({ field: `operations[${i}].value`, text: `operations[${i}].value ${EXCESS_TEXT[past]}` });
  });
  if (causes.length > 0) throw fail.invalid(causes);

  let doc = structuredClone(document) as unknown as { [key: string]: Json };
  operations.forEach((op, i) => {
    const patcher = new Patcher(doc, i);
    const value = op.value as Json;
    switch (op.op) {
      case 'add':
        patcher.add(op.path, structuredClone(value));
        break;
      case 'remove':
        patcher.remove(op.path);
        break;
      case 'replace':
        patcher.get(op.path);
        patcher.replace(op.path, structuredClone(value));
        break;
      case 'move': {
        const moved = patcher.remove(op.from!);
        patcher.add(op.path, moved);
        break;
      }
      case 'copy':
        patcher.add(op.path, structuredClone(patcher.get(op.from!)));
        break;
      case 'test':
        if (!deepEqual(patcher.get(op.path), value)) throw fail.invalid([{ field: `operations[${i}]`, text: `operations[${i}]: test failed at '${op.path}'` }]);
        break;
    }
    doc = patcher.result();
    const past = excess(doc);
    if (past) throw fail.invalid([{ field: `operations[${i}]`, text: `operations[${i}]: the patched document ${EXCESS_TEXT[past]}` }]);
  });
  return doc as unknown as T;
}
