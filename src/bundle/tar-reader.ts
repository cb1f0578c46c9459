import { isAscii } from 'node:buffer';
import { createHash, hash, type Hash } from 'node:crypto';
import { RelayError } from '../errors.js';
import { INDEX_PATH, MANIFEST_NAME, parseIndex, TAR_FORMAT_TAG } from './index-file.js';
import { MAX_OVERRIDES_FILE_BYTES, OVERRIDES_NAME, parseTargetDifferences, targetOfOverridesPath, type TargetDifferences } from './overrides-file.js';
import { BLOCK, paddingFor } from './tar-writer.js';
import { checkEntryPath, checkRegularFile, EntryBudget, shownPath } from './entry-checks.js';
import type { BundleFile, BundleIndex } from './types.js';

/** Caps applied while reading untrusted bundle bytes. */
export interface ReadLimits {
  /** Whole bundle. Default: 1 GiB (the policy's maxBundleBytes overrides it). */
  maxBundleBytes?: number;
  /** Any one manifest file. Default: 64 MiB. */
  maxFileBytes?: number;
  /** index.json. Default: 64 MiB. */
  maxIndexBytes?: number;
  /** Entries in the archive and files in the index. Default: 100,000. */
  maxEntries?: number;
}

export const DEFAULT_READ_LIMITS: Required<ReadLimits> = {
  maxBundleBytes: 1024 * 1024 * 1024,
  maxFileBytes: 64 * 1024 * 1024,
  maxIndexBytes: 64 * 1024 * 1024,
  maxEntries: 100_000,
};

export function resolveLimits(limits: ReadLimits = {}): Required<ReadLimits> {
  return {
    maxBundleBytes: limits.maxBundleBytes ?? DEFAULT_READ_LIMITS.maxBundleBytes,
    maxFileBytes: limits.maxFileBytes ?? DEFAULT_READ_LIMITS.maxFileBytes,
    maxIndexBytes: limits.maxIndexBytes ?? DEFAULT_READ_LIMITS.maxIndexBytes,
    maxEntries: limits.maxEntries ?? DEFAULT_READ_LIMITS.maxEntries,
  };
}

/** A ustar header decoded without trusting it. Exported for tests. */
export interface RawHeader {
  path: string;
  typeflag: string;
  size: number;
  gname: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A NUL-terminated name field as text: ASCII (every bundle name) without the UTF-8 decoder's cost. */
function nameField(raw: Buffer): string {
  return isAscii(raw) ? raw.toString('latin1') : utf8.decode(raw);
}

function field(block: Buffer, start: number, length: number): Buffer {
  const raw = block.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return nul < 0 ? raw : raw.subarray(0, nul);
}

/** An entry as an error names it; undefined is the header itself. */
function quoted(entryPath: string | undefined): string {
  return entryPath === undefined ? '(header)' : shownPath(entryPath);
}

/** `entryPath` is quoted only when an error names it. */
function octal(block: Buffer, start: number, length: number, what: string, entryPath?: string): number {
  const raw = block.subarray(start, start + length);
  if ((raw[0] ?? 0) & 0x80) {
    // GNU base-256 numbers exist only for values beyond the octal range (> 8 GiB sizes).
    throw new RelayError('TOO_LARGE', `${quoted(entryPath)}: ${what} uses a base-256 number (beyond 8 GiB); refused`);
  }
  // Leading spaces, then octal digits, then NULs or spaces to the end: read byte by byte (this runs twice per entry).
  let i = 0;
  while (i < raw.length && raw[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  for (; i < raw.length; i++) {
    const b = raw[i]!;
    if (b < 0x30 || b > 0x37) break;
    value = value * 8 + (b - 0x30);
    digits++;
  }
  for (; i < raw.length; i++) {
    if (raw[i] !== 0 && raw[i] !== 0x20) throw new RelayError('MALFORMED', `${quoted(entryPath)}: ${what} field is not an octal number`);
  }
  if (digits > 12) throw new RelayError('MALFORMED', `${quoted(entryPath)}: ${what} field is not an octal number`);
  return value;
}

const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** Offset of the first non-zero byte of `buf` in [start, end), or -1 (native compares: this runs for every padding and end block). */
function firstNonZero(buf: Buffer, start: number, end: number): number {
  for (let at = start; at < end; at += BLOCK) {
    const stop = Math.min(at + BLOCK, end);
    if (ZERO_BLOCK.compare(buf, at, stop, 0, stop - at) !== 0) return at + buf.subarray(at, stop).findIndex((b) => b !== 0);
  }
  return -1;
}

function headerChecksum(block: Buffer): number {
  // The checksum field itself counts as eight spaces.
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < BLOCK; i++) sum += block[i]!;
  return sum;
}

const TYPE_NAMES: Record<string, string> = {
  '1': 'hard link',
  '2': 'symbolic link',
  '3': 'character device',
  '4': 'block device',
  '5': 'directory',
  '6': 'FIFO',
  '7': 'contiguous file',
  x: 'pax extended header',
  g: 'pax global header',
  L: 'GNU long name',
  K: 'GNU long link name',
};

/** Checks a header block on its own: checksum, magic, type, path safety. Throws a coded RelayError. */
export function decodeHeader(block: Buffer): RawHeader {
  const declared = octal(block, 148, 8, 'checksum');
  if (declared !== headerChecksum(block)) {
    throw new RelayError('MALFORMED', `tar header checksum mismatch (want ${declared}, got ${headerChecksum(block)}); the bundle is damaged`);
  }
  const magic = block.subarray(257, 265).toString('latin1');
  if (magic !== 'ustar\x0000' && magic !== 'ustar  \x00') {
    throw new RelayError('UNSUPPORTED_FORMAT', 'not a ustar archive; a bundle is an uncompressed ustar tar written by rollout-relay');
  }
  let name: string;
  let prefix: string;
  try {
    name = nameField(field(block, 0, 100));
    prefix = magic.startsWith('ustar\0') && block[345] !== 0 ? nameField(field(block, 345, 155)) : '';
  } catch (err) {
    throw new RelayError('UNSAFE_ENTRY', 'tar entry name is not valid UTF-8; refused', { cause: err });
  }
  const path = prefix ? `${prefix}/${name}` : name;
  const typeflag = String.fromCharCode(block[156]!);
  const kind = TYPE_NAMES[typeflag] ?? `type ${JSON.stringify(typeflag)}`;
  checkRegularFile(path, typeflag === '0' || typeflag === '\0', kind, 'bundles hold only regular files');
  checkEntryPath(path);
  const size = octal(block, 124, 12, 'size', path);
  const gname = field(block, 297, 32).toString('latin1');
  return { path, typeflag, size, gname };
}

function checkFormatTag(gname: string, entryPath: string): void {
  if (gname === TAR_FORMAT_TAG) return;
  const path = shownPath(entryPath);
  const m = /^bundle-v(\d+)$/.exec(gname);
  if (m) {
    throw new RelayError('UNSUPPORTED_FORMAT', `tar entry ${path} was written for bundle format v${m[1]}; this rollout-relay reads ${TAR_FORMAT_TAG}; upgrade rollout-relay`);
  }
  throw new RelayError('UNSUPPORTED_FORMAT', `tar entry ${path} is not from a rollout-relay bundle (group tag ${JSON.stringify(gname)}, want ${TAR_FORMAT_TAG})`);
}

export interface ParsedTar {
  index: BundleIndex;
  indexBytes: Buffer;
  /** Manifest bytes in archive order; only when `keepManifests` was set. */
  manifests: { path: string; bytes: Buffer }[];
  /** Per-target differences (`overrides/<target>.json`), checked against index.json and parsed. */
  differences: ReadonlyMap<string, BundledDifferences>;
  entries: number;
}

/** Receives each verified manifest, with the overrides files read so far (all of them: they precede the manifests). */
export type ManifestCallback = (path: string, bytes: Buffer, differences: ReadonlyMap<string, BundledDifferences>) => void;

/** One target's overrides file as read from a bundle. */
export interface BundledDifferences {
  differences: TargetDifferences;
  /** Lower-case hex SHA-256 of the file (as listed in index.json). */
  sha256: string;
}

interface Entry {
  path: string;
  size: number;
  remaining: number;
  padding: number;
  /** Made on the file's first partial chunk; a file within one chunk is hashed in one call instead. */
  hash: Hash | undefined;
  digest: string | undefined;
  chunks: Buffer[] | undefined;
  /** index.json of a known-size bundle: its bytes land here directly (one copy, no concat). */
  into: Buffer | undefined;
  listed: BundleFile | undefined;
}

/**
 * Push-style parser over untrusted tar bytes. It checks every header itself (tar's own parser is not
 * used on untrusted input), hashes each file while it streams, and never holds more than one header,
 * index.json, and (when asked) the manifests in memory.
 */
export class BundleTarParser {
  private readonly limits: Required<ReadLimits>;
  private readonly keepManifests: boolean;
  private readonly totalSize: number | undefined;
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private entry: Entry | undefined;
  private padding = 0;
  private zeroBlocks = 0;
  private offset = 0;
  private readonly budget: EntryBudget;
  private index: BundleIndex | undefined;
  private indexBytes: Buffer | undefined;
  private listed = new Map<string, BundleFile>();
  private seen = new Set<string>();
  private manifests: { path: string; bytes: Buffer }[] = [];
  private differences = new Map<string, BundledDifferences>();
  private sawManifest = false;
  private readonly onManifest: ManifestCallback | undefined;

  /** `onManifest` receives each manifest once its digest matched index.json, one file at a time. */
  constructor(options: { limits?: ReadLimits; keepManifests?: boolean; totalSize?: number; onManifest?: ManifestCallback } = {}) {
    this.limits = resolveLimits(options.limits);
    this.budget = new EntryBudget({ maxEntries: this.limits.maxEntries, maxFileBytes: this.limits.maxFileBytes });
    this.keepManifests = options.keepManifests ?? false;
    this.totalSize = options.totalSize;
    this.onManifest = options.onManifest;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.entry) {
        const n = Math.min(this.entry.remaining, chunk.length - pos);
        const part = chunk.subarray(pos, pos + n);
        if (n === this.entry.size) this.entry.digest = hash('sha256', part, 'hex');
        else (this.entry.hash ??= createHash('sha256')).update(part);
        if (this.entry.into) part.copy(this.entry.into, this.entry.size - this.entry.remaining);
        else if (this.entry.chunks) this.entry.chunks.push(Buffer.from(part));
        this.entry.remaining -= n;
        pos += n;
        if (this.entry.remaining === 0) this.finishEntry();
      } else if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - pos);
        const bad = firstNonZero(chunk, pos, pos + n);
        if (bad >= 0) throw new RelayError('MALFORMED', `non-zero padding at byte ${this.offset + bad}; the bundle is damaged`);
        this.padding -= n;
        pos += n;
      } else if (this.zeroBlocks >= 2) {
        const bad = firstNonZero(chunk, pos, chunk.length);
        if (bad >= 0) throw new RelayError('MALFORMED', `data after the end-of-archive marker at byte ${this.offset + bad}; refused`);
        pos = chunk.length;
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + n);
        this.headerFill += n;
        pos += n;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.startEntry(this.offset + pos - BLOCK);
        }
      }
    }
    this.offset += chunk.length;
  }

  private startEntry(at: number): void {
    const block = this.header;
    if (firstNonZero(block, 0, BLOCK) < 0) {
      this.zeroBlocks++;
      return;
    }
    if (this.zeroBlocks > 0) throw new RelayError('MALFORMED', `tar entry after an end-of-archive block at byte ${at}; refused`);
    const h = decodeHeader(block);
    if (this.seen.has(h.path)) throw new RelayError('UNSAFE_ENTRY', `tar entry ${shownPath(h.path)} appears twice; refused`);
    this.seen.add(h.path);
    checkFormatTag(h.gname, h.path);
    this.budget.countEntry();
    const isIndex = h.path === INDEX_PATH;
    const isOverrides = !isIndex && OVERRIDES_NAME.test(h.path);
    if (!isIndex && !isOverrides && !MANIFEST_NAME.test(h.path)) {
      throw new RelayError('UNSAFE_ENTRY', `tar entry ${shownPath(h.path)} is outside index.json, manifests/*.yaml and overrides/*.json; refused`);
    }
    if (isIndex !== (this.index === undefined)) {
      throw new RelayError('MALFORMED', `tar entry ${shownPath(h.path)}: index.json must be the first entry and appear once`);
    }
    // Overrides files are configuration: a small cap of their own.
    this.budget.admitFile(h.path, h.size, isIndex ? this.limits.maxIndexBytes : isOverrides ? Math.min(MAX_OVERRIDES_FILE_BYTES, this.limits.maxFileBytes) : this.limits.maxFileBytes);
    const end = at + BLOCK + h.size;
    if (this.totalSize !== undefined && end > this.totalSize) {
      throw new RelayError('TOO_LARGE', `tar entry ${shownPath(h.path)} declares ${h.size} bytes but the bundle ends ${this.totalSize - at - BLOCK} bytes later; refused`);
    }
    // Overrides come right after index.json, so a streaming verifier knows them before the first manifest.
    if (isOverrides && this.sawManifest) throw new RelayError('MALFORMED', `tar entry ${shownPath(h.path)}: overrides files must come before the manifests; re-create the bundle`);
    if (!isIndex && !isOverrides) this.sawManifest = true;
    let listed: BundleFile | undefined;
    if (!isIndex) {
      listed = this.listed.get(h.path);
      if (!listed) throw new RelayError('UNLISTED_ENTRY', `tar entry ${shownPath(h.path)} is not listed in index.json; refused (re-create the bundle)`);
      if (listed.size !== h.size) {
        throw new RelayError('FILE_DIGEST_MISMATCH', `${h.path}: size ${h.size} bytes, index.json says ${listed.size}; the bundle was altered`);
      }
    }
    this.entry = {
      path: h.path,
      size: h.size,
      remaining: h.size,
      padding: paddingFor(h.size),
      hash: undefined,
      digest: undefined,
      // Overrides files are always kept (small, capped): DR applies them to the verified objects.
      chunks: isIndex || isOverrides || this.keepManifests || this.onManifest ? [] : undefined,
      // The declared size was checked against the file's real size above, so this allocates nothing the file does not hold.
      into: isIndex && this.totalSize !== undefined ? Buffer.allocUnsafe(h.size) : undefined,
      listed,
    };
    if (h.size === 0) this.finishEntry();
  }

  private finishEntry(): void {
    const e = this.entry!;
    this.entry = undefined;
    this.padding = e.padding;
    const digest = e.digest ?? (e.hash ?? createHash('sha256')).digest('hex');
    if (!e.listed) {
      this.indexBytes = e.into ?? Buffer.concat(e.chunks!);
      this.index = parseIndex(this.indexBytes, { maxFiles: this.limits.maxEntries });
      if (this.index.files.length > this.limits.maxEntries) {
        throw new RelayError('TOO_LARGE', `index.json lists ${this.index.files.length} files, above the ${this.limits.maxEntries} limit; refused`);
      }
      for (const f of this.index.files) this.listed.set(f.path, f);
      return;
    }
    if (digest !== e.listed.sha256) {
      throw new RelayError('FILE_DIGEST_MISMATCH', `${e.path}: sha256 ${digest}, index.json says ${e.listed.sha256}; the bundle was altered`);
    }
    if (!e.chunks) return;
    const bytes = Buffer.concat(e.chunks);
    if (OVERRIDES_NAME.test(e.path)) {
      this.differences.set(targetOfOverridesPath(e.path), { differences: parseTargetDifferences(bytes, e.path), sha256: digest });
      return;
    }
    if (this.keepManifests) this.manifests.push({ path: e.path, bytes });
    this.onManifest?.(e.path, bytes, this.differences);
  }

  /** Call after the last byte: checks the end-of-archive marker and that nothing listed is missing. */
  finish(): ParsedTar {
    if (this.entry || this.padding > 0 || this.headerFill > 0 || this.zeroBlocks < 2) {
      throw new RelayError('MALFORMED', 'the archive is truncated (no complete end-of-archive marker); the bundle is damaged');
    }
    if (!this.index || !this.indexBytes) throw new RelayError('MISSING_ENTRY', 'the archive has no index.json; it is not a bundle');
    const missing = this.index.files.filter((f) => !this.seen.has(f.path)).map((f) => f.path);
    if (missing.length) {
      throw new RelayError('MISSING_ENTRY', `index.json lists ${missing.length} file(s) missing from the archive: ${missing.slice(0, 3).join(', ')}`);
    }
    return { index: this.index, indexBytes: this.indexBytes, manifests: this.manifests, differences: this.differences, entries: this.budget.entries };
  }
}
