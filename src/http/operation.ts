/**
 * The route table. Every NELM operation is declared once, relative to its resource, and mounted
 * under every API flavour by `mountOperations`: `/v3`, `/beta`, `/v2024`, `/v2025`, `/v2026` put
 * the flavour first (`/v2024/non-employee-records/{id}`), the per-resource v1 API puts `/v1` after
 * the resource (`/non-employee-records/v1/{id}`). Routes of this server's own (the admin API) are
 * declared once too, at one URL each (`Route`, `mountRoutes`). Both lists make the served OpenAPI.
 */
import type {
  ContextConfigDefault,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Right } from '../auth/principal.js';

export const FLAVOURS = ['v3', 'beta', 'v2024', 'v2025', 'v2026', 'v1'] as const;
export type Flavour = (typeof FLAVOURS)[number];

export type Resource = 'non-employee-sources' | 'non-employee-records' | 'non-employee-requests' | 'non-employee-approvals';
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A request and reply typed from a route schema through the TypeBox provider. */
export type TypedRequest<S extends FastifySchema> = FastifyRequest<
  RouteGenericInterface,
  RawServerDefault,
  RawRequestDefaultExpression,
  S,
  TypeBoxTypeProvider
>;
export type TypedReply<S extends FastifySchema> = FastifyReply<
  RouteGenericInterface,
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  ContextConfigDefault,
  S,
  TypeBoxTypeProvider
>;

/**
 * The largest body a route reads, in bytes, sized to its largest valid body with room for
 * whitespace and escaped text; `NELM_BODY_LIMIT` caps them all. A larger body is a 400 before it
 * is parsed.
 * - `none`: routes that take no body (an empty body, or `{}`, is all a client sends).
 * - `standard`: sources, schema attributes, decisions (a 4,000-character comment), identities.
 * - `large`: records and requests (18 attributes, 10 of them 1,024 characters, escaped), a bulk
 *   delete of 1,000 ids, a governance group of 1,000 members.
 */
export const BODY_LIMITS = { none: 1024, standard: 32 * 1024, large: 128 * 1024 } as const;

/** A route's body limit: its own, else by whether it takes a body; never above the app's. */
function bodyLimitOf(app: FastifyInstance, own: number | undefined, schema: FastifySchema): number {
  return Math.min(own ?? (schema.body ? BODY_LIMITS.standard : BODY_LIMITS.none), app.initialConfig.bodyLimit ?? Number.POSITIVE_INFINITY);
}

export interface OperationContext {
  flavour: Flavour;
}

export interface Operation<S extends FastifySchema = FastifySchema> {
  /** The v2024 operationId; v1 appends `V1`, beta may rename (`betaId`). */
  id: string;
  betaId?: string;
  method: Method;
  resource: Resource;
  /** Path after the resource segment, Fastify style: `/:sourceId/schema-attributes`. */
  path: string;
  summary: string;
  /** Scope as the spec declares it (`idn:nelm:read` or `idn:nelm:manage`). */
  scope: 'idn:nelm:read' | 'idn:nelm:manage';
  /** The role context the description names; informative, the service enforces it. */
  right?: Right;
  /** Operations that are not SailPoint's are marked `x-nelm-extension` in the served OpenAPI. */
  extension?: boolean;
  schema: S;
  /** Replaces parts of the schema under `/beta`, where the older shape shows on the wire. */
  beta?: Partial<FastifySchema>;
  /**
   * Wire names of path parameters whose names Fastify cannot route (a hyphen ends a parameter
   * name there): `{ requestedFor: 'requested-for' }` documents `:requestedFor` as `{requested-for}`.
   */
  wireParamNames?: Record<string, string>;
  /** Extra request body types (JSON Patch, multipart) the route accepts. */
  consumes?: string[];
  produces?: string[];
  /** Bytes of body read at most (`BODY_LIMITS`); by default by whether the operation takes a body. */
  bodyLimit?: number;
  handler: (request: TypedRequest<S>, reply: TypedReply<S>, context: OperationContext) => Promise<unknown>;
}

/** Declares an operation with its handler typed from its schema. */
export function operation<S extends FastifySchema>(def: Operation<S>): Operation {
  return def as unknown as Operation;
}

export function operationId(op: Operation, flavour: Flavour): string {
  if (flavour === 'v1') return `${op.id}V1`;
  if (flavour === 'beta' && op.betaId) return op.betaId;
  return op.id;
}

/** The Fastify URL of an operation under a flavour. */
export function urlOf(op: Operation, flavour: Flavour): string {
  return flavour === 'v1' ? `/${op.resource}/v1${op.path}` : `/${flavour}/${op.resource}${op.path}`;
}

export function schemaOf(op: Operation, flavour: Flavour): FastifySchema {
  return flavour === 'beta' && op.beta ? { ...op.schema, ...op.beta } : op.schema;
}

export function mountOperations(app: FastifyInstance, operations: readonly Operation[]): void {
  for (const flavour of FLAVOURS) {
    const context: OperationContext = { flavour };
    for (const op of operations) {
      app.route({
        method: op.method,
        url: urlOf(op, flavour),
        schema: schemaOf(op, flavour),
        bodyLimit: bodyLimitOf(app, op.bodyLimit, op.schema),
        config: { operationId: operationId(op, flavour) },
        handler: (request, reply) => op.handler(request as never, reply as never, context),
      });
    }
  }
}

/** A route of this server's own API, at one URL (the admin API). */
export interface Route<S extends FastifySchema = FastifySchema> {
  id: string;
  method: Method;
  /** Fastify style: `/admin/v1/identities/:id`. */
  url: string;
  /** The OpenAPI tag that groups it. */
  tag: string;
  summary: string;
  schema: S;
  /** The media type of a 200 that is not JSON (a CSV download). */
  produces?: string[];
  /** Bytes of body read at most (`BODY_LIMITS`); by default by whether the route takes a body. */
  bodyLimit?: number;
  handler: (request: TypedRequest<S>, reply: TypedReply<S>) => Promise<unknown>;
}

/** Declares a route with its handler typed from its schema. */
export function route<S extends FastifySchema>(def: Route<S>): Route {
  return def as unknown as Route;
}

export function mountRoutes(app: FastifyInstance, routes: readonly Route[]): void {
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      schema: r.schema,
      bodyLimit: bodyLimitOf(app, r.bodyLimit, r.schema),
      config: { operationId: r.id },
      handler: (request, reply) => r.handler(request as never, reply as never),
    });
  }
}
