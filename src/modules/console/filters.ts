/** A value inside a filter expression: double-quoted, `"` and `\` escaped (collections/filter.ts). */
export function quoteFilterValue(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
