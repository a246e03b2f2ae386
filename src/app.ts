/**
 * The application as a function: builds the Fastify instance with its database, services and
 * routes, and never listens. The server, the CLI, the tests and the benchmarks all build it here.
 */
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { Config } from './config/config.js';
import type { Db } from './db/dialect.js';
import type { Clock } from './domain/clock.js';
import { openDatabase } from './db/open.js';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandling } from './http/errors.js';
import { fail } from './errors/api-error.js';
import { unstorableTextAt, unstorableTextMessage } from './domain/text.js';
import { logSerializers, requestLoggerFactory } from './http/logging.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './http/json-depth.js';
import { requireBearerToken } from './plugins/auth.js';
import type { ClientCredentials } from './modules/directory/model.js';
import { oauthRoutes } from './modules/oauth/routes.js';
import { TokenRequestGuard } from './modules/oauth/guard.js';
import { adminRoutes } from './modules/directory/routes.js';
import { mountScheduledExports } from './modules/exports/mount.js';
import { mountRateLimit } from './modules/rate-limit/mount.js';
import { consoleSignIn } from './modules/sessions/mount.js';
import { auditRoutes } from './modules/events/routes.js';
import { webhookRoutes } from './modules/webhooks/routes.js';
import { lifecycleRoutes } from './modules/lifecycle/routes.js';
import { sourceOperations } from './modules/sources/routes.js';
import { schemaAttributeOperations } from './modules/schema-attributes/routes.js';
import { recordOperations } from './modules/records/routes.js';
import { approvalOperations, requestOperations } from './modules/requests/routes.js';
import { bulkOperations } from './modules/bulk/routes.js';
import { openApiDocument } from './http/openapi.js';
import { referenceRoutes } from './http/reference.js';
import { healthRoutes } from './http/health.js';
import { mountMetrics } from './modules/metrics/routes.js';
import { consoleRoutes } from './modules/console/routes.js';
import { consoleApiRoutes } from './modules/console/api.js';
import { FLAVOURS, type Flavour, mountOperations, mountRoutes, type Operation } from './http/operation.js';
import { createCore, type Services } from './services.js';
import { newId } from './auth/secrets.js';

export interface BuildOptions {
  /**
   * Use this database instead of opening the configured one (the caller closes it). Without it,
   * the app opens the configured database as its owner: a second app on the same SQLite file
   * refuses to start.
   */
  db?: Db;
  /** The clock of every lifecycle rule (tests move one); the system's by default. */
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    db: Db;
    /** Set when this start generated the admin client: print it once. */
    generatedAdmin: ClientCredentials | undefined;
  }
}

/** What a multipart body may hold: the bulk upload's file, the token request's fields. */
const MULTIPART_LIMITS = { fieldNameSize: 100, fieldSize: 1024 * 1024, fields: 20, fileSize: 16 * 1024 * 1024, files: 1, parts: 21, headerPairs: 100 };

/** The longest path parameter the router accepts; longer is a 400 (no id is near it). */
const MAX_PARAM_LENGTH = 200;

/** A 400 naming the field when `value` holds text no database stores (see domain/text.ts). */
function unstorableText(value: unknown, root: string) {
  const field = unstorableTextAt(value, root);
  return field === undefined ? undefined : fail.invalid([{ field: field || 'body', text: unstorableTextMessage(field || 'body') }]);
}

type JsonParser = (request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void) => void;

/** Ajv for bodies: no type coercion, so `5` is not a string. Query strings and paths coerce. */
function validatorCompiler() {
  const common = { allErrors: true, useDefaults: true, removeAdditional: true, strict: false, messages: true } as const;
  const body = new Ajv({ ...common, coerceTypes: false });
  const other = new Ajv({ ...common, coerceTypes: 'array' });
  // `binary` (a multipart file part) documents a body; nothing to check.
  for (const ajv of [body, other]) ajv.addFormat('binary', true);
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => {
    if (httpPart === 'body') return body.compile(schema);
    const validate = other.compile(schema);
    const integers = propertiesOfType(schema, 'integer');
    const booleans = propertiesOfType(schema, 'boolean');
    const checked = integers.length === 0 ? validate : decimalIntegers(validate, integers);
    return booleans.length === 0 ? checked : anyCaseBooleans(checked, booleans);
  };
}

/** The top-level properties of an object schema of one type. */
function propertiesOfType(schema: object, type: string): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  return Object.keys(properties).filter((name) => properties[name]!.type === type);
}

/** A compiled validator, or one wrapping it: Fastify reads `errors` after each call. */
type QueryValidator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null | undefined };

const BOOLEAN_TEXT = /^(?:(true|1)|false|0)$/i;

/**
 * Query-string booleans in any case, and as 1 or 0: SailPoint's PowerShell client writes `$true`
 * as `True`. Anything else is left to the schema (`count must be boolean`).
 */
function anyCaseBooleans(validate: QueryValidator, names: readonly string[]): QueryValidator {
  const checked = (data: unknown) => {
    const values = (data ?? {}) as Record<string, unknown>;
    for (const name of names) {
      const value = values[name];
      const match = typeof value === 'string' ? BOOLEAN_TEXT.exec(value) : null;
      if (match) values[name] = match[1] !== undefined;
    }
    const ok = validate(data);
    checked.errors = validate.errors;
    return ok;
  };
  checked.errors = null as ErrorObject[] | null | undefined;
  return checked;
}

const DECIMAL_INTEGER = /^-?\d+$/;

/**
 * Query-string and path integers written in decimal digits only. Ajv's coercion takes any text
 * JavaScript reads as a whole number (`0x10`, `1e2`, `+5`, ` 250`); the spec's integers are plain
 * numbers, and anything else is a 400 like `abc` (`limit must be integer`).
 */
function decimalIntegers(validate: ValidateFunction, names: readonly string[]) {
  const checked = (data: unknown) => {
    const values = (data ?? {}) as Record<string, unknown>;
    const bad = names.find((name) => typeof values[name] === 'string' && !DECIMAL_INTEGER.test(values[name]));
    if (bad !== undefined) {
      checked.errors = [
        { instancePath: `/${bad}`, schemaPath: `#/properties/${bad}/type`, keyword: 'type', params: { type: 'integer' }, message: 'must be integer' },
      ] as ErrorObject[];
      return false;
    }
    const ok = validate(data);
    checked.errors = validate.errors;
    return ok;
  };
  checked.errors = null as ErrorObject[] | null | undefined;
  return checked;
}

/**
 * Fastify's own response serializers, one per response schema object instead of one per route and
 * status code. Every flavour mounts the same operations with the same schema objects, and every
 * route shares the error schemas: compiling each anew made ~1,500 serializers (each with its own
 * Ajv) and a third of the heap, which every full garbage collection then marked (docs/performance.md).
 */
export function sharedSerializers(externalSchemas?: unknown, options?: Parameters<ReturnType<typeof SerializerSelector>>[1]) {
  const compile = SerializerSelector()(externalSchemas, options);
  const compiled = new WeakMap<object, (data: unknown) => string>();
  return (route: Parameters<typeof compile>[0]) => {
    const schema = route.schema;
    if (typeof schema !== 'object' || schema === null) return compile(route);
    let serializer = compiled.get(schema);
    if (!serializer) {
      serializer = compile(route);
      compiled.set(schema, serializer);
    }
    return serializer;
  };
}

/** Trusts the `hops` addresses nearest the server: the peer, then the proxies it names. */
const trustHops = (hops: number) => (_address: string, hop: number) => hop < hops;

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const db = options.db ?? (await openDatabase(config, { exclusive: true }));
  let core: Awaited<ReturnType<typeof createCore>>;
  try {
    core = await createCore(config, db, options.clock);
  } catch (error) {
    if (!options.db) await db.close();
    throw error;
  }
  const { services, generatedAdmin } = core;
  const { directory, tokens } = services;

  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel, serializers: logSerializers },
    bodyLimit: config.bodyLimit,
    // A request that is not received whole within requestTimeout (a client trickling its body,
    // slowloris) is answered 400 and its connection closed (clientErrorHandler). Node swaps the
    // two limits when the headers' is the longer, so it is never more than the whole request's
    // (60 s, Node's default, at most); it looks for late requests every connectionsCheckingInterval:
    // a tenth of the limit, at most 30 s (its default). Fastify sets its own requestTimeout on the
    // server after creating it (0 unless given), hence the value in both places.
    requestTimeout: config.requestTimeout * 1000,
    http: {
      requestTimeout: config.requestTimeout * 1000,
      headersTimeout: config.requestTimeout > 0 ? Math.min(60_000, config.requestTimeout * 1000) : 60_000,
      connectionsCheckingInterval: config.requestTimeout > 0 ? Math.min(30_000, Math.max(100, config.requestTimeout * 100)) : 30_000,
    },
    genReqId: newId,
    // A hop count trusts that many proxies nearest the server, whoever they are (Fastify's own
    // refuses a bare number).
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    requestIdHeader: false,
    childLoggerFactory: requestLoggerFactory,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: {} },
    schemaController: { compilersFactory: { buildSerializer: sharedSerializers } },
    // Errors raised before routing (a malformed URL, an over-long path parameter) and by the HTTP
    // parser (headers over Node's limit, malformed HTTP) leave in the documented shape too.
    frameworkErrors: frameworkErrorHandler(MAX_PARAM_LENGTH),
    clientErrorHandler,
    // A request that reaches a stopping process on a connection already open (a load balancer's,
    // before it saw readiness fail) is answered as any other, not 503: see stopGracefully.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler());
  app.decorate('services', services);
  app.decorate('db', db);
  app.decorate('generatedAdmin', generatedAdmin);
  app.decorateRequest('principal', null);
  app.decorateRequest('cookieSession', null);
  // Heard while the app runs (a database the caller passed in outlives it).
  const unheard = db.onConnectionLost((error) =>
    app.log.warn({ err: error }, 'a pooled PostgreSQL connection broke; the pool dropped it and opens a new one when needed'),
  );
  app.addHook('onClose', async () => unheard());

  // Hooks that never wait are written with `done`: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    done();
  });
  // Query strings and path parameters holding text no database stores: 400, on every route.
  app.addHook('preValidation', (request, _reply, done) => {
    done(unstorableText(request.query, '') ?? unstorableText(request.params, '') ?? undefined);
  });
  if (!options.db) app.addHook('onClose', async () => db.close());
  // The notification sender runs while the app does (onClose hooks run in reverse: it stops
  // before the database closes).
  app.addHook('onReady', async () => services.notifications.start(app.log.child({ component: 'notifications' })));
  app.addHook('onClose', async () => services.notifications.stop());
  // Likewise the bulk upload job runner.
  app.addHook('onReady', async () => services.bulkJobs.start(app.log.child({ component: 'bulk-jobs' })));
  app.addHook('onClose', async () => services.bulkJobs.stop());
  // Likewise the event consumers (the webhooks' deliveries written from the log) and the webhook sender.
  app.addHook('onReady', async () => services.consumers.start(app.log.child({ component: 'event-consumers' })));
  app.addHook('onClose', async () => services.consumers.stop());
  app.addHook('onReady', async () => services.webhookDeliveries.start(app.log.child({ component: 'webhooks' })));
  app.addHook('onClose', async () => services.webhookDeliveries.stop());
  app.addHook('onReady', async () => services.lifecycleSweep.start(app.log.child({ component: 'lifecycle' })));
  app.addHook('onClose', async () => services.lifecycleSweep.stop());
  mountScheduledExports(app, config, db, services);
  // Token requests' events are written after their answers: the last ones before the database closes.
  services.events.onSoonFailure((error, lost) => app.log.error({ err: error, lost }, 'writing token requests to the audit log failed'));
  app.addHook('onClose', async () => services.events.settled());
  // With a retention, the audit log's older events are pruned at start and once a day.
  const days = config.auditRetentionDays;
  if (days !== undefined) {
    const pruner = services.events.pruner(days, (error) => app.log.error({ err: error }, 'pruning the audit log failed'));
    app.addHook('onReady', async () => pruner.start());
    app.addHook('onClose', async () => pruner.stop());
  }
  // Variables an earlier version read: said once, so that an operator can remove them.
  app.addHook('onReady', async () => {
    for (const name of config.ignored) app.log.warn({ variable: name }, `${name} is set but no longer used: the server ignores it`);
  });

  // No operation takes plain text: a text body is refused by media type, not mistaken for a string.
  app.removeContentTypeParser('text/plain');
  // JSON and JSON Patch bodies: the safe parser (prototype-poisoning guard), then a 400 for text
  // no database stores (NUL, unpaired surrogates) anywhere in the document.
  const json = app.getDefaultJsonParser('error', 'error') as JsonParser;
  // An empty body is no body, whatever its Content-Type says (SailPoint's PowerShell client sends
  // `Content-Type: application/json` on every call, GET and DELETE included).
  // Nesting is bounded before the parser runs (src/http/json-depth.ts).
  const storableJson: JsonParser = (request, body, done) => {
    if (body === '') return done(null, undefined);
    if (nestsDeeperThan(body)) return done(fail.invalid([{ field: 'body', text: `body is nested deeper than ${MAX_JSON_DEPTH} levels` }]));
    json(request, body, (error, value) => (error ? done(error) : done(unstorableText(value, '') ?? null, value)));
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, storableJson);
  app.addContentTypeParser('application/json-patch+json', { parseAs: 'string' }, storableJson);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const out: Record<string, string> = Object.create(null);
    for (const [k, v] of new URLSearchParams(body as string)) out[k] = v;
    done(unstorableText(out, '') ?? null, out);
  });
  installErrorHandling(app);

  const operations = [
    ...sourceOperations(services),
    ...schemaAttributeOperations(services),
    ...recordOperations(services),
    ...requestOperations(services),
    ...approvalOperations(services),
    ...bulkOperations(services),
  ];

  // Multipart bodies are parsed only where an operation takes one (the token endpoint, the bulk
  // upload): the plugin's hooks run on every request of the scope it is registered in.
  const withMultipart = (mount: (scope: FastifyInstance) => void) => async (scope: FastifyInstance) => {
    await scope.register(multipart, { limits: MULTIPART_LIMITS });
    mount(scope);
  };
  const takesMultipart = (op: Operation) => op.consumes?.includes('multipart/form-data') === true;

  // Public scope: token issuance, keys, health and the API description.
  const guard = new TokenRequestGuard(directory, config.authThrottle, { audit: { events: services.events, tenantId: config.tenant } });
  await app.register(withMultipart((scope) => oauthRoutes(scope, guard, tokens)));
  healthRoutes(app, db, services);
  mountMetrics(app, config.metrics, db, services);
  const signIn = consoleSignIn(services, config);
  mountRoutes(app, signIn.publicRoutes);
  const admin = [...adminRoutes(services), ...signIn.adminRoutes, ...auditRoutes(services), ...webhookRoutes(services), ...lifecycleRoutes(services)];
  // Each document is built when it is first asked for, then kept.
  const served = (flavours?: readonly Flavour[]) => {
    let document: ReturnType<typeof openApiDocument> | undefined;
    return async () => (document ??= openApiDocument({ operations, routes: admin }, flavours));
  };
  app.get('/openapi.json', served());
  const documents: [string, string][] = [['v2024 and v1, with the admin API', '/openapi.json']];
  for (const flavour of FLAVOURS) {
    const url = flavour === 'v1' ? '/v1/openapi.json' : `/${flavour}/openapi.json`;
    app.get(url, served([flavour]));
    documents.push([flavour, url]);
  }
  referenceRoutes(app, documents);
  consoleRoutes(app);

  // API scope: a bearer token on every route, then the per-client rate limit.
  await app.register(async (api) => {
    requireBearerToken(
      api,
      tokens,
      { cachedActive: (id) => directory.cachedClientActive(id), isActive: (id) => directory.isClientActive(id) },
      guard.addresses,
      signIn.auth,
    );
    if (config.rateLimit) await mountRateLimit(api, config.rateLimit, db);
    mountOperations(
      api,
      operations.filter((op) => !takesMultipart(op)),
    );
    await api.register(withMultipart((uploads) => mountOperations(uploads, operations.filter(takesMultipart))));
    mountRoutes(api, admin);
    mountRoutes(api, signIn.apiRoutes);
    mountRoutes(api, consoleApiRoutes(services));
  });

  return app;
}
