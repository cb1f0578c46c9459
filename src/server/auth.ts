import { createHash, timingSafeEqual } from 'node:crypto';
import { readBoundedFileSync, MAX_KEY_FILE_BYTES } from '../bounded-file.js';
import { RelayError } from '../errors.js';

export type BearerCheck = 'ok' | 'missing' | 'wrong';

/**
 * Checks `Authorization: Bearer <token>` against the expected token in constant time: both sides
 * are hashed first, so neither the comparison nor an early length mismatch leaks how much matched.
 */
export function checkBearer(header: string | undefined, expected: string): BearerCheck {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  if (!m) return 'missing';
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) ? 'ok' : 'wrong';
}

/** Reads a token file (trailing newline ignored); refuses an empty or unreadable one with CONFIG_INVALID. */
export function readTokenFile(path: string, field: string): string {
  const token = readBoundedFileSync(path, { field, what: 'token', maxBytes: MAX_KEY_FILE_BYTES, code: 'CONFIG_INVALID' }).toString('utf8').trim();
  if (token.length < 16 || /\s/.test(token)) throw new RelayError('CONFIG_INVALID', `${field}: the token in ${path} must be one line of at least 16 characters without spaces`);
  return token;
}
