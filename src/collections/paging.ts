/**
 * The V3 standard collection parameters as TypeBox querystring pieces (SailPoint's "V3 API Standard Collection Parameters"), shared by
 * every list endpoint. Descriptions follow the upstream spec's wording.
 *
 * `Sorters` and `Filters` are plain strings here; each endpoint should wrap them with its own
 * description naming its sortable/filterable fields (e.g. `Type.String({ description: ... })`),
 * and parse them with `parseSorters` / `parseFilter`.
 */
import { Type } from '@sinclair/typebox';

const SEE_ALSO = 'See [V3 API Standard Collection Parameters](https://developer.sailpoint.com/idn/api/standard-collection-parameters) for more information.';

export const MAX_LIMIT = 250;
/** `offset` is an int32 in the spec; a larger one is a 400, not a number the database overflows on. */
export const MAX_OFFSET = 2_147_483_647;

export const Limit = Type.Integer({
  minimum: 0,
  maximum: MAX_LIMIT,
  default: MAX_LIMIT,
  description: `Max number of results to return.\n${SEE_ALSO}`,
  example: MAX_LIMIT,
});

export const Offset = Type.Integer({
  minimum: 0,
  maximum: MAX_OFFSET,
  default: 0,
  description: `Offset into the full result set. Usually specified with *limit* to paginate through the results.\n${SEE_ALSO}`,
  example: 0,
});

export const Count = Type.Boolean({
  default: false,
  description:
    'If *true* it will populate the *X-Total-Count* response header with the number of results that would be returned if *limit* and *offset* were ignored.\n\n' +
    'Since requesting a total count can have a performance impact, it is recommended not to send **count=true** if that value will not be used.\n\n' +
    SEE_ALSO,
  example: true,
});

export const Sorters = Type.String({
  description:
    'Sort results using the standard syntax described in [V3 API Standard Collection Parameters](https://developer.sailpoint.com/idn/api/standard-collection-parameters#sorting-results): ' +
    'a comma-separated list of fields, each optionally prefixed with `-` for descending order.',
});

export const Filters = Type.String({
  description:
    'Filter results using the standard syntax described in [V3 API Standard Collection Parameters](https://developer.sailpoint.com/idn/api/standard-collection-parameters#filtering-results).',
});

/** limit, offset and count: spread into an endpoint's querystring `Type.Object({...})`. */
export const CollectionQuery = { limit: Limit, offset: Offset, count: Count };
