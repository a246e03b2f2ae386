/** Objects the HTTP tests make again and again, made one way: sources, attributes, groups, request bodies. */
import assert from 'node:assert/strict';
import type { Harness } from './app.js';

/** Who a source names, by identity or governance-group id. */
export interface SourceMembers {
  approvers?: string[];
  accountManagers?: string[];
}

export interface SourceMember {
  type: 'IDENTITY' | 'GOVERNANCE_GROUP';
  id: string;
}

/** A NonEmployeeSource as the API answers it (the fields the tests read). */
export interface SourceJson {
  id: string;
  sourceId: string;
  name: string;
  description: string;
  approvers: SourceMember[];
  accountManagers: SourceMember[];
  nonEmployeeCount?: number | null;
  cloudExternalId?: string;
  created: string;
  modified: string;
}

export function sourceBody(name: string, ownerId: string, members: SourceMembers = {}) {
  return {
    name,
    description: `${name} description`,
    owner: { id: ownerId },
    approvers: (members.approvers ?? []).map((id) => ({ id })),
    accountManagers: (members.accountManagers ?? []).map((id) => ({ id })),
  };
}

/** Creates a source as the org admin (200 asserted); the source as answered. */
export async function createSourceJson(h: Harness, name: string, ownerId: string, members: SourceMembers = {}): Promise<SourceJson> {
  const res = await h.request('POST', '/v2024/non-employee-sources', h.admin.token, sourceBody(name, ownerId, members));
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/** Creates a source as the org admin (200 asserted); its id. */
export async function createSource(h: Harness, name: string, ownerId: string, members: SourceMembers = {}): Promise<string> {
  return (await createSourceJson(h, name, ownerId, members)).id;
}

/** Adds a custom TEXT attribute to a source (200 asserted); its id. */
export async function addAttribute(h: Harness, sourceId: string, technicalName: string, required = false): Promise<string> {
  const res = await h.request('POST', `/v2024/non-employee-sources/${sourceId}/schema-attributes`, h.admin.token, {
    type: 'TEXT',
    label: technicalName,
    technicalName,
    required,
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().id;
}

/** Creates a governance group (200 asserted); its id. */
export async function createGroup(h: Harness, name: string, members: string[]): Promise<string> {
  const res = await h.request('POST', '/admin/v1/workgroups', h.admin.token, { name, members });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().id;
}

/** An identity that never calls the API: no API client, no token (cheaper than h.caller); its id. */
export async function identityId(h: Harness, alias: string): Promise<string> {
  return (await h.app.services.directory.createIdentity(h.config.tenant, { alias, name: alias })).id;
}

/** A NonEmployeeRequestBody (records and requests take the same), managed by `jane.doe`. */
export function recordBody(sourceId: string, accountName: string, over: Record<string, unknown> = {}) {
  return {
    accountName,
    firstName: 'William',
    lastName: 'Smith',
    email: `${accountName}@example.com`,
    phone: '5125555555',
    manager: 'jane.doe',
    sourceId,
    startDate: '2020-03-24T00:00:00-05:00',
    endDate: '2021-03-25T00:00:00-05:00',
    ...over,
  };
}
