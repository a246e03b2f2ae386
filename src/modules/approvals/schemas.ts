/** Approval shapes, and Beta's older ones. */
import { Type, type TSchema } from '@sinclair/typebox';
import { DateTime, IdentityReference, PathId } from '../../http/nelm-schemas.js';
import { Count, Limit, Offset } from '../../collections/paging.js';
import { LIMITS } from '../../domain/limits.js';
import { BetaNonEmployeeSchemaAttribute, NonEmployeeSchemaAttribute } from '../schema-attributes/schemas.js';
import { NonEmployeeSourceLite } from '../sources/schemas.js';
import { ApprovalStatusSchema, DataSchema, RequestedFor, approvalItemBaseFields, requestPersonFields } from '../requests/schemas.js';

const requestLiteFields = {
  id: Type.String({ description: 'Non-Employee request id.' }),
  requester: IdentityReference,
};

export const NonEmployeeApprovalItem = Type.Object(
  { ...approvalItemBaseFields, nonEmployeeRequest: Type.Object(requestLiteFields, { title: 'NonEmployeeRequestLite' }) },
  { title: 'NonEmployeeApprovalItem' },
);

/** The YYYY-MM-DD dates of NonEmployeeRequestWithoutApprovalItem (`format: date` upstream). */
const PlainDate = (description: string) => Type.String({ format: 'date', description, example: '2020-03-24' });

function detail(attribute: TSchema) {
  const request = Type.Object(
    {
      ...requestLiteFields,
      ...requestPersonFields,
      nonEmployeeSource: Type.Object({
        ...NonEmployeeSourceLite.properties,
        schemaAttributes: Type.Array(attribute, { description: 'List of schema attributes associated with this non-employee source.' }),
      }),
      data: DataSchema,
      approvalStatus: ApprovalStatusSchema,
      comment: Type.Optional(Type.String({ description: 'Comment of requester' })),
      completionDate: Type.Optional(DateTime('When the request was completely approved.')),
      startDate: PlainDate('Non-Employee employment start date (UTC).'),
      endDate: PlainDate('Non-Employee employment end date (UTC).'),
      modified: DateTime('When the request was last modified.'),
      created: DateTime('When the request was created.'),
    },
    { title: 'NonEmployeeRequestWithoutApprovalItem' },
  );
  return Type.Object(
    { ...approvalItemBaseFields, nonEmployeeRequest: Type.Optional(request) },
    { title: 'NonEmployeeApprovalItemDetail', description: 'An approval item; `nonEmployeeRequest` is left out when include-detail is false.' },
  );
}

export const NonEmployeeApprovalItemDetail = detail(NonEmployeeSchemaAttribute);
export const BetaNonEmployeeApprovalItemDetail = detail(BetaNonEmployeeSchemaAttribute);

const comment = (description: string) => Type.String({ maxLength: LIMITS.decisionComment, description });

export const NonEmployeeApprovalDecision = Type.Object(
  { comment: Type.Optional(comment('Comment on the approval item.')) },
  { additionalProperties: false, title: 'NonEmployeeApprovalDecision' },
);

export const NonEmployeeRejectApprovalDecision = Type.Object(
  { comment: comment('Comment on the approval item: why it is rejected (required, not blank).') },
  { additionalProperties: false, title: 'NonEmployeeRejectApprovalDecision' },
);

const Int32 = (description: string) => Type.Integer({ format: 'int32', description });
export const NonEmployeeApprovalSummary = Type.Object(
  {
    approved: Int32('The number of approved non-employee approval requests.'),
    pending: Int32('The number of pending non-employee approval requests.'),
    rejected: Int32('The number of rejected non-employee approval requests.'),
  },
  { title: 'NonEmployeeApprovalSummary' },
);

export const ListApprovalsQuery = Type.Object({
  'requested-for': Type.Optional(
    RequestedFor(
      "The identity for whom the request was made. *me* indicates the current user: the items whose approver is that identity or one of its governance groups. Without it: every item for `idn:nesr:read`, the caller's items for anyone else.",
    ),
  ),
  limit: Limit,
  offset: Offset,
  count: Count,
  filters: Type.Optional(
    Type.String({
      maxLength: 4096,
      description:
        'Filter results using the standard syntax. Filtering is supported for the following fields and operators: **approvalStatus**: *eq* (any case). Extension: **approvalStatus**: *in*.',
      example: 'approvalStatus eq "Pending"',
    }),
  ),
  sorters: Type.Optional(
    Type.String({
      maxLength: 1024,
      description: 'Sort results using the standard syntax. Sorting is supported for the following fields: **created, modified**. Without sorters: `created`.',
    }),
  ),
});

const includeDetail = 'The object nonEmployeeRequest will not be included detail when set to false. *Default value is true*';
export const GetApprovalQuery = Type.Object({ 'include-detail': Type.Optional(Type.Boolean({ description: includeDetail })) });
/** Beta types include-detail as a string: "true" or "false", in any case. */
export const BetaGetApprovalQuery = Type.Object({
  'include-detail': Type.Optional(Type.String({ pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$', description: `${includeDetail} ("true" or "false").` })),
});

export const ApprovalIdParams = Type.Object({ id: PathId('Non-Employee approval item id (UUID)') });
export const ApprovalSummaryParams = Type.Object({ requestedFor: RequestedFor('The identity (ID) of the approver, or *me*.') });
