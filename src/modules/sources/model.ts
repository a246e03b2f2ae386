/** A non-employee source, and the mapping of its rows. */
import type { SourceTable } from '../../db/types.js';
import type { Member } from '../directory/model.js';

export interface Source {
  id: string;
  /** The ISC source id paired with this non-employee source (`sourceId` on the wire). */
  iscSourceId: string;
  name: string;
  description: string;
  ownerId: string;
  managementWorkgroup: string | null;
  cloudExternalId: string;
  recordCount: number;
  /** In order: level 1 first. */
  approvers: Member[];
  accountManagers: Member[];
  created: string;
  modified: string;
}

export function toSource(row: SourceTable, members: { approvers: Member[]; accountManagers: Member[] }): Source {
  return {
    id: row.id,
    iscSourceId: row.isc_source_id,
    name: row.name,
    description: row.description,
    ownerId: row.owner_id,
    managementWorkgroup: row.management_workgroup,
    cloudExternalId: row.cloud_external_id,
    recordCount: Number(row.record_count),
    approvers: members.approvers,
    accountManagers: members.accountManagers,
    created: row.created,
    modified: row.modified,
  };
}
