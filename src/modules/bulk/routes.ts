/**
 * Bulk upload, export and template, and the job extension endpoints: HTTP in,
 * service call, DTO (or CSV) out. The upload's `data` part is accepted as a file part or as a plain
 * text field (the official SDK sends a string that way); it is checked as it arrives (upload.ts).
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import { operation, type Operation } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import { ApiError, DetailCode, fail, RetryLaterError } from '../../errors/api-error.js';
import type { BulkJob } from './model.js';
import { MAX_UPLOAD_BYTES, type Upload } from './service.js';
import { ReceivedFile, receiveStream, receiveText } from './upload.js';
import {
  BulkUploadBody,
  BulkUploadJobDetail,
  CsvBody,
  JobParams,
  ListJobsQuery,
  NonEmployeeBulkUploadJob,
  NonEmployeeBulkUploadStatus,
  SourceParams,
} from './schemas.js';

function jobDto(job: BulkJob) {
  return { id: job.id, sourceId: job.sourceId, created: job.created, modified: job.modified, status: job.status };
}

function jobDetailDto(job: BulkJob) {
  return {
    ...jobDto(job),
    fileName: job.fileName,
    fileSize: job.fileSize,
    rows: job.rows,
    counts: job.counts,
    errorCount: job.errorCount,
    message: job.message,
    started: job.started,
    finished: job.finished,
  };
}

/**
 * An upload refused for want of room (429: the caller's upload or too many are being received;
 * 400: a cap of the queue) is answered after this pause, the second its `Retry-After` asks for: a
 * client that sends its next upload as soon as it is answered sends one a second per connection,
 * and a flood of them costs a timer each instead of a stream of requests and answers. At most
 * PAUSED_AT_ONCE answers wait at a time; past them, refusals are answered at once.
 */
const REFUSAL_PAUSE_MS = 1000;
const PAUSED_AT_ONCE = 256;
let paused = 0;

async function refusedAfterPause(error: unknown): Promise<never> {
  const full = error instanceof RetryLaterError || (error instanceof ApiError && error.detailCode === DetailCode.limitViolation);
  if (full && paused < PAUSED_AT_ONCE) {
    paused++;
    try {
      await sleep(REFUSAL_PAUSE_MS);
    } finally {
      paused--;
    }
  }
  throw error;
}

/** The `data` part of a multipart request; undefined when there is none. */
async function readUpload(request: FastifyRequest): Promise<Upload | undefined> {
  if (!request.isMultipart()) return undefined;
  try {
    return await readParts(request);
  } catch (error) {
    // The plugin's own errors (limits) carry a code the error handler knows; the parser's do not.
    if (error instanceof ApiError || (error as { code?: string }).code?.startsWith('FST_')) throw error;
    throw fail.invalid([{ field: 'body', text: `the multipart/form-data body is malformed: ${(error as Error).message}` }]);
  }
}

async function readParts(request: FastifyRequest): Promise<Upload | undefined> {
  let upload: Upload | undefined;
  // throwFileSizeLimit (honoured, not typed): a cut file is reported below, naming the cap.
  const options = { throwFileSizeLimit: false, limits: { fileSize: MAX_UPLOAD_BYTES, fieldSize: MAX_UPLOAD_BYTES, files: 1, fields: 20, parts: 21 } };
  const parts = request.parts(options as Parameters<FastifyRequest['parts']>[0]);
  for await (const part of parts) {
    if (part.fieldname !== 'data') {
      if (part.type === 'file') part.file.resume();
      continue;
    }
    if (upload) throw fail.invalid([{ field: 'data', text: 'data must be given once' }]);
    const file = new ReceivedFile();
    if (part.type === 'file') {
      await receiveStream(part.file, file);
      upload = { file, fileName: part.filename || null, mediaType: part.mimetype || null, truncated: part.file.truncated };
    } else {
      await receiveText(typeof part.value === 'string' ? part.value : String(part.value ?? ''), file);
      upload = { file, fileName: null, mediaType: null, truncated: part.valueTruncated };
    }
  }
  return upload;
}

function sendCsv(reply: FastifyReply, fileName: string, body: string | Readable) {
  return reply.header('Content-Type', 'text/csv; charset=utf-8').header('Content-Disposition', `attachment; filename="${fileName}"`).send(body);
}

const resource = 'non-employee-sources';
const wireParamNames = { sourceId: 'id' };

export function bulkOperations({ bulk }: Services): Operation[] {
  return [
    operation({
      id: 'exportNonEmployeeRecords',
      betaId: 'getNonEmployeeExportRecords',
      method: 'GET',
      resource,
      path: '/:sourceId/non-employees/download',
      wireParamNames,
      summary: 'Exports non-employee records to csv',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      produces: ['text/csv'],
      schema: { params: SourceParams, response: { 200: CsvBody('Every record of the source, under the schema template header.'), ...ErrorResponses } },
      handler: async (request, reply) => {
        const { fileName, lines } = await bulk.export(principalOf(request), request.params.sourceId);
        return sendCsv(reply, fileName, Readable.from(lines));
      },
    }),
    operation({
      id: 'importNonEmployeeRecordsInBulk',
      method: 'POST',
      resource,
      path: '/:sourceId/non-employee-bulk-upload',
      wireParamNames,
      summary: 'Imports, or updates, non-employee records',
      scope: 'idn:nelm:manage',
      right: 'idn:nesr:create',
      consumes: ['multipart/form-data'],
      schema: { params: SourceParams, body: BulkUploadBody, response: { 202: NonEmployeeBulkUploadJob, ...ErrorResponses } },
      handler: async (request, reply) => {
        const principal = principalOf(request);
        const release = await bulk.admit(principal, request.params.sourceId).catch(refusedAfterPause);
        try {
          const job = await bulk.submit(principal, request.params.sourceId, await readUpload(request));
          return reply.code(202).send(jobDto(job));
        } finally {
          release();
        }
      },
    }),
    operation({
      id: 'getNonEmployeeBulkUploadStatus',
      method: 'GET',
      resource,
      path: '/:sourceId/non-employee-bulk-upload/status',
      wireParamNames,
      summary: 'Obtain the status of bulk upload on the source',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      schema: { params: SourceParams, response: { 200: NonEmployeeBulkUploadStatus, ...ErrorResponses } },
      handler: async (request) => bulk.status(principalOf(request), request.params.sourceId),
    }),
    operation({
      id: 'exportNonEmployeeSourceSchemaTemplate',
      betaId: 'getNonEmployeeExportSourceSchemaTemplate',
      method: 'GET',
      resource,
      path: '/:sourceId/schema-attributes-template/download',
      wireParamNames,
      summary: 'Exports source schema template',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      produces: ['text/csv'],
      schema: { params: SourceParams, response: { 200: CsvBody('The header row of the source: system attributes, then custom ones.'), ...ErrorResponses } },
      handler: async (request, reply) => {
        const { fileName, csv } = await bulk.template(principalOf(request), request.params.sourceId);
        return sendCsv(reply, fileName, csv);
      },
    }),
    operation({
      id: 'listNonEmployeeBulkUploadJobs',
      method: 'GET',
      resource,
      path: '/:sourceId/non-employee-bulk-upload/jobs',
      wireParamNames,
      summary: "List the source's bulk upload jobs, newest first (extension)",
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      extension: true,
      schema: { params: SourceParams, querystring: ListJobsQuery, response: { 200: Type.Array(BulkUploadJobDetail), ...ErrorResponses } },
      handler: async (request, reply) => {
        const { limit, offset, count } = request.query;
        const { jobs, total } = await bulk.jobs(principalOf(request), request.params.sourceId, { limit, offset, count });
        if (total !== undefined) reply.header('X-Total-Count', total);
        return jobs.map(jobDetailDto);
      },
    }),
    operation({
      id: 'getNonEmployeeBulkUploadJob',
      method: 'GET',
      resource,
      path: '/:sourceId/non-employee-bulk-upload/jobs/:jobId',
      wireParamNames,
      summary: 'Get a bulk upload job, with its row counts (extension)',
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      extension: true,
      schema: { params: JobParams, response: { 200: BulkUploadJobDetail, ...ErrorResponses } },
      handler: async (request) => jobDetailDto(await bulk.job(principalOf(request), request.params.sourceId, request.params.jobId)),
    }),
    operation({
      id: 'exportNonEmployeeBulkUploadJobErrors',
      method: 'GET',
      resource,
      path: '/:sourceId/non-employee-bulk-upload/jobs/:jobId/errors',
      wireParamNames,
      summary: "A bulk upload job's problems as CSV: line, column, value, message (extension)",
      scope: 'idn:nelm:read',
      right: 'idn:nesr:read',
      extension: true,
      produces: ['text/csv'],
      schema: { params: JobParams, response: { 200: CsvBody('One line per problem: line, column, value, message.'), ...ErrorResponses } },
      handler: async (request, reply) => {
        const { fileName, csv } = await bulk.jobErrors(principalOf(request), request.params.sourceId, request.params.jobId);
        return sendCsv(reply, fileName, csv);
      },
    }),
  ];
}
