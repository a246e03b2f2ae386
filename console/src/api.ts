/**
 * The console's one way to the server: the same API every client uses, with the session cookie
 * (`credentials: 'same-origin'`) and the session's CSRF token on every request that changes
 * something. Errors come back as `ApiError` with the API's own text: `messages[0].text` and the
 * causes' texts, `{error}` (401, sign-in), `{message}` (429) with the wait of `Retry-After`.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly causes: string[] = [],
    readonly retryAfterSeconds?: number,
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Answer<T> {
  data: T;
  status: number;
  /** `X-Total-Count`, when the request asked for `count=true`. */
  total: number | undefined;
}

type Query = Record<string, string | number | boolean | undefined>;

let csrfToken = '';
let unauthorized: () => void = () => undefined;

/** The session's CSRF token, sent in `X-CSRF-Token` with every write. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** What happens when the session has ended (a 401): the app goes back to sign-in. */
export function onUnauthorized(handler: () => void): void {
  unauthorized = handler;
}

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // Not JSON: the status says it.
  }
  const messages = Array.isArray(body.messages) ? (body.messages as { text?: unknown }[]) : [];
  const causes = Array.isArray(body.causes) ? (body.causes as { text?: unknown }[]).map((c) => String(c.text ?? '')).filter(Boolean) : [];
  const retry = Number(response.headers.get('Retry-After'));
  const text =
    (typeof messages[0]?.text === 'string' && messages[0].text) ||
    (typeof body.error === 'string' && body.error) ||
    (typeof body.message === 'string' && body.message.trim()) ||
    `The server answered ${response.status} ${response.statusText}.`;
  return new ApiError(response.status, text, causes, Number.isFinite(retry) && retry > 0 ? retry : undefined, body);
}

export interface CallOptions {
  query?: Query;
  body?: unknown;
  /** A 401 is the answer to show (sign-in), not the end of the session. */
  quiet401?: boolean;
}

export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(withQuery(path, options.query), {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && !options.quiet401) unauthorized();
    throw error;
  }
  const total = response.headers.get('X-Total-Count');
  const text = response.status === 204 ? '' : await response.text();
  return { data: (text ? JSON.parse(text) : undefined) as T, status: response.status, total: total === null ? undefined : Number(total) };
}

export const get = <T>(path: string, query?: Query) => call<T>('GET', path, { query });
export const post = <T>(path: string, body?: unknown) => call<T>('POST', path, { body: body ?? {} });
export const put = <T>(path: string, body?: unknown) => call<T>('PUT', path, { body });
export const patch = <T>(path: string, body: unknown) => call<T>('PATCH', path, { body });
export const del = <T>(path: string) => call<T>('DELETE', path);

/** One page of a collection: the API's own paging, sorting and filters, with its total. */
export interface PageQuery {
  limit: number;
  offset: number;
  sorters?: string | undefined;
  filters?: string | undefined;
  [name: string]: string | number | boolean | undefined;
}

export async function page<T>(path: string, query: PageQuery): Promise<{ items: T[]; total: number }> {
  const answer = await get<T[]>(path, { ...query, count: true });
  return { items: answer.data, total: answer.total ?? answer.data.length };
}

/** A string inside a filter: the API's quoting (`"` and `\` escaped). */
export const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The text to show for any error. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    const causes = error.causes.filter((c) => c !== error.message);
    return causes.length > 0 ? `${error.message} ${causes.join(' ')}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Sends a file as the multipart part `field` (the bulk upload), with the CSRF token. */
export async function upload<T>(path: string, field: string, file: Blob, fileName: string): Promise<Answer<T>> {
  const form = new FormData();
  form.append(field, file, fileName);
  const response = await fetch(path, {
    method: 'POST',
    headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken },
    credentials: 'same-origin',
    body: form,
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) unauthorized();
    throw error;
  }
  return { data: (await response.json()) as T, status: response.status, total: undefined };
}

/** Reads a text answer (a CSV) of a GET, with the API's errors. */
export async function getText(path: string): Promise<string> {
  const response = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'text/csv' } });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) unauthorized();
    throw error;
  }
  return response.text();
}
