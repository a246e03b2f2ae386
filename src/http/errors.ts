/**
 * The one error writer: every error leaves as SailPoint's shapes.
 * - 400, 403, 404, 500: ErrorResponseDto, `trackingId` = the request id (also the X-Request-Id header);
 * - 401: {"error": …};  429: {"message": …} with Retry-After (set by the rate limiter).
 * 5xx internals are logged, never sent.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type Cause, DEFAULT_TEXT, DetailCode, type ErrorStatus, RetryLaterError } from '../errors/api-error.js';
import { ID_PATTERN } from '../domain/ids.js';

export class UnauthorizedError extends Error {
  readonly statusCode = 401;
}

interface ErrorMessage {
  locale: string;
  localeOrigin: 'DEFAULT';
  text: string;
}

export interface ErrorResponseBody {
  detailCode: string;
  trackingId: string;
  messages: ErrorMessage[];
  causes: ErrorMessage[];
}

const message = (text: string): ErrorMessage => ({ locale: 'en-US', localeOrigin: 'DEFAULT', text });

export function errorBody(trackingId: string, detailCode: string, text: string, causes: readonly Cause[] = []): ErrorResponseBody {
  return { detailCode, trackingId, messages: [message(text)], causes: causes.map((c) => message(c.text)) };
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** `/approvers/0/id` → `approvers[0].id`, prefixed by the part of the request for non-body parts. */
function fieldName(context: string | undefined, error: AjvError): string {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  if (error.keyword === 'additionalProperties') segments.push(String(error.params.additionalProperty));
  // The only bodies that are arrays are JSON Patch documents: their entries are `operations[i]`,
  // as the patch rules name them (src/domain/json-patch.ts).
  let out = context === 'body' && /^\d+$/.test(segments[0] ?? '') ? 'operations' : '';
  for (const segment of segments) out += /^\d+$/.test(segment) ? `[${segment}]` : out ? `.${segment}` : segment;
  if (context === 'body') return out || 'body';
  return out || (context ?? 'request');
}

function describe(error: AjvError): string {
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not allowed';
    case 'enum':
      return `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return error.params.pattern === ID_PATTERN ? 'is not a valid id' : `does not match ${String(error.params.pattern)}`;
    // Worded as the services word the same limits.
    case 'maxItems':
      return `must not have more than ${String(error.params.limit)} entries`;
    case 'minItems':
      return `must have at least ${String(error.params.limit)} entries`;
    case 'maxLength':
      return `must be at most ${String(error.params.limit)} characters`;
    case 'maxProperties':
      return `must not have more than ${String(error.params.limit)} properties`;
    case 'minLength':
      return `must be at least ${String(error.params.limit)} characters`;
    default:
      return error.message ?? 'is invalid';
  }
}

/** Ajv's errors as one cause per field. */
export function validationCauses(context: string | undefined, errors: readonly AjvError[]): Cause[] {
  const seen = new Set<string>();
  const causes: Cause[] = [];
  for (const error of errors) {
    // anyOf/oneOf add a summary error after the branch errors: the branches say more.
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') continue;
    const field = fieldName(context, error);
    const text = `${field} ${describe(error)}`;
    if (seen.has(text)) continue;
    seen.add(text);
    causes.push({ field, text });
  }
  return causes;
}

function send(reply: FastifyReply, status: ErrorStatus, body: ErrorResponseBody): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** Fastify's own client errors, by code, as 400 causes. */
const CLIENT_ERRORS: Record<string, { field: string; text: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { field: 'Content-Type', text: 'Content-Type is not supported by this operation' },
  FST_ERR_CTP_BODY_TOO_LARGE: { field: 'body', text: 'body is larger than this server accepts' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { field: 'Content-Length', text: 'Content-Length does not match the body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { field: 'body', text: 'body is not valid JSON' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { field: 'Content-Type', text: 'the request is not multipart' },
  FST_PARTS_LIMIT: { field: 'body', text: 'too many parts in the multipart body' },
  FST_FILES_LIMIT: { field: 'body', text: 'too many files in the multipart body' },
  FST_FIELDS_LIMIT: { field: 'body', text: 'too many fields in the multipart body' },
  FST_REQ_FILE_TOO_LARGE: { field: 'data', text: 'the uploaded file is larger than this server accepts' },
  FST_PROTO_VIOLATION: { field: 'body', text: 'body contains a forbidden property name (__proto__ or constructor)' },
  FST_ERR_VALIDATION: { field: 'request', text: 'request is invalid' },
};

/** How much of a refused request's body is read, and dropped, before it is answered anyway. */
const UNREAD_BODY_DRAINED = 64 * 1024 * 1024;
/** Refused bodies read and dropped at once; past them, refusals close their connection instead. */
const DRAINING_AT_ONCE = 2;
/** The bytes per second of refused bodies read, all drains together. */
const DRAINED_PER_SECOND = 16 * 1024 * 1024;
let draining = 0;
/** The drains' budget: bytes that may still be read now, refilled at DRAINED_PER_SECOND. */
let drainBudget = DRAINED_PER_SECOND;
let drainBudgetAt = Date.now();

/** Takes `bytes` from the drains' budget; answers how long to wait before reading more (ms). */
function drainPause(bytes: number): number {
  const now = Date.now();
  drainBudget = Math.min(DRAINED_PER_SECOND, drainBudget + ((now - drainBudgetAt) * DRAINED_PER_SECOND) / 1000);
  drainBudgetAt = now;
  drainBudget -= bytes;
  return drainBudget >= 0 ? 0 : Math.ceil((-drainBudget * 1000) / DRAINED_PER_SECOND);
}

/**
 * A request refused before its body was read (too large, a media type no operation takes) is
 * answered once the rest of its body has arrived, read and dropped: the answer closes the
 * connection, and a socket closed with data still arriving is reset, so a client that sends its
 * whole body before reading (Python's requests, PowerShell) would fail writing and never see the
 * 400. Past UNREAD_BODY_DRAINED bytes it is answered at once; a client that stops sending meets
 * the server's request timeout. At most DRAINING_AT_ONCE bodies are drained at a time, together at
 * most DRAINED_PER_SECOND (a refused 16 MiB upload is answered within about a second): a flood of
 * refused bodies is answered at once and its connections closed, or read slowly, so that reading
 * what it sends is not its cost to everyone else.
 */
function unreadBodyDrained(request: FastifyRequest, reply: FastifyReply): Promise<void> | undefined {
  const raw = request.raw;
  // `complete` is the HTTP parser's: false while body bytes are still to come on the socket.
  if (raw.complete !== false || raw.destroyed || raw.readableEnded) return undefined;
  // A route whose clients never send large bodies (the token endpoint) answers at once, and the
  // connection closes: reading what a flood sends would be the flood's whole cost.
  if ((request.routeOptions.config as { drainUnread?: boolean } | undefined)?.drainUnread === false || draining >= DRAINING_AT_ONCE) {
    reply.header('Connection', 'close');
    return undefined;
  }
  draining++;
  return new Promise((resolve) => {
    let drained = 0;
    let finished = false;
    let paused: NodeJS.Timeout | undefined;
    const done = () => {
      if (finished) return;
      finished = true;
      draining--;
      clearTimeout(paused);
      raw.off('data', count);
      raw.off('end', done);
      raw.off('close', done);
      raw.off('error', done);
      resolve();
    };
    const count = (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > UNREAD_BODY_DRAINED) return done();
      const wait = drainPause(chunk.length);
      if (wait > 0 && !paused) {
        raw.pause();
        paused = setTimeout(() => {
          paused = undefined;
          if (!finished) raw.resume();
        }, wait);
      }
    };
    raw.on('data', count);
    raw.once('end', done);
    raw.once('close', done);
    raw.once('error', done);
    raw.resume();
  });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError & { validation?: AjvError[]; validationContext?: string }, request: FastifyRequest, reply: FastifyReply) => {
    const draining = unreadBodyDrained(request, reply);
    return draining ? draining.then(() => answerError(error, request, reply)) : answerError(error, request, reply);
  });

  app.setNotFoundHandler((request, reply) => {
    send(reply, 404, errorBody(request.id, DetailCode.notFound, DEFAULT_TEXT[404]));
  });
}

function answerError(
  error: FastifyError & { validation?: AjvError[]; validationContext?: string },
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const trackingId = request.id;
  if (error instanceof ApiError) {
    return send(reply, error.status, errorBody(trackingId, error.detailCode, error.text, error.causes));
  }
  if (error instanceof UnauthorizedError) {
    return reply.code(401).send({ error: error.message });
  }
  if (error instanceof RetryLaterError) reply.header('Retry-After', String(error.retryAfterSeconds));
  if (error instanceof RetryLaterError || error.statusCode === 429) {
    return reply.code(429).send({ message: ' Rate Limit Exceeded ' });
  }
  if (error.validation) {
    const causes =
      error.validationContext === 'body' && request.body === undefined
        ? [{ field: 'body', text: 'body is required' }]
        : validationCauses(error.validationContext, error.validation);
    return send(reply, 400, errorBody(trackingId, DetailCode.badRequest, causes.map((c) => c.text).join('; ') || 'The request is invalid.', causes));
  }
  const known = CLIENT_ERRORS[error.code];
  if (known) return send(reply, 400, errorBody(trackingId, DetailCode.badRequest, known.text, [known]));
  if (error instanceof SyntaxError || (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)) {
    // Any other client error Fastify or a plugin raised (a JSON syntax error, a bad multipart
    // boundary, …): its message is written for clients.
    const text = error.statusCode === 404 ? DEFAULT_TEXT[404] : error.message || DEFAULT_TEXT[400];
    const status = error.statusCode === 404 ? 404 : error.statusCode === 403 ? 403 : 400;
    const code = status === 404 ? DetailCode.notFound : status === 403 ? DetailCode.forbidden : DetailCode.badRequest;
    return send(reply, status, errorBody(trackingId, code, text, status === 400 ? [{ field: 'body', text }] : []));
  }
  request.log.error({ err: error }, 'unexpected error');
  return send(reply, 500, errorBody(trackingId, DetailCode.internal, DEFAULT_TEXT[500]));
}

/**
 * Fastify's `frameworkErrors`: errors raised before routing, which skip the hooks and the error
 * handler. A path segment that is not valid percent-encoding, and a path parameter longer than the
 * router takes (`maxParamLength`), are 400s naming the path.
 */
export function frameworkErrorHandler(maxParamLength: number) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    reply.header('X-Request-Id', request.id);
    if (error.code !== 'FST_ERR_BAD_URL' && error.code !== 'FST_ERR_MAX_PARAM_LENGTH') {
      request.log.error({ err: error }, 'unexpected router error');
      send(reply, 500, errorBody(request.id, DetailCode.internal, DEFAULT_TEXT[500]));
      return;
    }
    const text =
      error.code === 'FST_ERR_BAD_URL'
        ? 'the URL path is not valid: a segment is not well-formed percent-encoded UTF-8'
        : `a path parameter is longer than ${maxParamLength} characters`;
    send(reply, 400, errorBody(request.id, DetailCode.badRequest, text, [{ field: 'path', text }]));
  };
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before there is a request
 * (headers larger than its limit, 16 KiB by default; malformed HTTP; a request not received within
 * the server's timeouts). Answered with a 400 ErrorResponseDto, then the connection is closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const trackingId = randomBytes(16).toString('hex');
  const text =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 'the request line and headers are larger than this server accepts'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'the request was not received in time'
        : 'the request is not well-formed HTTP/1.1';
  const body = JSON.stringify(errorBody(trackingId, DetailCode.badRequest, text, [{ field: 'request', text }]));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${trackingId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
