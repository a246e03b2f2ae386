/**
 * Object ids are 32 lowercase hex characters, like SailPoint's. Clients may also send the dashed
 * UUID form (the spec's bulk-delete example does); both name the same object.
 */
export const ID_PATTERN = '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$';
const ID_REGEX = new RegExp(ID_PATTERN);

export function isId(value: string): boolean {
  return ID_REGEX.test(value);
}

export function normalizeId(value: string): string {
  return value.replaceAll('-', '').toLowerCase();
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Now, or 1 ms after `previous` if now is not later: a `modified` that tells every write apart. */
export function laterThan(previous: string): string {
  const now = nowIso();
  return now > previous ? now : new Date(Date.parse(previous) + 1).toISOString();
}
