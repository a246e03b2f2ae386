/** Shapes of passwords and console sessions: this server's own, not part of SailPoint's NELM API. */
import { Type } from '@sinclair/typebox';
import { Identity } from '../directory/schemas.js';

export const PasswordBody = Type.Object(
  { password: Type.String({ maxLength: 1024, description: 'At least 12 characters, not a common or personal one (docs/security.md)' }) },
  { additionalProperties: false },
);

export const SignInBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 256, description: "The identity's alias, or its email" }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    code: Type.Optional(Type.String({ maxLength: 16, description: 'The one-time code of an identity with a one-time password (6 digits)' })),
  },
  { additionalProperties: false },
);

export const Session = Type.Object({
  identity: Identity,
  csrfToken: Type.String({ description: 'Send it in X-CSRF-Token with every request made with the session cookie that changes something' }),
  created: Type.String({ format: 'date-time' }),
  expires: Type.String({ format: 'date-time', description: 'When the session ends at the latest' }),
  totp: Type.Boolean({ description: 'Whether the identity has a confirmed one-time password' }),
  totpEnrolmentRequired: Type.Boolean({
    description: 'NELM_CONSOLE_REQUIRE_TOTP: the session may only enrol a one-time password (and sign out) until one is confirmed',
  }),
});

/** A refused sign-in: 401, with `codeRequired` when the identity's one-time code is what is missing or wrong. */
export const SignInRefused = Type.Object({ error: Type.String(), codeRequired: Type.Optional(Type.Boolean()) });

export const TotpCodeBody = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 16, description: 'The 6 digits the authenticator app shows' }) },
  { additionalProperties: false },
);

export const TotpEnrolment = Type.Object({
  secret: Type.String({ description: 'The secret, base32 (shown this once)' }),
  uri: Type.String({ description: 'The otpauth:// URI an authenticator app reads (as a QR code)' }),
});

export const SignInOptions = Type.Object({ sso: Type.Boolean({ description: 'Whether single sign-on (OpenID Connect) is configured' }) });

export const SignedOut = Type.Object({ sessionsEnded: Type.Integer() });
