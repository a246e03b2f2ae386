/**
 * RequestLogger (src/http/logging.ts): a request's pino child is made only when the request logs
 * at an enabled level, and what it logs is what Fastify's own child would log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { requestLoggerFactory } from '../../src/http/logging.js';

async function app(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  let ids = 0;
  const server = Fastify({
    logger: { level, stream },
    childLoggerFactory: requestLoggerFactory,
    genReqId: () => `req-${++ids}`,
    logController: new LogController({ disableRequestLogging: true }),
  });
  server.get('/quiet', async (request) => {
    request.log.debug('debug line');
    request.log.info({ detail: 1 }, 'info line');
    return { level: request.log.level };
  });
  server.get('/loud', async (request) => {
    request.log.warn({ detail: 2 }, 'warn line');
    request.log.error('error line');
    request.log.child({ part: 'inner' }).warn('inner line');
    return {};
  });
  server.get('/louder', async (request) => {
    request.log.level = 'debug';
    request.log.debug('now on');
    return {};
  });
  server.get('/silent-route', { logLevel: 'silent' }, async (request) => {
    request.log.error('never');
    return {};
  });
  await server.ready();
  // Count the children made from the server's logger from now on.
  const root = server.log as FastifyBaseLogger;
  const made = { count: 0 };
  const original = root.child;
  // pino's children inherit from their parent: count only the children of the server's logger.
  root.child = function (this: FastifyBaseLogger, bindings, options) {
    if (this === root) made.count++;
    return original.call(this, bindings, options);
  };
  return { server, lines, made };
}

test('at warn, a request that logs only below warn makes no child and writes nothing', async () => {
  const { server, lines, made } = await app('warn');
  const res = await server.inject({ method: 'GET', url: '/quiet' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { level: 'warn' });
  assert.equal(made.count, 0);
  assert.deepEqual(lines, []);
  await server.close();
});

test('a line at an enabled level is written by the child, with the request id and the message', async () => {
  const { server, lines, made } = await app('warn');
  await server.inject({ method: 'GET', url: '/loud' });
  assert.equal(made.count, 1, 'one child for the request, however many lines');
  assert.deepEqual(
    lines.map((l) => [l.level, l.reqId, l.msg, l.detail, l.part]),
    [
      [40, 'req-1', 'warn line', 2, undefined],
      [50, 'req-1', 'error line', undefined, undefined],
      [40, 'req-1', 'inner line', undefined, 'inner'],
    ],
  );
  await server.close();
});

test('at trace every line is written, each request with its own id', async () => {
  const { server, lines } = await app('trace');
  await server.inject({ method: 'GET', url: '/quiet' });
  await server.inject({ method: 'GET', url: '/quiet' });
  assert.deepEqual(
    lines.map((l) => [l.reqId, l.msg]),
    [
      ['req-1', 'debug line'],
      ['req-1', 'info line'],
      ['req-2', 'debug line'],
      ['req-2', 'info line'],
    ],
  );
  await server.close();
});

test("a route's own log level is kept", async () => {
  const { server, lines } = await app('trace');
  await server.inject({ method: 'GET', url: '/silent-route' });
  assert.deepEqual(lines, []);
  await server.close();
});

test("a request's level can be changed for that request alone", async () => {
  const { server, lines } = await app('warn');
  await server.inject({ method: 'GET', url: '/louder' });
  await server.inject({ method: 'GET', url: '/quiet' });
  assert.deepEqual(
    lines.map((l) => [l.reqId, l.msg]),
    [['req-1', 'now on']],
  );
  await server.close();
});
