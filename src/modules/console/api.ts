/**
 * The console's own reads, under `/console/api/` in the API scope (a session or a token), each
 * narrow and under the same rules as the API:
 * - `GET /console/api/identities?search=`: identities to pick (a manager, an approver), id, alias,
 *   name and email only, for anyone signed in;
 * - `GET /console/api/records/{id}/history`: a record's audit events, and what the caller may
 *   change of it, for whoever may read the record (`idn:nesr:read`, its source's owner or account
 *   managers; 403 otherwise, 404 for an unknown record).
 */
import { normalizeId } from '../../domain/ids.js';
import { type Route, route } from '../../http/operation.js';
import { ErrorResponses } from '../../http/shared-schemas.js';
import { principalOf } from '../../plugins/auth.js';
import type { Services } from '../../services.js';
import { quoteFilterValue } from './filters.js';
import { IdentityMatch, IdentitySearchQuery, RecordHistory, RecordHistoryParams, RecordHistoryQuery } from './schemas.js';
import { Type } from '@sinclair/typebox';

const tag = 'Console';

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
