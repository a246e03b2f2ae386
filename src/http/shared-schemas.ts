/** Shapes shared by every operation: SailPoint's error bodies, as the contract (§2.3) defines them. */
import { Type } from '@sinclair/typebox';

export const ErrorMessageDto = Type.Object({
  locale: Type.Union([Type.String(), Type.Null()], { description: 'BCP 47 language tag', examples: ['en-US'] }),
  localeOrigin: Type.Union([Type.Literal('DEFAULT'), Type.Literal('REQUEST'), Type.Null()]),
  text: Type.String(),
});

export const ErrorResponseDto = Type.Object(
  {
    detailCode: Type.String({ description: 'Fine-grained error code', examples: ['400.1 Bad Request Content'] }),
    trackingId: Type.String({ description: 'The request id, also in the X-Request-Id header' }),
    messages: Type.Array(ErrorMessageDto),
    causes: Type.Array(ErrorMessageDto),
  },
  { title: 'Error Response Dto' },
);

export const UnauthorizedBody = Type.Object({ error: Type.String(), error_description: Type.Optional(Type.String()) });
export const RateLimitedBody = Type.Object({ message: Type.String() });

/** The error responses every NELM operation declares. */
export const ErrorResponses = {
  400: ErrorResponseDto,
  401: UnauthorizedBody,
  403: ErrorResponseDto,
  404: ErrorResponseDto,
  429: RateLimitedBody,
  500: ErrorResponseDto,
};
