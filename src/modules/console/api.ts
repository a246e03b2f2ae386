/**
 * The console's own reads, under `/console/api/` in the API scope (a session or a token), each
 * narrow and under the same rules as the API:
 * - `GET /console/api/identities?search=`: identities to pick (a manager, an approver), id, alias,
 *   name and email only, for anyone signed in;
 * - `GET /console/api/workgroups?search=`: governance groups to pick (an approver, an account
 *   manager), id and name only, for anyone signed in;
 * - `GET /console/api/people?ids=`: the names of the identities and governance groups a source or a
 *   group names, for anyone signed in (unknown ids are left out);
 * - `GET /console/api/records/{id}/history`: a record's audit events, and what the caller may
 *   change of it, for whoever may read the record (`idn:nesr:read`, its source's owner or account
 *   managers; 403 otherwise, 404 for an unknown record).
 */
import { ID_PATTERN, normalizeId } from '../../domain/ids.js';
import { fail } from '../../errors/api-error.js';
import { type Route, route } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import type { Services } from '../../services.js';
import { quoteFilterValue } from './filters.js';
import {
  IdentityMatch,
  IdentitySearchQuery,
  PeopleQuery,
  Person,
  RecordHistory,
  RecordHistoryParams,
  RecordHistoryQuery,
  WorkgroupMatch,
  WorkgroupSearchQuery,
} from './schemas.js';
import { Type } from '@sinclair/typebox';

const tag = 'Console';
const ID = new RegExp(ID_PATTERN);

export function consoleApiRoutes({ directory, records, events }: Services): Route[] {
  return [
    route({
      id: 'searchIdentities',
      method: 'GET',
      url: '/console/api/identities',
      tag,
      summary: 'Identities whose alias, name or email holds the search text (id, alias, name, email): picking a manager or an approver',
      schema: { querystring: IdentitySearchQuery, response: { 200: Type.Array(IdentityMatch), ...ErrorResponses } },
      handler: async (request) => {
        const principal = principalOf(request);
        const found = await directory.searchIdentities(principal.tenantId, request.query.search.trim(), request.query.limit);
        return found.map(({ id, alias, name, email }) => ({ id, alias, name, email }));
      },
    }),
    route({
      id: 'searchWorkgroups',
      method: 'GET',
      url: '/console/api/workgroups',
      tag,
      summary: 'Governance groups whose name holds the search text (id, name): picking an approver or an account manager',
      schema: { querystring: WorkgroupSearchQuery, response: { 200: Type.Array(WorkgroupMatch), ...ErrorResponses } },
      handler: async (request) => directory.searchWorkgroups(principalOf(request).tenantId, request.query.search.trim(), request.query.limit),
    }),
    route({
      id: 'getPeople',
      method: 'GET',
      url: '/console/api/people',
      tag,
      summary: 'The names of identities and governance groups by id (unknown ids are left out)',
      schema: { querystring: PeopleQuery, response: { 200: Type.Array(Person), ...ErrorResponses } },
      handler: async (request) => {
        const ids = request.query.ids.split(',').map((id) => id.trim());
        if (ids.length > 50 || ids.some((id) => !ID.test(id))) throw fail.invalid([{ field: 'ids', text: 'ids must be up to 50 ids separated by commas' }]);
        const { identities, groups } = await directory.people(principalOf(request).tenantId, [...new Set(ids.map(normalizeId))]);
        return [
          ...identities.map(({ id, alias, name }) => ({ id, type: 'IDENTITY' as const, name: name?.trim() || alias, alias })),
          ...groups.map(({ id, name }) => ({ id, type: 'GOVERNANCE_GROUP' as const, name, alias: null })),
        ];
      },
    }),
    route({
      id: 'getRecordHistory',
      method: 'GET',
      url: '/console/api/records/:id/history',
      tag,
      summary: "A record's audit events, newest first, and what the caller may change of it (for whoever may read the record)",
      schema: { params: RecordHistoryParams, querystring: RecordHistoryQuery, response: { 200: RecordHistory, ...ErrorResponses } },
      handler: async (request) => {
        const principal = principalOf(request);
        const record = await records.get(principal, normalizeId(request.params.id));
        const editable = await records.editable(principal, record);
        const { limit, offset } = request.query;
        const page = await events.list(principal.tenantId, {
          filters: `targetId eq ${quoteFilterValue(record.id)}`,
          sorters: '-time',
          limit,
          offset,
          count: true,
        });
        return {
          editable,
          total: page.total ?? page.events.length,
          events: page.events.map((event) => ({ ...event, data: JSON.parse(event.data) as Record<string, unknown> })),
        };
      },
    }),
  ];
}
