/**
 * What the request log may show. Secrets never reach it: client secrets may arrive as query
 * parameters of the token request, so query values of sensitive names are masked, and headers
 * are not logged at all.
 */
import type { FastifyRequest } from 'fastify';

const SENSITIVE = /^(client_secret|access_token|refresh_token|token|password|secret)$/i;

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

export const logSerializers = {
  req(request: FastifyRequest) {
    return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
  },
};
