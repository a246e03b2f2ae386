/**
 * Record dates (startDate, endDate) in every form SailPoint's docs use. A date keeps the offset
 * the client wrote it with: it comes back as the same local date-time and offset
 * (`2020-03-24T00:00:00-05:00`), with seconds always and a fraction only when it is not zero. The
 * database keeps the instant (UTC, what filters and sorters compare) and, beside it, the offset.
 *
 * Accepted (T and Z may be lower case):
 * - `2020-03-24`                      a plain date: midnight UTC (`2020-03-24T00:00:00Z`);
 * - `2020-03-24T00:00-05:00`          hours and minutes, with an offset;
 * - `2020-03-24T00:00:00-05:00`       with seconds (`+0530` and `+05` offsets work too, and
 *                                     come back as `+05:30` and `+05:00`);
 * - `2019-08-23T18:52:59.162Z`        with a fraction (up to 9 digits, kept to milliseconds);
 * - any of the above without an offset: taken as UTC (`Z`).
 *
 * Every field is range-checked (2020-02-30, 24:00 and offsets past ±18:00 are refused), and the
 * UTC result must fall within years 1900 to 9999: a fixed-width form that sorts as text, which
 * SQLite relies on to compare stored dates.
 */

export const DATE_RANGE = { minYear: 1900, maxYear: 9999 } as const;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

const outOfRange = `must fall within the years ${DATE_RANGE.minYear} to ${DATE_RANGE.maxYear} (UTC)`;

/** `iso`: the instant in UTC (`toISOString()`); `text`: the date as it is returned; `zone`: `Z` or `±HH:MM`. */
export type DateParse = { ok: true; iso: string; text: string; zone: string } | { ok: false; reason: string };

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses a record date; on failure says why, in words that fit after the field name. */
export function parseRecordDate(text: string): DateParse {
  const m = DATE_RE.exec(text.trim());
  if (!m) {
    return { ok: false, reason: 'must be an ISO 8601 date or date-time, such as 2020-03-24 or 2020-03-24T00:00:00-05:00' };
  }
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const millis = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  // Date.UTC reads years 0 to 99 as 1900 to 1999: such years are out of range anyway.
  if (year < DATE_RANGE.minYear - 1) return { ok: false, reason: outOfRange };
  if (month < 1 || month > 12) return { ok: false, reason: `has no month ${m[2]}` };
  if (day < 1 || day > daysInMonth(year, month)) return { ok: false, reason: `is not a calendar date: ${m[1]}-${m[2]} has no day ${m[3]}` };
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, reason: 'has a time of day out of range' };
  let offsetMinutes = 0;
  let zone = 'Z';
  if (m[9]) {
    const [oh, om] = [Number(m[10]), Number(m[11] ?? 0)];
    if (oh > 18 || om > 59 || (oh === 18 && om > 0)) return { ok: false, reason: 'has a UTC offset out of range (at most ±18:00)' };
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
    zone = `${m[9]}${m[10]}:${m[11] ?? '00'}`;
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  const date = new Date(utc);
  const y = date.getUTCFullYear();
  if (y < DATE_RANGE.minYear || y > DATE_RANGE.maxYear) {
    return { ok: false, reason: outOfRange };
  }
  const iso = date.toISOString();
  return { ok: true, iso, text: renderRecordDate(iso, zone), zone };
}

/** Minutes east of UTC of a zone written `Z` or `±HH:MM`. */
function offsetOf(zone: string): number {
  if (zone === 'Z') return 0;
  return (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
}

/**
 * The instant `iso` (UTC) as the local date-time of `zone` followed by the zone: seconds always,
 * milliseconds only when not zero.
 */
export function renderRecordDate(iso: string, zone: string): string {
  const local = zone === 'Z' ? iso : new Date(Date.parse(iso) + offsetOf(zone) * 60_000).toISOString();
  const millis = local.slice(19, 23);
  return `${local.slice(0, 19)}${millis === '.000' ? '' : millis}${zone}`;
}

const RENDERED_ZONE = /(?:Z|[+-]\d\d:\d\d)$/;

/**
 * The instant (UTC) and zone of a date as `renderRecordDate` writes it (what validation returns),
 * without validating it again: every record write goes through here.
 */
export function splitRecordDate(text: string): { instant: string; zone: string } {
  const zone = RENDERED_ZONE.exec(text)?.[0];
  const time = Date.parse(text);
  if (zone === undefined || Number.isNaN(time)) throw new Error(`not a record date: ${text}`);
  return { instant: new Date(time).toISOString(), zone };
}

/** The normalised form of a valid date, or undefined. */
export function normalizeRecordDate(text: string): string | undefined {
  const parsed = parseRecordDate(text);
  return parsed.ok ? parsed.iso : undefined;
}
