/** The id shapes the API answers with, and the other spelling of an id that names the same object. */

/** Sources, records, requests, approval items, schema attributes, bulk jobs: RFC 9562 version 7. */
export const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Identities, API clients, governance groups, a source's ISC `sourceId`, tracking ids. */
export const HEX32 = /^[0-9a-f]{32}$/;

/** The dashed form of a 32-hex id, or the 32-hex form of a dashed one; upper case either way. */
export function otherSpelling(id: string): string {
  const hex = id.replaceAll('-', '');
  const other = id.includes('-') ? hex : `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return other.toUpperCase();
}
