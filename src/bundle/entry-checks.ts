import { RelayError } from '../errors.js';

/**
 * The checks every reader of an untrusted tar applies to each entry, whatever parsed the header (our
 * own ustar decoder for bundles, node-tar for repository archives): a safe relative path, a regular
 * file, and counts and sizes within bounds. Pure: it sees names and numbers, never bytes.
 */
export interface EntryBounds {
  /** Entries in the archive. */
  maxEntries: number;
  /** Any one file read. */
  maxFileBytes: number;
  /** All files read, together. Default: no cap beyond the per-file one. */
  maxKeptBytes?: number;
}

/** How an entry is named in messages: at most 120 characters, quoted. */
export function shownPath(path: string): string {
  return JSON.stringify(path.slice(0, 120));
}

/** Relative, lower-ASCII segments of safe characters, none empty, "." or "..": what bundles and repositories hold. */
const SAFE_PATH = /^(?!\.\.?(?:\/|$))[A-Za-z0-9_@+=,~-][A-Za-z0-9._@+=,~-]*(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._@+=,~-]+)*$/;

/** Refuses absolute, `..`, `.`, empty-segment, backslash and control-character paths (UNSAFE_ENTRY). */
export function checkEntryPath(path: string): void {
  if (SAFE_PATH.test(path)) return; // the common case, checked in one pass; anything else gets the exact reason below
  const shown = shownPath(path);
  if (path === '') throw new RelayError('UNSAFE_ENTRY', 'tar entry with an empty name; refused');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw new RelayError('UNSAFE_ENTRY', `tar entry ${shown} is an absolute path; refused`);
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(path)) throw new RelayError('UNSAFE_ENTRY', `tar entry ${shown} contains a backslash or control character; refused`);
  const segments = path.split('/');
  if (segments.includes('..')) throw new RelayError('UNSAFE_ENTRY', `tar entry ${shown} climbs out with ".."; refused`);
  if (segments.some((s) => s === '' || s === '.')) throw new RelayError('UNSAFE_ENTRY', `tar entry ${shown} has an empty or "." segment; refused`);
}

/**
 * Refuses an entry that is not a regular file (a link, device, FIFO, directory or extension header)
 * where a file is read (UNSAFE_ENTRY). `kind` names what it is; `rule` says what may be there.
 */
export function checkRegularFile(path: string, isRegular: boolean, kind: string, rule: string): void {
  if (!isRegular) throw new RelayError('UNSAFE_ENTRY', `tar entry ${shownPath(path)} is a ${kind}; ${rule}`);
}

/** Counts entries and the bytes of files read against `EntryBounds`; every overrun is TOO_LARGE. */
export class EntryBudget {
  entries = 0;
  keptBytes = 0;

  constructor(private readonly bounds: EntryBounds) {}

  /** One more entry of the archive, whatever it is. */
  countEntry(): void {
    if (++this.entries > this.bounds.maxEntries) throw new RelayError('TOO_LARGE', `the archive has more than ${this.bounds.maxEntries} entries; refused`);
  }

  /** A file about to be read: its declared size within `cap` (default maxFileBytes), the total within maxKeptBytes. */
  admitFile(path: string, size: number, cap = this.bounds.maxFileBytes): void {
    if (size > cap) throw new RelayError('TOO_LARGE', `tar entry ${shownPath(path)} declares ${size} bytes, above the ${cap}-byte limit; refused`);
    this.keptBytes += size;
    const total = this.bounds.maxKeptBytes;
    if (total !== undefined && this.keptBytes > total) throw new RelayError('TOO_LARGE', `the files read from the archive exceed ${total} bytes together; refused`);
  }
}
