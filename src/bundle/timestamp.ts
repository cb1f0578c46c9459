/**
 * Strict timestamps. `Date.parse` rolls impossible dates over (`2026-02-31` becomes March 3rd,
 * `24:00:00` the next day), so a bundle could carry a date that does not exist and still verify.
 * These parsers accept a time only when every field is in range and the calendar has that day.
 */
const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/** Milliseconds since the epoch of an RFC 3339 timestamp, or undefined when it is not one (or not a real date). */
export function parseRfc3339(text: string, options: { utcOnly?: boolean } = {}): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const zone = m[8]!;
  if (options.utcOnly && zone !== 'Z') return undefined;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear keeps years 0–99 as they are
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const millis = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime() - offsetMinutes * 60_000;
}

/** The `YYYY-MM-DDTHH:MM:SS[.fff]Z` form index.json uses, strictly. */
export function parseUtcTimestamp(text: string): number | undefined {
  return parseRfc3339(text, { utcOnly: true });
}
