/** Non-employee request shapes. The body is the records' NonEmployeeRequestBody. */
import { Type } from '@sinclair/typebox';
import { DateTime, IdentityReference, PathId } from '../../http/nelm-schemas.js';
import { Count, Limit, Offset } from '../../collections/paging.js';
import { APPROVAL_STATUSES, type ApprovalStatus } from '../../domain/approvals/state.js';
import { NonEmployeeSourceLite } from '../sources/schemas.js';

export { NonEmployeeRequestBody } from '../records/schemas.js';

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
export const requestPersonFields = person;

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
    comment: Type.Optional(Type.String({ description: 'Comment of requester' })),
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
