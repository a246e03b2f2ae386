/** Non-employee source shapes, as SailPoint's API descriptions define them. */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, IdentityReference, PathId } from '../../http/nelm-schemas.js';
import { Count, Limit, Offset, Sorters } from '../../collections/paging.js';

const IdnUserRequest = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'Identity id.' }) }, { additionalProperties: false });

export const SourceRequestBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: 'Name of non-employee source.' }),
    description: Type.String({ maxLength: 2000, description: 'Description of non-employee source.' }),
    owner: IdnUserRequest,
    managementWorkgroup: Type.Optional(Type.String({ maxLength: 128, description: 'The ID for the management workgroup that contains source sub-admins' })),
    approvers: Type.Optional(Type.Array(IdnUserRequest, { maxItems: 3, description: 'List of approvers.' })),
    accountManagers: Type.Optional(Type.Array(IdnUserRequest, { maxItems: 10, description: 'List of account managers.' })),
  },
  { additionalProperties: false },
);
export type SourceRequestBody = Static<typeof SourceRequestBody>;

const sourceLite = {
  id: Type.String({ description: 'Non-Employee source id.' }),
  sourceId: Type.String({ description: 'Source Id associated with this non-employee source.' }),
  name: Type.String({ description: 'Source name associated with this non-employee source.' }),
  description: Type.String({ description: 'Source description associated with this non-employee source.' }),
};

const sourceFields = {
  ...sourceLite,
  approvers: Type.Array(IdentityReference, { description: 'List of approvers' }),
  accountManagers: Type.Array(IdentityReference, { description: 'List of account managers' }),
  modified: DateTime('When the request was last modified.'),
  created: DateTime('When the request was created.'),
};

const nonEmployeeCount = Type.Union([Type.Integer(), Type.Null()], { description: 'The number of non-employee records on this source, when asked for' });

export const NonEmployeeSourceLite = Type.Object(sourceLite);
export const NonEmployeeSource = Type.Object(sourceFields, { title: 'NonEmployeeSource' });
export const NonEmployeeSourceWithNECount = Type.Object({ ...sourceFields, nonEmployeeCount });
export const NonEmployeeSourceWithCloudExternalId = Type.Object({
  ...sourceFields,
  cloudExternalId: Type.String({ description: 'Legacy ID used for sources from the V1 API.' }),
});
/** Beta's NonEmployeeSource carries nonEmployeeCount itself. */
export const BetaNonEmployeeSource = Type.Object({ ...sourceFields, nonEmployeeCount });
/** Beta's list item: nonEmployeeCount is a plain integer there, so it is left out unless asked for. */
export const BetaNonEmployeeSourceWithNECount = Type.Object({ ...sourceFields, nonEmployeeCount: Type.Optional(Type.Integer()) });
export const BetaNonEmployeeSourceWithCloudExternalId = Type.Object({ ...sourceFields, nonEmployeeCount, cloudExternalId: Type.String() });

export const SourceIdParams = Type.Object({ sourceId: PathId('Source Id') });

export const ListSourcesQuery = Type.Object({
  limit: Limit,
  offset: Offset,
  count: Count,
  'requested-for': Type.Optional(Type.String({ maxLength: 64, description: "The identity for whom the request was made. 'me' for the caller." })),
  'non-employee-count': Type.Boolean({
    default: false,
    description: 'Flag that determines whether the API will return a non-employee count associated with the source.',
  }),
  sorters: Type.Optional(Sorters),
});
