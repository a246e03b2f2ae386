/**
 * One webhook request: resolve the URL's host and check every address (address.ts), connect to the
 * checked address (the request's `lookup` answers with it: no second lookup), POST the body, and
 * read the status and the start of the response within the time allowed. Redirects are not
 * followed: a 3xx is an answer like any other that is not 2xx.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { type Address, hostOf, type Resolver, resolveTarget, type UrlRules } from './address.js';

/** Bytes of a response's body kept in the delivery log. */
export const RESPONSE_BYTES = 1024;
const USER_AGENT = 'nelm-webhooks/1';

export interface SendOptions extends UrlRules {
  timeoutMs: number;
  resolve: Resolver;
  /** Keeps the connection for the next request to the same checked address; a new one for each request without. */
  connection?: Connection | undefined;
  /** Aborts the request (the server is stopping): the outcome is `aborted`, not an attempt. */
  signal?: AbortSignal | undefined;
}

export interface SendOutcome {
  /** The HTTP status, when the endpoint answered. */
  statusCode: number | null;
  /** Why there is no answer (refused address, connection error, time out). */
  error: string | null;
  /** The start of the response's body, as text. */
  body: string | null;
  durationMs: number;
  /** The request was aborted by `signal`. */
  aborted: boolean;
}

/** A `lookup` that answers every name with the address already checked. */
function pinned(target: Address): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as LookupFunction;
}

/**
 * One kept-alive connection, for the consecutive requests of a worker to one endpoint: a request
 * reuses it when its host resolved to the same checked address, and opens a new one otherwise.
 */
export class Connection {
  private key: string | undefined;
  private agent: http.Agent | undefined;

  agentFor(url: URL, target: Address): http.Agent {
    const key = `${url.protocol}//${url.host} ${target.address}`;
    if (key !== this.key || !this.agent) {
      this.close();
      this.key = key;
      this.agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
    }
    return this.agent;
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
    this.key = undefined;
  }
}

/** Text a database stores: NUL is the one character PostgreSQL's text refuses. */
function storable(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD');
}

export async function send(urlText: string, headers: Record<string, string>, body: string, options: SendOptions): Promise<SendOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const failed = (error: string, aborted = false): SendOutcome => ({ statusCode: null, error: storable(error), body: null, durationMs: elapsed(), aborted });
  const url = new URL(urlText);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  const noAnswer = `no answer within ${options.timeoutMs / 1000} s`;
  try {
    const resolved = await Promise.race([resolveTarget(url, options, options.resolve), timedOut]);
    if (resolved === 'timeout') return failed(`${noAnswer} (resolving ${hostOf(url)})`);
    if ('problem' in resolved) return failed(`refused: ${resolved.problem}`);
    if (options.signal?.aborted) return failed('the server is stopping', true);
    return await new Promise<SendOutcome>((resolve) => {
      let settled = false;
      /** `keep`: the response was read to its end, so its connection may serve the next request. */
      const finish = (outcome: SendOutcome, keep = false) => {
        if (settled) return;
        settled = true;
        if (!keep) request.destroy();
        resolve(outcome);
      };
      const request = (url.protocol === 'https:' ? https : http).request({
        protocol: url.protocol,
        hostname: hostOf(url),
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': USER_AGENT },
        agent: options.connection ? options.connection.agentFor(url, resolved.target) : false,
        lookup: pinned(resolved.target),
        signal: options.signal,
      });
      void timedOut.then(() => finish(failed(noAnswer)));
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (options.signal?.aborted) finish(failed('the server is stopping', true));
        else finish(failed(error.code && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message));
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (keep = false) =>
          finish(
            {
              statusCode: response.statusCode ?? null,
              error: null,
              body: size === 0 ? null : storable(Buffer.concat(chunks).subarray(0, RESPONSE_BYTES).toString('utf8')),
              durationMs: elapsed(),
              aborted: false,
            },
            keep,
          );
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= RESPONSE_BYTES) done();
        });
        response.on('end', () => done(true));
        // The status is in: a body cut short does not change the outcome.
        response.on('error', () => done());
        response.on('aborted', () => done());
      });
      request.end(body);
    });
  } finally {
    clearTimeout(timer);
  }
}
