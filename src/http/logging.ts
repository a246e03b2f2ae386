/**
 * What the request log may show. Secrets never reach it: client secrets may arrive as query
 * parameters of the token request, so query values of sensitive names are masked, and headers
 * are not logged at all.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';

// `code`, `state`, `id_token`: an OpenID provider's answer at the console's single sign-on callback.
const SENSITIVE = /^(client_secret|access_token|refresh_token|token|password|secret|code|state|id_token)$/i;

export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const key of [...params.keys()]) {
    if (SENSITIVE.test(key)) {
      params.set(key, '***');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

/**
 * A request as logged: its address is the client's (behind a trusted proxy, the one it forwards).
 * An answer as logged names its caller (API client id, identity alias), never a credential.
 */
export const logSerializers = {
  req(request: FastifyRequest) {
    return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
  },
  res(reply: Partial<FastifyReply> & Pick<FastifyReply, 'statusCode'>) {
    const caller = reply.request?.principal;
    return caller ? { statusCode: reply.statusCode, clientId: caller.clientId, alias: caller.alias } : { statusCode: reply.statusCode };
  },
};

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
type LogArgs = Parameters<FastifyBaseLogger['info']>;
type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildLoggerOptions = NonNullable<Parameters<FastifyBaseLogger['child']>[1]>;
/** A logger that can say whether a level is on (pino's loggers and their children can). */
type LevelAwareLogger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

/**
 * A request's logger that becomes a pino child only when something is logged at an enabled level.
 * Fastify makes a child per request (its `reqId` binding serialized each time); under the
 * `warn` level most requests log nothing, and that child was a few per cent of a record get's
 * CPU. Logged lines are the child's own: same bindings, same serializers, same level.
 */
export class RequestLogger {
  #child: LevelAwareLogger | undefined;

  constructor(
    private readonly parent: LevelAwareLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }

  /** The pino child, made on first use. */
  get real(): LevelAwareLogger {
    this.#child ??= this.parent.child(this.bindings, this.options) as LevelAwareLogger;
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.parent).isLevelEnabled(level);
  }

  private log(level: Level, args: LogArgs): void {
    if (this.isLevelEnabled(level)) (this.real[level] as (...a: LogArgs) => void)(...args);
  }

  trace(...args: LogArgs): void {
    this.log('trace', args);
  }
  debug(...args: LogArgs): void {
    this.log('debug', args);
  }
  info(...args: LogArgs): void {
    this.log('info', args);
  }
  warn(...args: LogArgs): void {
    this.log('warn', args);
  }
  error(...args: LogArgs): void {
    this.log('error', args);
  }
  fatal(...args: LogArgs): void {
    this.log('fatal', args);
  }
  silent(): void {}
}

/**
 * Fastify's `childLoggerFactory`: a `RequestLogger` over a pino logger, unless the route sets a
 * level of its own (then a child at once, as Fastify would).
 */
export function requestLoggerFactory(this: unknown, logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options.level !== undefined || typeof (logger as Partial<LevelAwareLogger>).isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new RequestLogger(logger as LevelAwareLogger, bindings, options) as unknown as FastifyBaseLogger;
}
