/** The shapes of POST /oauth/token (OAuth 2.0 client credentials, RFC 6749 §4.4 and §5). */
import { Type } from '@sinclair/typebox';

export const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ const: 'client_credentials', description: 'Only `client_credentials` is supported.' }),
    client_id: Type.String({ maxLength: 1024, description: "The API client's id." }),
    client_secret: Type.String({ maxLength: 1024, description: "The API client's secret." }),
  },
  {
    title: 'TokenRequest',
    description: 'The fields may also be sent as query parameters, or as application/x-www-form-urlencoded or JSON instead of multipart/form-data.',
  },
);

export const TokenResponse = Type.Object(
  {
    access_token: Type.String({ description: 'A bearer token (an EdDSA-signed JWT).' }),
    token_type: Type.Literal('bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the token expires.' }),
    scope: Type.String({ example: 'sp:scopes:all' }),
    tenant_id: Type.String({ description: 'The org the client belongs to.' }),
    identity_id: Type.String({ description: 'The identity the client acts as (32 hex characters).' }),
    user_name: Type.String({ description: "The identity's alias." }),
  },
  { title: 'TokenResponse' },
);

export const TokenError = Type.Object(
  {
    error: Type.String({ description: 'RFC 6749 §5.2: invalid_request, unsupported_grant_type or invalid_client; temporarily_unavailable with a 429.' }),
    error_description: Type.String(),
  },
  { title: 'TokenError' },
);
