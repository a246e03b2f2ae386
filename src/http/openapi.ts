/**
 * The served OpenAPI document, generated from the route table: the same TypeBox schemas that
 * validate requests and serialize responses. `/openapi.json` describes the v2024 paths and the
 * per-resource v1 paths (operationIds are unique across the two); `/{flavour}/openapi.json`
 * describes one flavour of the NELM API. Every document also has the token endpoint and the admin
 * API. The documents are OpenAPI 3.1: TypeBox writes JSON Schema 2020-12 (`const`, `type: "null"`).
 */
import type { FastifySchema } from 'fastify';
import { TokenError, TokenRequest, TokenResponse } from '../modules/oauth/schemas.js';
import { type Flavour, type Operation, operationId, type Route, schemaOf, urlOf } from './operation.js';

type JsonSchema = Record<string, unknown>;

export interface RouteTable {
  /** The NELM operations, mounted under every flavour. */
  operations: readonly Operation[];
  /** This server's own routes (the admin API). */
  routes: readonly Route[];
}

const NELM_TAG = 'Non-Employee Lifecycle Management';

/** `/v2024/non-employee-sources/:sourceId` → `/v2024/non-employee-sources/{sourceId}`. */
function openApiPath(url: string, names: Record<string, string> = {}): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => `{${names[name] ?? name}}`);
}

/** Strips TypeBox's symbol keys and Ajv-only keywords by a JSON round trip. */
function plain(schema: unknown): JsonSchema {
  return JSON.parse(JSON.stringify(schema)) as JsonSchema;
}

function parameters(schema: FastifySchema, names: Record<string, string> = {}): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, part] of [
    ['path', schema.params],
    ['query', schema.querystring],
  ] as const) {
    if (!part) continue;
    const s = plain(part);
    const required = new Set((s.required as string[] | undefined) ?? []);
    for (const [name, prop] of Object.entries((s.properties as Record<string, JsonSchema>) ?? {})) {
      const { description, ...rest } = prop;
      out.push({
        name: where === 'path' ? (names[name] ?? name) : name,
        in: where,
        required: where === 'path' || (required.has(name) && rest.default === undefined),
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
  }
  return out;
}

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '202': 'Accepted',
  '204': 'No content - indicates the request was successful but there is no content to be returned in the response.',
  '400': 'Client Error - Returned if the request body is invalid.',
  '401': 'Unauthorized - Returned if there is no authorization header, or if the JWT token is expired.',
  '403': "Forbidden - Returned if the user you are running as, doesn't have access to this end-point.",
  '404': 'Not Found - returned if the request URL refers to a resource or object that does not exist',
  '429':
    'Too Many Requests - Returned in response to too many requests in a given period of time - rate limited. The Retry-After header in the response includes how long to wait before trying again.',
  '500': 'Internal Server Error - Returned if there is an unexpected error.',
};

function responses(op: Pick<Operation, 'produces'>, schema: FastifySchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [status, body] of Object.entries((schema.response as Record<string, unknown>) ?? {})) {
    const s = plain(body);
    if (status === '204' || s.type === 'null') {
      out[status] = { description: STATUS_TEXT[status] ?? status };
      continue;
    }
    const type = status === '200' && op.produces?.[0] ? op.produces[0] : 'application/json';
    out[status] = { description: STATUS_TEXT[status] ?? status, content: { [type]: { schema: s } } };
  }
  return out;
}

function operationObject(op: Operation, flavour: Flavour): JsonSchema {
  const schema = schemaOf(op, flavour);
  const body = schema.body
    ? {
        requestBody: {
          required: true,
          content: Object.fromEntries((op.consumes ?? ['application/json']).map((type) => [type, { schema: plain(schema.body) }])),
        },
      }
    : {};
  return {
    operationId: operationId(op, flavour),
    tags: [NELM_TAG],
    summary: op.summary,
    ...(flavour === 'beta' ? { deprecated: true } : {}),
    ...(op.extension ? { 'x-nelm-extension': true } : {}),
    security: [{ userAuth: [op.scope] }, { applicationAuth: [op.scope] }],
    parameters: parameters(schema, op.wireParamNames),
    ...body,
    responses: responses(op, schema),
  };
}

function routeObject(route: Route): JsonSchema {
  const { schema } = route;
  return {
    operationId: route.id,
    tags: [route.tag],
    summary: route.summary,
    'x-nelm-extension': true,
    security: [{ userAuth: [] }, { applicationAuth: [] }],
    parameters: parameters(schema),
    ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: plain(schema.body) } } } } : {}),
    responses: responses(route, schema),
  };
}

const TOKEN_TAG = 'Authentication';

/** POST /oauth/token: where every client gets the bearer token the operations take. */
function tokenOperation(): JsonSchema {
  const body = { schema: plain(TokenRequest) };
  const error = (description: string) => ({ description, content: { 'application/json': { schema: plain(TokenError) } } });
  return {
    operationId: 'createToken',
    tags: [TOKEN_TAG],
    summary: 'Get a bearer token for an API client (OAuth 2.0 client credentials)',
    security: [],
    requestBody: {
      required: true,
      content: { 'multipart/form-data': body, 'application/x-www-form-urlencoded': body, 'application/json': body },
    },
    responses: {
      '200': { description: 'OK', content: { 'application/json': { schema: plain(TokenResponse) } } },
      '400': error('A field is missing, or the grant type is not client_credentials.'),
      '401': error('The client id and secret do not match an active API client.'),
      '429': {
        ...error('Too many failed token requests for this client id or from this address, or too many secret checks waiting.'),
        headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } },
      },
    },
  };
}

/**
 * An OpenAPI 3.1 document of `flavours` of the NELM API (v2024 and v1 by default), the token
 * endpoint and this server's own routes (the admin API).
 */
export function openApiDocument(table: RouteTable, flavours: readonly Flavour[] = ['v2024', 'v1']): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const flavour of flavours) {
    for (const op of table.operations) {
      const path = openApiPath(urlOf(op, flavour), op.wireParamNames);
      paths[path] ??= {};
      paths[path][op.method.toLowerCase()] = operationObject(op, flavour);
    }
  }
  paths['/oauth/token'] = { post: tokenOperation() };
  for (const route of table.routes) {
    const path = openApiPath(route.url);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = routeObject(route);
  }
  const tags = [{ name: NELM_TAG }, { name: TOKEN_TAG }, ...[...new Set(table.routes.map((r) => r.tag))].map((name) => ({ name }))];
  return {
    openapi: '3.1.0',
    info: {
      title: 'NELM: Non-Employee Lifecycle Management API (self-hosted)',
      version: flavours.length === 1 ? flavours[0] : 'v2024',
      description:
        'A wire-compatible implementation of the SailPoint Identity Security Cloud Non-Employee Lifecycle Management API. ' +
        "Operations marked x-nelm-extension are this server's own: the bulk job endpoints, and the admin API (identities, API clients, governance groups; org admins only).",
    },
    servers: [{ url: '/' }],
    tags,
    paths,
    components: {
      securitySchemes: {
        userAuth: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: '/oauth/token', scopes: { 'sp:scopes:all': 'all' } } } },
        applicationAuth: { type: 'oauth2', flows: { clientCredentials: { tokenUrl: '/oauth/token', scopes: { 'sp:scopes:all': 'all' } } } },
      },
    },
  };
}
