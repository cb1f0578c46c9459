import { z } from 'zod';
import { RelayError } from '../errors.js';
import { printable } from '../printable.js';

/** Caps for JSON from an untrusted source, checked before JSON.parse builds anything. */
export interface JsonBounds {
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Most values (array elements, object members, the root) the text may hold. */
  maxValues: number;
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Counts nesting and values of JSON text in one pass without allocating, so a hostile text (a huge
 * array of tiny values, or nesting a million deep) is refused before JSON.parse turns every byte
 * into an object. Not a validator: JSON.parse still decides whether the text is JSON.
 */
export function checkJsonBounds(bytes: Uint8Array, what: string, bounds: JsonBounds): void {
  let depth = 0;
  let values = 1;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > bounds.maxDepth) throw new RelayError('MALFORMED', `${what} nests deeper than ${bounds.maxDepth} levels; refused`);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (c === COMMA && ++values > bounds.maxValues) {
      throw new RelayError('TOO_LARGE', `${what} holds more than ${bounds.maxValues} JSON values; refused`);
    }
  }
}

/** UTF-8 JSON from an untrusted source, within `bounds`. Throws MALFORMED or TOO_LARGE. */
export function parseJsonBounded(input: Uint8Array | string, what: string, bounds: JsonBounds): unknown {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  checkJsonBounds(bytes, what, bounds);
  try {
    return JSON.parse(typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new RelayError('MALFORMED', `${what} is not valid UTF-8 JSON`, { cause: err });
  }
}

/**
 * An array of at most `max` elements, its length checked before any element: a huge array of wrong
 * values yields one issue, not one per element.
 */
export function boundedArray<T extends z.ZodType>(element: T, max: number) {
  return z.array(z.unknown()).max(max).pipe(z.array(element));
}

const MAX_SHOWN_ISSUES = 3;
const MAX_ISSUES_CHARS = 400;

/** The first few issues, escaped and capped: a message never grows with the input. */
export function formatZodIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, MAX_SHOWN_ISSUES).map((i) => `${i.path.length ? i.path.slice(0, 8).join('.') : '(root)'}: ${i.message}`);
  let text = printable(shown.join('; '));
  if (text.length > MAX_ISSUES_CHARS) text = `${text.slice(0, MAX_ISSUES_CHARS)}…`;
  const more = error.issues.length - shown.length;
  return more > 0 ? `${text} (and ${more} more)` : text;
}
