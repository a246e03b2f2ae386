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
  },
  { additionalProperties: false },
);

export const Session = Type.Object({
  identity: Identity,
  csrfToken: Type.String({ description: 'Send it in X-CSRF-Token with every request made with the session cookie that changes something' }),
  created: Type.String({ format: 'date-time' }),
  expires: Type.String({ format: 'date-time', description: 'When the session ends at the latest' }),
});

export const SignedOut = Type.Object({ sessionsEnded: Type.Integer() });
