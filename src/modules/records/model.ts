/**
 * A non-employee record: its type is the NonEmployeeRecord response schema's (schemas.ts), and
 * this is the one mapping between it and its row.
 */
import type { Static } from '@sinclair/typebox';
import type { RecordTable } from '../../db/types.js';
import { renderRecordDate, splitRecordDate } from './dates.js';
import type { NonEmployeeRecord as RecordSchema } from './schemas.js';

/** Custom attributes by technical name. */
export type RecordData = Record<string, string>;

export type NonEmployeeRecord = Omit<Static<typeof RecordSchema>, 'data'> & { data: RecordData };

/** What a client writes of a record, validated and normalised (validation.ts). */
export type NormalisedRecord = Omit<NonEmployeeRecord, 'id' | 'created' | 'modified'>;

export function toRecord(row: RecordTable): NonEmployeeRecord {
  return {
    id: row.id,
    accountName: row.account_name,
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    phone: row.phone,
    manager: row.manager,
    sourceId: row.source_id,
    data: JSON.parse(row.data) as RecordData,
    startDate: renderRecordDate(row.start_date, row.start_zone),
    endDate: renderRecordDate(row.end_date, row.end_zone),
    modified: row.modified,
    created: row.created,
  };
}

export function toRow(tenantId: string, r: NonEmployeeRecord): RecordTable {
  const start = splitRecordDate(r.startDate);
  const end = splitRecordDate(r.endDate);
  return {
    tenant_id: tenantId,
    id: r.id,
    source_id: r.sourceId,
    account_name: r.accountName,
    first_name: r.firstName,
    last_name: r.lastName,
    email: r.email,
    phone: r.phone,
    manager: r.manager,
    start_date: start.instant,
    end_date: end.instant,
    start_zone: start.zone,
    end_zone: end.zone,
    data: JSON.stringify(r.data),
    created: r.created,
    modified: r.modified,
  };
}

/** The record without what the server sets (id, created, modified). */
export function normalisedOf(record: NonEmployeeRecord): NormalisedRecord {
  const { id: _id, created: _created, modified: _modified, ...rest } = record;
  return rest;
}
