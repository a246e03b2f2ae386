/**
 * Checks response bodies against SailPoint's own OpenAPI descriptions (`test/contract/nelm-*.openapi.json`,
 * see test/contract/README.md), not against this server's schemas: the upstream contract is the judge.
 *
 * The slices are OpenAPI 3.0 and fully dereferenced. Before Ajv sees a schema it is converted:
 * - `nullable: true` becomes a type union with `null` (and `null` joins an `enum`), as does a
 *   schema whose description names null as one of its values;
 * - `allOf` of object schemas is merged into one object schema (same meaning, and it lets the
 *   strict mode below see every property the contract defines at that level);
 * - OpenAPI-only keywords (`example`, `x-…`, …) are dropped, but a property an object's own
 *   `example` shows is declared (the example is part of the contract);
 * - formats: `date-time` (and `date`) are checked, `int32` is range-checked, every other format
 *   (`UUID`, `comma-separated`, `float`, …) is accepted as is.
 * Strict mode (the default) adds `additionalProperties: false` to every object schema that has
 * `properties` and says nothing about additional ones, so a field the server sends but the contract
 * does not define is reported.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export type Flavour = 'v3' | 'v2024' | 'v2025' | 'v2026' | 'beta' | 'v1';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Slice = 'v2024' | 'beta' | 'v1';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type SchemaObject = { [key: string]: Json };

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: SchemaObject }> }> }>>;
}

/** The upstream OpenAPI slices, kept with the tests (test/contract/README.md). */
const CONTRACT_DIR = path.resolve(import.meta.dirname, '..', 'contract');

/** v3, v2025 and v2026 describe the same operations as v2024 (test/contract/README.md). */
function sliceOf(flavour: Flavour): Slice {
  return flavour === 'beta' ? 'beta' : flavour === 'v1' ? 'v1' : 'v2024';
}

const documents = new Map<Slice, OpenApiDocument>();
function documentOf(slice: Slice): OpenApiDocument {
  let doc = documents.get(slice);
  if (!doc) {
    doc = JSON.parse(readFileSync(path.join(CONTRACT_DIR, `nelm-${slice}.openapi.json`), 'utf8')) as OpenApiDocument;
    documents.set(slice, doc);
  }
  return doc;
}

/** `{sourceId}` and `{id}` name the same slot: templates are compared with parameter names erased. */
const shape = (template: string) => template.replace(/\{[^}]*\}/g, '{}').replace(/\/+$/, '');

/**
 * Finds the spec's path key for a template. Accepts the template with or without the flavour
 * prefix (`/v2024/non-employee-sources`) and, for v1, with or without the `/v1` after the resource.
 */
function specPath(flavour: Flavour, template: string): string {
  const doc = documentOf(sliceOf(flavour));
  let wanted = template.startsWith(`/${flavour}/`) ? template.slice(flavour.length + 1) : template;
  if (flavour === 'v1' && !/^\/[^/]+\/v1(\/|$)/.test(wanted)) wanted = wanted.replace(/^(\/[^/]+)/, '$1/v1');
  const key = Object.keys(doc.paths).find((p) => shape(p) === shape(wanted));
  if (!key) throw new Error(`contract: no path ${template} in nelm-${sliceOf(flavour)}.openapi.json`);
  return key;
}

export interface ResponseContract {
  /** The spec path key, e.g. `/non-employee-sources/{sourceId}`. */
  path: string;
  /** False when the operation does not list this status and the schema came from another operation. */
  declared: boolean;
  /** Content type → raw (unconverted) schema; empty for a response without content (204). */
  content: Record<string, SchemaObject | undefined>;
}

/**
 * The response of (flavour, method, path, status). An error status the operation does not list
 * falls back to that status in any other operation of the slice (the error shapes are shared by
 * every operation) with `declared: false`; undefined when no operation has it at all.
 */
export function responseContract(flavour: Flavour, method: HttpMethod, pathTemplate: string, status: number): ResponseContract | undefined {
  const doc = documentOf(sliceOf(flavour));
  const key = specPath(flavour, pathTemplate);
  const op = doc.paths[key]?.[method.toLowerCase()];
  if (!op) throw new Error(`contract: no ${method} ${key} in nelm-${sliceOf(flavour)}.openapi.json`);
  const pick = (response: { content?: Record<string, { schema?: SchemaObject }> }) =>
    Object.fromEntries(Object.entries(response.content ?? {}).map(([type, media]) => [type, media.schema]));
  const own = op.responses?.[String(status)];
  if (own) return { path: key, declared: true, content: pick(own) };
  if (status < 400) return undefined;
  for (const item of Object.values(doc.paths)) {
    for (const other of Object.values(item)) {
      const shared = other.responses?.[String(status)];
      if (shared) return { path: key, declared: false, content: pick(shared) };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.0 schema → JSON Schema (draft 7 as Ajv reads it)

const DROPPED = new Set(['example', 'examples', 'xml', 'externalDocs', 'deprecated', 'readOnly', 'writeOnly', 'discriminator', 'nullable']);

const isObject = (v: Json | undefined): v is SchemaObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function convert(schema: SchemaObject): SchemaObject {
  const out: SchemaObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key) || key.startsWith('x-')) continue;
    if (key === 'properties' && isObject(value)) {
      // A map of property name → schema: the names are data, never keywords.
      out.properties = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, isObject(sub) ? convert(sub) : sub]));
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isObject(value)) {
      out[key] = convert(value);
    } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      out[key] = value.map((sub) => (isObject(sub) ? convert(sub) : sub));
    } else {
      out[key] = value;
    }
  }
  mergeAllOf(out);
  // A property the schema's own example shows is part of the contract, though the schema leaves
  // it out (an approval's requester: `{type, id, name}` in the example, `{type, id}` declared).
  if (isObject(schema.example) && isObject(out.properties)) {
    for (const name of Object.keys(schema.example)) if (!(name in out.properties)) out.properties[name] = {};
  }
  // A schema whose text names null as one of its values is nullable, though it does not say so
  // (the bulk upload status: "null means job has been submitted to the source").
  const namesNull = typeof schema.description === 'string' && /^null means /m.test(schema.description);
  if (schema.nullable === true || namesNull) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (Array.isArray(out.type) && !out.type.includes('null')) out.type = [...out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (out.type === undefined && (out.allOf || out.anyOf || out.oneOf)) {
      const inner = { ...out };
      for (const k of Object.keys(out)) delete out[k];
      out.anyOf = [inner, { type: 'null' }];
    }
  }
  return out;
}

/**
 * Strict mode: `additionalProperties: false` on every object schema with `properties` that says
 * nothing about additional ones. Not at the root of an `allOf` branch (that would reject the
 * other branches' properties); the slices' allOfs are merged away by `convert` anyway.
 */
function tighten(schema: SchemaObject, here = true): SchemaObject {
  const out: SchemaObject = { ...schema };
  if (isObject(out.properties)) {
    out.properties = Object.fromEntries(Object.entries(out.properties).map(([name, sub]) => [name, isObject(sub) ? tighten(sub) : sub]));
    if (here && out.additionalProperties === undefined) out.additionalProperties = false;
  }
  if (isObject(out.items)) out.items = tighten(out.items);
  if (isObject(out.additionalProperties)) out.additionalProperties = tighten(out.additionalProperties);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = out[key];
    if (Array.isArray(list)) out[key] = list.map((sub) => (isObject(sub) ? tighten(sub, key !== 'allOf') : sub));
  }
  return out;
}

/** Merges `allOf: [objects…]` into the schema itself when every branch is a plain object schema. */
function mergeAllOf(schema: SchemaObject): void {
  const branches = schema.allOf;
  if (!Array.isArray(branches) || branches.length === 0) return;
  const mergeable = branches.every(
    (b) => isObject(b) && (b.type === 'object' || b.type === undefined) && !b.anyOf && !b.oneOf && !b.allOf && !b.not && b.additionalProperties === undefined,
  );
  if (!mergeable || (schema.type !== undefined && schema.type !== 'object') || isObject(schema.properties)) return;
  const properties: SchemaObject = {};
  const required = new Set<string>();
  for (const branch of branches as SchemaObject[]) {
    for (const [name, sub] of Object.entries(isObject(branch.properties) ? branch.properties : {})) {
      const previous = properties[name];
      properties[name] = previous === undefined ? sub : { allOf: [previous, sub] };
    }
    if (Array.isArray(branch.required)) for (const r of branch.required) if (typeof r === 'string') required.add(r);
  }
  delete schema.allOf;
  schema.type = 'object';
  schema.properties = properties;
  if (required.size > 0) schema.required = [...required];
}

// ---------------------------------------------------------------------------------------------
// Validation

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true, logger: false });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)) });
  ajv.addFormat('date', { type: 'string', validate: (s: string) => DATE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  // Every other format of the slices is documentation only: accept it.
  for (const slice of ['v2024', 'beta', 'v1'] as const) {
    for (const format of formatsOf(documentOf(slice))) {
      if (!['date-time', 'date', 'int32'].includes(format)) ajv.addFormat(format, true);
    }
  }
  return ajv;
}

function formatsOf(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) formatsOf(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'format' && typeof v === 'string') out.add(v);
      else formatsOf(v, out);
    }
  }
  return out;
}

let ajvInstance: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

/** The converted JSON Schema of a response (for debugging a failure). */
export function contractSchema(
  flavour: Flavour,
  method: HttpMethod,
  pathTemplate: string,
  status: number,
  options: { strict?: boolean } = {},
): SchemaObject | undefined {
  const response = responseContract(flavour, method, pathTemplate, status);
  const raw = response?.content['application/json'];
  if (!raw) return undefined;
  const converted = convert(raw);
  return (options.strict ?? true) ? tighten(converted) : converted;
}

function validatorFor(flavour: Flavour, method: HttpMethod, pathTemplate: string, status: number, strict: boolean): ValidateFunction {
  const key = `${sliceOf(flavour)} ${method} ${specPath(flavour, pathTemplate)} ${status} ${strict}`;
  let validate = validators.get(key);
  if (!validate) {
    const schema = contractSchema(flavour, method, pathTemplate, status, { strict });
    if (!schema) throw new Error(`contract: ${key} has no application/json schema`);
    ajvInstance ??= newAjv();
    validate = ajvInstance.compile(schema);
    validators.set(key, validate);
  }
  return validate;
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath || '(root)';
  if (e.keyword === 'additionalProperties') return `${where}: property '${String(e.params.additionalProperty)}' is not defined by the contract`;
  return `${where}: ${e.message ?? e.keyword}${e.keyword === 'enum' ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`;
}

export interface ContractOptions {
  /** Default true: objects with `properties` reject properties the contract does not define. */
  strict?: boolean;
  /** Default true: an error status the operation does not list is checked against the shared shape. */
  allowUndeclaredErrorStatus?: boolean;
}

/** The problems of a body against the contract; empty when it conforms. */
export function contractProblems(
  flavour: Flavour,
  method: HttpMethod,
  pathTemplate: string,
  status: number,
  body: unknown,
  options: ContractOptions = {},
): string[] {
  const strict = options.strict ?? true;
  const response = responseContract(flavour, method, pathTemplate, status);
  const where = `${flavour} ${method} ${pathTemplate} → ${status}`;
  if (!response) return [`${where}: the contract defines no such response`];
  if (!response.declared && !(options.allowUndeclaredErrorStatus ?? true)) return [`${where}: the operation does not declare this status`];
  const types = Object.keys(response.content);
  if (types.length === 0) {
    return body === undefined || body === '' ? [] : [`${where}: the contract defines no body, got ${JSON.stringify(body).slice(0, 200)}`];
  }
  if (!types.includes('application/json')) {
    return typeof body === 'string' ? [] : [`${where}: the contract defines ${types.join(', ')}, got a non-string body`];
  }
  const validate = validatorFor(flavour, method, pathTemplate, status, strict);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${where}: ${describeError(e)}`);
}

/** Throws (with every problem listed) unless the body conforms to the contract's response schema. */
export function assertMatchesContract(
  flavour: Flavour,
  method: HttpMethod,
  pathTemplate: string,
  status: number,
  body: unknown,
  options: ContractOptions = {},
): void {
  const problems = contractProblems(flavour, method, pathTemplate, status, body, options);
  if (problems.length > 0) {
    throw new Error(`response does not match the upstream contract:\n  - ${problems.join('\n  - ')}\nbody: ${JSON.stringify(body)?.slice(0, 2000)}`);
  }
}
