/** Shapes of the admin API (identities, API clients, governance groups): not part of SailPoint's NELM API. */
import { Type, type Static } from '@sinclair/typebox';
import { RIGHTS } from '../../auth/principal.js';
import { ID_PATTERN } from '../../domain/ids.js';
import { MAX_OFFSET } from '../../collections/paging.js';

export const IdParam = Type.Object({ id: Type.String({ pattern: ID_PATTERN, description: 'Object id (32 hex characters)' }) });

export const Alias = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._@+-]*$',
  description: 'Unique account name, e.g. jane.doe',
});

export const Right = Type.Union(
  RIGHTS.map((r) => Type.Literal(r)),
  { description: 'A NELM role context' },
);

export const IdentityBody = Type.Object(
  {
    alias: Alias,
    name: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
    email: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
    admin: Type.Optional(Type.Boolean({ description: 'An org admin holds every right' })),
    rights: Type.Optional(Type.Array(Right, { maxItems: 4 })),
  },
  { additionalProperties: false },
);
export type IdentityBody = Static<typeof IdentityBody>;

/** The changes to an identity: what it leaves out stays; `rights` replaces the list. The alias is fixed. */
export const IdentityPatch = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
    email: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
    admin: Type.Optional(Type.Boolean({ description: 'An org admin holds every right' })),
    rights: Type.Optional(Type.Array(Right, { maxItems: 4 })),
    disabled: Type.Optional(
      Type.Boolean({
        description:
          'A disabled identity gets no token and cannot sign in; its tokens and console sessions are refused. The tenant keeps at least one enabled org admin.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type IdentityPatch = Static<typeof IdentityPatch>;

export const Identity = Type.Object({
  id: Type.String(),
  alias: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  email: Type.Union([Type.String(), Type.Null()]),
  admin: Type.Boolean(),
  rights: Type.Array(Type.String()),
  disabled: Type.Boolean(),
});

export const ClientCredentials = Type.Object({
  clientId: Type.String(),
  clientSecret: Type.String({ description: 'Shown once; stored hashed' }),
});

export const ClientIdParam = Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$' }) });
export const ClientSummary = Type.Object({ clientId: Type.String(), created: Type.String({ format: 'date-time' }) });

export const WorkgroupBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    members: Type.Array(Type.String({ pattern: ID_PATTERN }), { maxItems: 1000 }),
  },
  { additionalProperties: false },
);

export const WorkgroupPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    members: Type.Optional(Type.Array(Type.String({ pattern: ID_PATTERN }), { maxItems: 1000 })),
  },
  { additionalProperties: false },
);

export const Workgroup = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  members: Type.Array(Type.String()),
  created: Type.String({ format: 'date-time' }),
  modified: Type.String({ format: 'date-time' }),
});

export const Page = Type.Object({
  limit: Type.Integer({ minimum: 0, maximum: 250, default: 250 }),
  offset: Type.Integer({ minimum: 0, maximum: MAX_OFFSET, default: 0 }),
  count: Type.Boolean({ default: false }),
});
