/**
 * The one error catalogue of the product. Every error a client can see is an ApiError with one of
 * these detail codes; the error handler renders it as SailPoint's ErrorResponseDto.
 */

export const DetailCode = {
  badRequest: '400.1 Bad Request Content',
  missing: '400.1.0 Required data missing or empty',
  illegalValue: '400.1.1 Illegal value',
  illegalUpdate: '400.1.3 Illegal update attempt',
  limitViolation: '400.1.4 Limit violation',
  referenceNotFound: '400.1.404 Referenced object not found',
  referenceConflict: '400.1.409 Reference conflict',
  forbidden: '403 Forbidden',
  notFound: '404 Not found',
  internal: '500.0 Internal Fault',
} as const;
export type DetailCode = (typeof DetailCode)[keyof typeof DetailCode];

export type ErrorStatus = 400 | 403 | 404 | 500;

/** One problem in a request: the field (JSON path or parameter name) and what is wrong with it. */
export interface Cause {
  field?: string;
  text: string;
}

const STATUS_OF: Record<DetailCode, ErrorStatus> = {
  [DetailCode.badRequest]: 400,
  [DetailCode.missing]: 400,
  [DetailCode.illegalValue]: 400,
  [DetailCode.illegalUpdate]: 400,
  [DetailCode.limitViolation]: 400,
  [DetailCode.referenceNotFound]: 400,
  [DetailCode.referenceConflict]: 400,
  [DetailCode.forbidden]: 403,
  [DetailCode.notFound]: 404,
  [DetailCode.internal]: 500,
};

export const DEFAULT_TEXT: Record<ErrorStatus, string> = {
  400: 'The request could not be parsed or is invalid.',
  403: 'The server understood the request but refuses to authorize it.',
  404: 'The server did not find a current representation for the target resource.',
  500: 'An internal fault occurred.',
};

export class ApiError extends Error {
  readonly status: ErrorStatus;

  constructor(
    readonly detailCode: DetailCode,
    readonly text: string,
    readonly causes: readonly Cause[] = [],
  ) {
    super(text);
    this.name = 'ApiError';
    this.status = STATUS_OF[detailCode];
  }
}

/** Constructors for the errors of the catalogue; services throw these and nothing else. */
export const fail = {
  badRequest: (text: string, causes: readonly Cause[] = []) => new ApiError(DetailCode.badRequest, text, causes),
  /** A request whose content is invalid field by field: one cause per problem. */
  invalid: (causes: readonly Cause[]) => new ApiError(DetailCode.badRequest, causes.map((c) => c.text).join('; '), causes),
  illegalValue: (field: string, text: string) => new ApiError(DetailCode.illegalValue, text, [{ field, text }]),
  illegalUpdate: (text: string, causes: readonly Cause[] = []) => new ApiError(DetailCode.illegalUpdate, text, causes),
  limitViolation: (text: string) => new ApiError(DetailCode.limitViolation, text),
  referenceNotFound: (field: string, text: string) => new ApiError(DetailCode.referenceNotFound, text, [{ field, text }]),
  referenceConflict: (text: string, field?: string) => new ApiError(DetailCode.referenceConflict, text, field ? [{ field, text }] : []),
  forbidden: (text = DEFAULT_TEXT[403]) => new ApiError(DetailCode.forbidden, text),
  notFound: (text = DEFAULT_TEXT[404]) => new ApiError(DetailCode.notFound, text),
  internal: () => new ApiError(DetailCode.internal, DEFAULT_TEXT[500]),
};

/** Throws `error()` unless `condition` holds; narrows like an assertion. */
/**
 * Come back later: too many failed authentications from an address, too many uploads being
 * received. Answered 429 `{"message": " Rate Limit Exceeded "}` with `Retry-After`, the rate
 * limit's shape.
 */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export function assertThat(condition: unknown, error: () => ApiError): asserts condition {
  if (!condition) throw error();
}
