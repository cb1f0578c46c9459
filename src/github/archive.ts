import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { checkEntryPath, checkRegularFile, EntryBudget, shownPath } from '../bundle/index.js';
import { RelayError } from '../errors.js';

/** Caps applied while reading an untrusted repository archive (a gzip'd tar). */
export interface ArchiveLimits {
  /** Compressed bytes downloaded. Default: 256 MiB. */
  maxArchiveBytes?: number;
  /** Bytes after gunzip (a gzip bomb stops here). Default: 1 GiB. */
  maxUnpackedBytes?: number;
  /** Any one manifest file. Default: 16 MiB. */
  maxFileBytes?: number;
  /** All manifest files kept in memory together. Default: 256 MiB. */
  maxManifestBytes?: number;
  /** Entries in the archive. Default: 200,000. */
  maxEntries?: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Required<ArchiveLimits> = {
  maxArchiveBytes: 256 * 1024 * 1024,
  maxUnpackedBytes: 1024 * 1024 * 1024,
  maxFileBytes: 16 * 1024 * 1024,
  maxManifestBytes: 256 * 1024 * 1024,
  maxEntries: 200_000,
};

export interface ArchiveManifests {
  /** The commit id `git archive` wrote into the pax global header, when present. */
  commit?: string;
  /** The archive's single top directory (GitHub: OWNER-REPO-SHA7). */
  root: string;
  /** Manifest files under the selected path, relative to it, in the order a directory walk gives. */
  files: { path: string; text: string }[];
  /** Whether anything at all lay under the selected path. */
  pathFound: boolean;
  entries: number;
  compressedBytes: number;
  unpackedBytes: number;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
const REGULAR = new Set(['File', 'OldFile', 'ContiguousFile']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Sort like a recursive, name-sorted directory walk (loadManifestDir): segment by segment. */
function walkOrder(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    if (sa[i] !== sb[i]) return sa[i]! < sb[i]! ? -1 : 1;
  }
  return sa.length - sb.length;
}

/**
 * Reads the YAML/JSON files under `path` out of a gzip'd tar as GitHub's archive endpoint serves
 * it, streaming and in bounded memory: nothing is written to disk, only manifest files under the
 * path are kept, and every cap fails with TOO_LARGE. The archive is hostile input: absolute or
 * `..` paths and entries outside its single top directory refuse the whole archive
 * (UNSAFE_ENTRY); links, devices and FIFOs under the selected path do too (links elsewhere are
 * never followed, so they are skipped). Dot-files and dot-directories are skipped, as for a local
 * directory.
 */
export async function readArchiveManifests(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: { path: string; limits?: ArchiveLimits },
): Promise<ArchiveManifests> {
  const limits = { ...DEFAULT_ARCHIVE_LIMITS, ...opts.limits };
  const selected = opts.path;
  const state = { compressed: 0, unpacked: 0 };
  const budget = new EntryBudget({ maxEntries: limits.maxEntries, maxFileBytes: limits.maxFileBytes, maxKeptBytes: limits.maxManifestBytes });
  let root: string | undefined;
  let commit: string | undefined;
  let pathFound = selected === '';
  let failure: unknown;
  const files: { path: string; text: string }[] = [];
  const fail = (err: unknown) => {
    failure ??= err;
  };

  // Every entry must be consumed (kept or resumed), or the parser stalls.
  const onEntry = (entry: ReadEntry) => {
    if (!keepEntry(entry)) entry.resume();
  };
  const keepEntry = (entry: ReadEntry): boolean => {
    try {
      if (failure !== undefined) return false;
      budget.countEntry();
      const gex = entry.globalExtended?.comment;
      if (commit === undefined && typeof gex === 'string' && /^[0-9a-f]{40}$/.test(gex.trim())) commit = gex.trim();
      const full = entry.path.replace(/\/+$/, '');
      checkEntryPath(full);
      const [top, ...restSegments] = full.split('/');
      root ??= top;
      if (top !== root) throw new RelayError('UNSAFE_ENTRY', `archive entry ${shownPath(full)} lies outside the archive's top directory ${JSON.stringify(root)}; refused`);
      const rel = restSegments.join('/');
      const under = selected === '' ? rel : rel === selected ? '' : rel.startsWith(`${selected}/`) ? rel.slice(selected.length + 1) : undefined;
      if (under === undefined || rel === '') return false;
      pathFound = true;
      const type = entry.type;
      if (type === 'Directory') return false;
      checkRegularFile(rel, REGULAR.has(type), type, 'only regular files are read under the selected path');
      if (under === '' || under.split('/').some((s) => s.startsWith('.')) || !MANIFEST_FILE.test(under)) return false;
      budget.admitFile(rel, entry.size);
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        try {
          files.push({ path: under, text: utf8.decode(Buffer.concat(chunks)) });
        } catch (err) {
          fail(new RelayError('MALFORMED', `${rel} is not valid UTF-8`, { cause: err }));
        }
      });
      return true;
    } catch (err) {
      fail(err);
      return false;
    }
  };

  const parser = new Parser({ strict: true, onReadEntry: onEntry });
  parser.on('error', (err: unknown) => fail(new RelayError('MALFORMED', `the archive is not a valid tar: ${(err as Error).message}`, { cause: err })));

  const counted = async function* (src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    for await (const chunk of src) {
      state.compressed += chunk.length;
      if (state.compressed > limits.maxArchiveBytes) throw new RelayError('TOO_LARGE', `the archive is larger than ${limits.maxArchiveBytes} bytes (compressed)`);
      yield chunk;
    }
  };
  const intoParser = async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) {
      state.unpacked += chunk.length;
      if (state.unpacked > limits.maxUnpackedBytes) throw new RelayError('TOO_LARGE', `the archive unpacks to more than ${limits.maxUnpackedBytes} bytes`);
      if (failure !== undefined) throw failure;
      if (!parser.write(chunk)) await once(parser, 'drain');
    }
    const ended = once(parser, 'end');
    parser.end();
    await ended;
  };

  try {
    await pipeline(counted(source), createGunzip(), intoParser);
  } catch (err) {
    const zlibCode = String((err as NodeJS.ErrnoException).code ?? '');
    if (err instanceof RelayError || failure !== undefined) fail(err);
    else if (zlibCode.startsWith('Z_')) fail(new RelayError('MALFORMED', `the archive is not valid gzip: ${(err as Error).message}`, { cause: err }));
    else throw err; // the source failed (a dropped download): the caller codes it
  }
  if (failure !== undefined) throw failure;
  if (root === undefined) throw new RelayError('MALFORMED', 'the archive is empty');
  files.sort((a, b) => walkOrder(a.path, b.path));
  return {
    ...(commit !== undefined ? { commit } : {}),
    root,
    files,
    pathFound,
    entries: budget.entries,
    compressedBytes: state.compressed,
    unpackedBytes: state.unpacked,
  };
}
