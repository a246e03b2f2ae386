/** Non-employee request and approval shapes, and Beta's older ones. The request body is the records' NonEmployeeRequestBody and a comment. */
import { Type, type TSchema } from '@sinclair/typebox';
import { DateTime, IdentityReference, PathId } from '../../http/nelm-schemas.js';
import { Count, Limit, Offset } from '../../collections/paging.js';
import { APPROVAL_STATUSES, type ApprovalStatus } from './state.js';
import { LIMITS } from '../../domain/limits.js';
import { BetaNonEmployeeSchemaAttribute, NonEmployeeSchemaAttribute } from '../schema-attributes/schemas.js';
import { NonEmployeeSourceLite } from '../sources/schemas.js';

import { NonEmployeeRequestBody } from '../records/schemas.js';

const REQUEST_COMMENT =
  "Comment of requester: what the requester wrote when filing the request or, when nothing, the comment of the decision that ended it (the rejection's, or the last approval's).";

/**
 * The body of create request: a record's, and the requester's optional `comment` (an extension:
 * SailPoint's body has no field to write the comment its requests return).
 */
export const NonEmployeeRequestCreateBody = Type.Object(
  {
    ...NonEmployeeRequestBody.properties,
    comment: Type.Optional(
      Type.String({
        maxLength: LIMITS.decisionComment,
        description: "The requester's comment (an extension of this server), returned as the request's comment.",
      }),
    ),
  },
  { additionalProperties: false, title: 'NonEmployeeRequestBody' },
);

export const ApprovalStatusSchema = Type.Unsafe<ApprovalStatus>({
  type: 'string',
  enum: [...APPROVAL_STATUSES],
  description: 'Enum representing the non-employee request approval status',
});

const Int32 = (description: string) => Type.Integer({ format: 'int32', description });

/** NonEmployeeApprovalItemBase. */
export const approvalItemBaseFields = {
  id: Type.String({ description: 'Non-Employee approval item id' }),
  approver: IdentityReference,
  accountName: Type.String({ description: 'Requested identity account name' }),
  approvalStatus: ApprovalStatusSchema,
  approvalOrder: Type.Number({ format: 'float', description: 'Approval order' }),
  comment: Type.Optional(Type.String({ description: 'comment of approver' })),
  modified: DateTime('When the request was last modified.'),
  created: DateTime('When the request was created.'),
};
export const NonEmployeeApprovalItemBase = Type.Object(approvalItemBaseFields, { title: 'NonEmployeeApprovalItemBase' });

const person = {
  accountName: Type.String({ description: 'Requested identity account name.' }),
  firstName: Type.String({ description: "Non-Employee's first name." }),
  lastName: Type.String({ description: "Non-Employee's last name." }),
  email: Type.String({ description: "Non-Employee's email." }),
  phone: Type.String({ description: "Non-Employee's phone." }),
  manager: Type.String({ description: "The account ID of a valid identity to serve as this non-employee's manager." }),
};

export const DataSchema = Type.Object(
  {},
  { additionalProperties: Type.String(), description: 'Additional attributes for a non-employee. Up to 10 custom attributes can be added.' },
);

/**
 * NonEmployeeRequest = NonEmployeeSourceLite + the request. The top-level `id` is the request's;
 * `sourceId`, `name` and `description` are those of the request's non-employee source.
 */
export const NonEmployeeRequest = Type.Object(
  {
    id: Type.String({ description: 'Non-Employee request id.' }),
    sourceId: Type.String({ description: 'The non-employee source id of the request.' }),
    name: Type.String({ description: 'Source name associated with this non-employee source.' }),
    description: Type.String({ description: 'Source description associated with this non-employee source.' }),
    ...person,
    nonEmployeeSource: NonEmployeeSourceLite,
    data: DataSchema,
    approvalItems: Type.Array(NonEmployeeApprovalItemBase, { description: 'List of approval item for the request' }),
    approvalStatus: ApprovalStatusSchema,
    comment: Type.Optional(Type.String({ description: REQUEST_COMMENT })),
    completionDate: Type.Optional(DateTime('When the request was completely approved.')),
    startDate: DateTime('Non-Employee employment start date.'),
    endDate: DateTime('Non-Employee employment end date.'),
    modified: DateTime('When the request was last modified.'),
    created: DateTime('When the request was created.'),
  },
  { title: 'NonEmployeeRequest' },
);

export const NonEmployeeRequestSummary = Type.Object(
  {
    approved: Int32('The number of approved non-employee requests on all sources that *requested-for* user manages.'),
    rejected: Int32('The number of rejected non-employee requests on all sources that *requested-for* user manages.'),
    pending: Int32('The number of pending non-employee requests on all sources that *requested-for* user manages.'),
    nonEmployeeCount: Int32('The number of non-employee records on all sources that *requested-for* user manages.'),
  },
  { title: 'NonEmployeeRequestSummary' },
);

export const RequestedFor = (description: string) => Type.String({ minLength: 1, maxLength: 64, description, example: 'me' });

export const ListRequestsQuery = Type.Object({
  limit: Limit,
  offset: Offset,
  count: Count,
  'requested-for': RequestedFor(
    'The identity for whom the request was made. *me* indicates the current user. Lists the requests made by that identity and those in the sources it (or one of its governance groups) is an account manager of.',
  ),
  sorters: Type.Optional(
    Type.String({
      maxLength: 1024,
      description:
        'Sort results using the standard syntax. Sorting is supported for the following fields: **created, approvalStatus, firstName, lastName, email, phone, accountName, startDate, endDate**. Without sorters: `created`.',
    }),
  ),
  filters: Type.Optional(
    Type.String({
      maxLength: 4096,
      description:
        'Filter results using the standard syntax. Filtering is supported for the following fields and operators: **sourceId**: *eq*. Extensions: **sourceId**: *in*; **approvalStatus**: *eq, in* (any case); **accountName**: *eq, in*.',
      example: 'sourceId eq "2c91808568c529c60168cca6f90c1313"',
    }),
  ),
});

export const RequestIdParams = Type.Object({ id: PathId('Non-Employee request id (UUID)') });
export const SummaryParams = Type.Object({ requestedFor: RequestedFor('The identity (ID) of the requested for, or *me*.') });

// Approvals ---------------------------------------------------------------------------------

/** The requester as SailPoint's example shows it: the identity reference and its name. */
const Requester = Type.Object(
  {
    ...IdentityReference.properties,
    name: Type.Optional(Type.String({ description: "The requester's display name." })),
  },
  { example: { type: 'IDENTITY', id: '2c9180866166b5b0016167c32ef31a66', name: 'William Smith' } },
);

const requestLiteFields = {
  id: Type.String({ description: 'Non-Employee request id.' }),
  requester: Requester,
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
      ...person,
      nonEmployeeSource: Type.Object({
        ...NonEmployeeSourceLite.properties,
        schemaAttributes: Type.Array(attribute, { description: 'List of schema attributes associated with this non-employee source.' }),
      }),
      data: DataSchema,
      approvalStatus: ApprovalStatusSchema,
      comment: Type.Optional(Type.String({ description: REQUEST_COMMENT })),
      completionDate: Type.Optional(DateTime('When the request was completely approved.')),
      startDate: PlainDate('Non-Employee employment start date (the calendar date it was written with).'),
      endDate: PlainDate('Non-Employee employment end date (the calendar date it was written with).'),
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
/** Beta types include-detail as a string: "true" or "false" in any case, or 1 or 0, like the booleans. */
export const BetaGetApprovalQuery = Type.Object({
  'include-detail': Type.Optional(
    Type.String({ pattern: '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)$', description: `${includeDetail} ("true" or "false").` }),
  ),
});

export const ApprovalIdParams = Type.Object({ id: PathId('Non-Employee approval item id (UUID)') });
export const ApprovalSummaryParams = Type.Object({ requestedFor: RequestedFor('The identity (ID) of the approver, or *me*.') });
