/** Bulk upload, export and template shapes, and Beta's older ones. */
import { Type } from '@sinclair/typebox';
import { DateTime, PathId } from '../../http/nelm-schemas.js';
import { Count, Limit, Offset } from '../../collections/paging.js';

export const JOB_STATUSES = ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'ERROR'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const STATUS_TEXT =
  'Returns the following values indicating the progress or result of the bulk upload job.\n' +
  '"PENDING" means the job is queued and waiting to be processed.\n' +
  '"IN_PROGRESS" means the job is currently being processed.\n' +
  '"COMPLETED" means the job has been completed without any errors.\n' +
  '"ERROR" means the job failed to process with errors.';

const Status = () => Type.Unsafe<JobStatus>({ type: 'string', enum: [...JOB_STATUSES], description: STATUS_TEXT });
const StatusOrNull = () => Type.Unsafe<JobStatus | null>({ type: ['string', 'null'], enum: [...JOB_STATUSES, null], description: STATUS_TEXT });

const jobFields = {
  id: Type.String({ description: "The bulk upload job's ID. (UUID)", example: '019ac2f4-6a1e-7b3c-9d2e-4f5a6b7c8d9e' }),
  sourceId: Type.String({ description: 'The ID of the source to bulk-upload non-employees to. (UUID)', example: '2c91808568c529c60168cca6f90c1313' }),
  created: DateTime('The date-time the job was submitted.'),
  modified: DateTime('The date-time that the job was last updated.'),
  status: Status(),
};

export const NonEmployeeBulkUploadJob = Type.Object(jobFields, { title: 'NonEmployeeBulkUploadJob' });

/** `status` is null while the source has no upload job (the spec's text: "null means …"). */
export const NonEmployeeBulkUploadStatus = Type.Object({ status: StatusOrNull() }, { title: 'NonEmployeeBulkUploadStatus' });

const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const count = (description: string) => Type.Integer({ minimum: 0, description });

/** The job as the extension endpoints show it: SailPoint's fields, then what happened. */
export const BulkUploadJobDetail = Type.Object(
  {
    ...jobFields,
    fileName: nullable(Type.String({ description: 'The name of the uploaded file, when it was sent as a file.' })),
    fileSize: count('Size of the uploaded CSV in bytes.'),
    rows: count('Data rows in the file (header and empty lines not counted).'),
    counts: Type.Object(
      {
        created: count('Records the job created.'),
        updated: count('Records the job changed.'),
        unchanged: count('Rows equal to their record: nothing written.'),
        failed: count('Invalid rows. Any invalid row fails the whole job and nothing is written.'),
      },
      { description: 'Row counts, set when the job ends.' },
    ),
    errorCount: count('Problems found (GET …/jobs/{jobId}/errors lists them).'),
    message: nullable(Type.String({ description: 'Why the job ended in ERROR, or a summary.' })),
    started: nullable(DateTime('When a worker last started the job.')),
    finished: nullable(DateTime('When the job ended.')),
  },
  { title: 'NelmBulkUploadJobDetail' },
);

/** Documentation of the multipart body; Fastify validates nothing of a multipart request. */
export const BulkUploadBody = Type.Unsafe<unknown>({
  properties: {
    data: {
      type: 'string',
      format: 'binary',
      description: 'The CSV file (a file part, or a plain text field). Its header row names the columns: see the schema template.',
    },
  },
  required: ['data'],
});

export const SourceParams = Type.Object({ sourceId: PathId('Source Id (UUID)') });
export const JobParams = Type.Object({ sourceId: PathId('Source Id (UUID)'), jobId: PathId('Bulk upload job id') });
export const ListJobsQuery = Type.Object({ limit: Limit, offset: Offset, count: Count });

/** The CSV responses: documented as strings, sent as text/csv. */
export const CsvBody = (description: string) => Type.String({ description });
