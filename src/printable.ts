/**
 * Untrusted strings (bundle metadata, object names, status ConfigMap values, messages quoting them)
 * are never written to a terminal raw: an escape sequence in an `application` value could move the
 * cursor and overwrite an "UNVERIFIED" line. C0/C1 control characters, DEL, the bidirectional
 * overrides (Trojan Source) and line/paragraph separators become visible `\xNN` / `\u{NNNN}`
 * escapes, and a backslash becomes `\\` so an escape shown can never be mistaken for one typed.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_MESSAGE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  if (c === '\\') return '\\\\';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

export function printable(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * An error message for a terminal: control characters escaped except the line breaks the message
 * itself uses, and every continuation line indented, so nothing quoted in it can start a line that
 * looks like the program's own output ("verified ...", "error ...").
 */
export function printableMessage(text: string): string {
  return text
    .replace(UNSAFE_IN_MESSAGE, escapeChar)
    .split('\n')
    .map((line, i) => (i === 0 || line.startsWith(' ') ? line : `  ${line}`))
    .join('\n');
}

/** printable() of any value's string form; for table cells and one-line summaries. */
export function shown(value: unknown): string {
  return printable(String(value));
}
