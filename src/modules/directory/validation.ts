/** Checks of the directory's text fields. */
import { controlCharacterProblem, type TextKind } from '../../domain/text.js';
import { type Cause, fail } from '../../errors/api-error.js';

/**
 * A 400 with a cause for each field holding a control character its kind does not allow
 * (src/domain/text.ts): names, aliases, addresses and client ids are single lines, a governance
 * group's description may span lines.
 */
export function refuseControlCharacters(fields: Record<string, string | null | undefined>, multiLine: readonly string[] = []): void {
  const causes: Cause[] = Object.entries(fields).flatMap(([field, value]) => {
    const kind: TextKind = multiLine.includes(field) ? 'multi-line' : 'single-line';
    const problem = typeof value === 'string' ? controlCharacterProblem(field, value, kind) : undefined;
    return problem === undefined ? [] : [{ field, text: problem }];
  });
  if (causes.length > 0) throw fail.invalid(causes);
}
