/** Non-employee record shapes. NonEmployeeRequestBody is shared with requests. */
import { Type, type Static } from '@sinclair/typebox';
import { DateTime, PathId } from '../../http/nelm-schemas.js';
import { Count, Limit, Offset } from '../../collections/paging.js';
import { ID_PATTERN } from '../../domain/ids.js';

/** Maximum lengths of a record's values, in characters, after trimming. */
export const RECORD_LIMITS = { text: 255, email: 254, dataValue: 1024 } as const;

/** The most ids one bulk delete may name. */
export const BULK_DELETE_MAX_IDS = 1000;

const text = (description: string, example: string, maxLength: number = RECORD_LIMITS.text) => Type.String({ maxLength, description, example });
// No `format` on request strings: the body validator knows no formats (and the plain-date form
// must pass); the dates are checked by records/dates.ts.
const date = (description: string, example: string) =>
  Type.String({ maxLength: 64, description: `${description} ISO 8601: a date-time with or without an offset, or a plain date (midnight UTC).`, example });
const data = Type.Object(
  {},
  {
    additionalProperties: Type.String({ maxLength: RECORD_LIMITS.dataValue }),
    maxProperties: 10,
    description: 'Additional attributes for a non-employee. Up to 10 custom attributes can be added.',
    example: { description: 'Auditing' },
  },
);

const bodyFields = {
  accountName: text('Requested identity account name.', 'william.smith'),
  firstName: text("Non-Employee's first name.", 'William'),
  lastName: text("Non-Employee's last name.", 'Smith'),
  email: text("Non-Employee's email.", 'william.smith@example.com', RECORD_LIMITS.email),
  phone: text("Non-Employee's phone.", '5125555555'),
  manager: text("The account ID of a valid identity to serve as this non-employee's manager.", 'jane.doe'),
  sourceId: Type.String({ maxLength: 64, description: "Non-Employee's source id.", example: '2c91808568c529c60168cca6f90c1313' }),
  data: Type.Optional(data),
  startDate: date('Non-Employee employment start date.', '2020-03-24T00:00:00-05:00'),
  endDate: date('Non-Employee employment end date.', '2021-03-25T00:00:00-05:00'),
};

/**
 * Create or replace a record (and create a request). Unknown fields are dropped, so a record read
 * with GET (id, created, modified) can be sent back with PUT.
 */
export const NonEmployeeRequestBody = Type.Object(bodyFields, { additionalProperties: false, title: 'NonEmployeeRequestBody' });
export type NonEmployeeRequestBody = Static<typeof NonEmployeeRequestBody>;

export const NonEmployeeRecord = Type.Object(
  {
    id: Type.String({ description: 'Non-Employee record id.', example: 'ef38f94347e94562b5bb8424a56397d8' }),
    accountName: Type.String({ description: 'Requested identity account name.' }),
    firstName: Type.String({ description: "Non-Employee's first name." }),
    lastName: Type.String({ description: "Non-Employee's last name." }),
    email: Type.String({ description: "Non-Employee's email." }),
    phone: Type.String({ description: "Non-Employee's phone." }),
    manager: Type.String({ description: "The account ID of a valid identity to serve as this non-employee's manager." }),
    sourceId: Type.String({ description: "Non-Employee's source id." }),
    data: Type.Object(
      {},
      { additionalProperties: Type.String(), description: 'Additional attributes for a non-employee. Up to 10 custom attributes can be added.' },
    ),
    startDate: DateTime('Non-Employee employment start date.'),
    endDate: DateTime('Non-Employee employment end date.'),
    modified: DateTime('When the request was last modified.'),
    created: DateTime('When the request was created.'),
  },
  { title: 'NonEmployeeRecord' },
);

export const RecordIdParams = Type.Object({ id: PathId('Non-Employee record id (UUID)') });

export const ListRecordsQuery = Type.Object({
  limit: Limit,
  offset: Offset,
  count: Count,
  sorters: Type.Optional(
    Type.String({
      maxLength: 1024,
      description:
        'Sort results using the standard syntax. Sorting is supported for the following fields: **id, accountName, sourceId, manager, firstName, lastName, email, phone, startDate, endDate, created, modified**. ' +
        'Without sorters, records come in creation order (`created`, then `id`).',
    }),
  ),
  filters: Type.Optional(
    Type.String({
      maxLength: 4096,
      description:
        'Filter results using the standard syntax. Filtering is supported for the following fields and operators: **sourceId**: *eq*, *in*. ' +
        'Extensions: **accountName, email, manager, firstName, lastName**: *eq, sw, co, in*; **startDate, endDate, created, modified**: *gt, ge, lt, le*; combined with *and*, *or*, *not* and parentheses.',
      example: 'sourceId eq "2c91808568c529c60168cca6f90c1313"',
    }),
  ),
});

export const BulkDeleteBody = Type.Object(
  {
    ids: Type.Array(Type.String({ pattern: ID_PATTERN }), {
      maxItems: BULK_DELETE_MAX_IDS,
      description: `List of non-employee ids (32 hex characters or dashed UUIDs), at most ${BULK_DELETE_MAX_IDS}. All are deleted, or none when any is unknown.`,
      example: ['2b838de9-db9b-abcf-e646-d4f274ad4238', '2d838de9-db9b-abcf-e646-d4f274ad4238'],
    }),
  },
  { additionalProperties: false, title: 'DeleteNonEmployeeRecordsInBulkRequest' },
);
