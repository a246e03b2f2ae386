/** How config.ts reads one variable's value: each problem goes to `problems`, worded for the operator. */

/** A whole number between `min` and `max`; `fallback` when unset. */
export function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number, problems: string[]): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${name} must be a whole number, got '${raw}'`);
    return fallback;
  }
  const value = Number(raw);
  if (value < min || value > max) problems.push(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** `true` or `false` (any case); false when unset. */
export function flag(name: string, raw: string | undefined, problems: string[]): boolean {
  const text = raw?.trim().toLowerCase() || 'false';
  if (text !== 'true' && text !== 'false') problems.push(`${name} must be 'true' or 'false', got '${raw}'`);
  return text === 'true';
}
