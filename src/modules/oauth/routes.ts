/**
 * POST /oauth/token, grant client_credentials. The fields may arrive as multipart/form-data (the
 * official SDK), application/x-www-form-urlencoded, JSON, or query parameters. Errors follow
 * RFC 6749 §5.2 with the `error` member SailPoint's 401s carry.
 */
import type { Static } from '@sinclair/typebox';
import { errorCodes, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TokenService } from '../../auth/tokens.js';
import { isStorableText } from '../../domain/text.js';
import { type TokenError, TokenResponse } from './schemas.js';
import type { RefusalReason, TokenRequestGuard } from './guard.js';

const FIELDS = ['grant_type', 'client_id', 'client_secret'] as const;
type Field = (typeof FIELDS)[number];
const MAX_FIELD = 1024;
/** The largest token request body: three fields of at most 1,024 characters, encoded, with room. */
export const TOKEN_BODY_LIMIT = 8 * 1024;

class MalformedBody extends Error {}

async function collectFields(request: FastifyRequest): Promise<Partial<Record<Field, string>>> {
  const out: Partial<Record<Field, string>> = {};
  const take = (name: string, value: unknown) => {
    // Too long, or holding text no database stores (NUL…): left out, so the request is invalid_request.
    if ((FIELDS as readonly string[]).includes(name) && typeof value === 'string' && value.length <= MAX_FIELD && isStorableText(value))
      out[name as Field] = value;
  };
  for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) take(name, value);
  if (request.isMultipart()) {
    try {
      for await (const part of request.parts({ limits: { fields: 10, fieldSize: MAX_FIELD, files: 0, parts: 10 } })) {
        if (part.type === 'field') take(part.fieldname, part.value);
      }
    } catch (error) {
      // The plugin's limit errors carry a code the error handler knows; the parser's do not.
      if ((error as { code?: string }).code?.startsWith('FST_')) throw error;
      throw new MalformedBody(`the multipart/form-data body is malformed: ${(error as Error).message}`);
    }
  } else if (request.body && typeof request.body === 'object') {
    for (const [name, value] of Object.entries(request.body as Record<string, unknown>)) take(name, value);
  }
  return out;
}

/** An RFC 6749 §5.2 error (the TokenError shape; errors the framework raises keep the API's own format). */
function refuse(reply: FastifyReply, status: 400 | 401 | 429, error: string, description: string): FastifyReply {
  return reply.code(status).send({ error, error_description: description } satisfies Static<typeof TokenError>);
}

const THROTTLED: Partial<Record<RefusalReason, string>> = {
  client_locked: 'too many failed token requests for this client',
  address_locked: 'too many failed token requests from this address',
  busy: 'too many token requests are waiting',
};

export function oauthRoutes(app: FastifyInstance, guard: TokenRequestGuard, tokens: TokenService): void {
  app.post(
    '/oauth/token',
    {
      schema: { response: { 200: TokenResponse } },
      bodyLimit: TOKEN_BODY_LIMIT,
      config: { drainUnread: false },
      // A body announced larger than the limit is refused before a byte of it is read, whatever
      // its media type (multipart bodies are read by the multipart plugin, not by the body parser).
      onRequest: (request, _reply, done) =>
        done(Number(request.headers['content-length']) > TOKEN_BODY_LIMIT ? new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE() : undefined),
    },
    async (request, reply) => {
      let fields: Partial<Record<Field, string>>;
      try {
        fields = await collectFields(request);
      } catch (error) {
        if (error instanceof MalformedBody) return refuse(reply, 400, 'invalid_request', error.message);
        throw error;
      }
      if (!fields.grant_type || !fields.client_id || !fields.client_secret) {
        return refuse(reply, 400, 'invalid_request', 'grant_type, client_id and client_secret are required');
      }
      if (fields.grant_type !== 'client_credentials') {
        return refuse(reply, 400, 'unsupported_grant_type', 'only client_credentials is supported');
      }
      const attempt = await guard.authenticate(fields.client_id, fields.client_secret, request.ip);
      if (!attempt.ok) {
        // Who was refused and why, never the secret; the client id as far as a log line needs it.
        request.log.warn({ clientId: fields.client_id.slice(0, 128), address: request.ip, reason: attempt.reason }, 'token request refused');
        if (!('retryAfterSeconds' in attempt)) return refuse(reply, 401, 'invalid_client', 'Bad credentials');
        reply.header('Retry-After', String(attempt.retryAfterSeconds));
        return refuse(reply, 429, 'temporarily_unavailable', `${THROTTLED[attempt.reason]}; retry after ${attempt.retryAfterSeconds} s`);
      }
      const { identity, tenantId } = attempt;
      const { token, expiresIn } = await tokens.issue({
        tenantId,
        identityId: identity.id,
        alias: identity.alias,
        clientId: fields.client_id,
        admin: identity.admin,
        rights: identity.rights,
      });
      reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
      return {
        access_token: token,
        token_type: 'bearer',
        expires_in: expiresIn,
        scope: 'sp:scopes:all',
        tenant_id: tenantId,
        identity_id: identity.id,
        user_name: identity.alias,
      };
    },
  );

  app.get('/oauth/jwks', async () => tokens.jwks());
  app.get('/.well-known/jwks.json', async () => tokens.jwks());
}
