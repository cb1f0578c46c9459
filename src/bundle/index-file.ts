import { z } from 'zod';
import { RelayError } from '../errors.js';
import { boundedArray, formatZodIssues, parseJsonBounded } from './bounded-json.js';
import { SHA256_HEX } from './digest.js';
import { OVERRIDES_NAME } from './overrides-file.js';
import { parseUtcTimestamp } from './timestamp.js';
import type { BundleFile, BundleIndex, BundleMetadata } from './types.js';

export { formatZodIssues };

/** Bundle format written by this version. Readers refuse any other major version. */
export const BUNDLE_FORMAT_VERSION = '1.0';
/** The minor version a bundle with per-target overrides carries (1.0 readers refuse its overrides/ entries). */
export const BUNDLE_FORMAT_VERSION_OVERRIDES = '1.1';
export const BUNDLE_FORMAT_MAJOR = 1;
/** Second source of the format version: the `gname` of every tar header, e.g. "bundle-v1". */
export const TAR_FORMAT_TAG = `bundle-v${BUNDLE_FORMAT_MAJOR}`;
/** The `uname` of every tar header. */
export const TAR_OWNER = 'rollout-relay';

export const INDEX_PATH = 'index.json';
export const MANIFEST_DIR = 'manifests/';
/** File names the writer produces and the reader accepts under manifests/. */
export const MANIFEST_NAME = /^manifests\/[a-z0-9][a-z0-9._~-]*\.yaml$/;

/**
 * An application id: `<namespace>/<name>`, both lower-case DNS-1123 (namespace a label, name a
 * subdomain short enough for its status ConfigMap `rollout-relay-status-<name>`). Anything else
 * (`__proto__`, spaces, escapes) could never be applied and is refused up front.
 */
export const APPLICATION_ID = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/[a-z0-9]([-a-z0-9.]{0,230}[a-z0-9])?$/;
/** Most target clusters one bundle may name. */
export const MAX_TARGETS = 256;

const isoTimestamp = z.string().refine((s) => parseUtcTimestamp(s) !== undefined, {
  message: 'must be an RFC 3339 UTC timestamp of a real date and time, like 2026-01-02T03:04:05Z',
});
// eslint-disable-next-line no-control-regex
const NO_CONTROL = /^[^\u0000-\u001f\u007f-\u009f]*$/;
const text = (max: number) => z.string().max(max).regex(NO_CONTROL, 'must not contain control characters');
const name = text(253).min(1);
export const fileSchema = z.strictObject({
  path: z.string().refine((p) => MANIFEST_NAME.test(p) || OVERRIDES_NAME.test(p), 'must be manifests/<name>.yaml or overrides/<target>.json'),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  sha256: z.string().regex(SHA256_HEX, 'must be lower-case hex SHA-256'),
});

/**
 * The common case of `fileSchema` (exactly path, size and sha256, all valid) checked without zod: a large
 * bundle lists thousands of files, and zod's per-element cost showed on verify's critical path. Never
 * accepts what `fileSchema` refuses (a property test holds it to that); anything else goes to zod, which
 * says what is wrong.
 */
export function isPlainFileEntry(f: unknown): f is BundleFile {
  if (typeof f !== 'object' || f === null || Array.isArray(f)) return false;
  const { path, size, sha256 } = f as Record<string, unknown>;
  return Object.keys(f).length === 3 && Object.hasOwn(f, 'path') && Object.hasOwn(f, 'size') && Object.hasOwn(f, 'sha256')
    && typeof path === 'string' && (MANIFEST_NAME.test(path) || OVERRIDES_NAME.test(path))
    && typeof size === 'number' && Number.isSafeInteger(size) && size >= 0
    && typeof sha256 === 'string' && SHA256_HEX.test(sha256);
}

/** Unknown fields are kept (a later minor version may add some); known ones are checked strictly. */
export const bundleIndexSchema = z.looseObject({
  formatVersion: z.string().regex(/^\d+\.\d+$/),
  producer: z.looseObject({ name, version: text(253).min(1) }),
  application: z.string().max(512).regex(APPLICATION_ID, 'must be "<namespace>/<name>" in lower-case DNS-1123 form'),
  source: z.looseObject({
    cluster: name,
    namespace: name,
    kind: name,
    name,
    revision: text(253).optional(),
    podTemplateHash: text(253).optional(),
    commit: text(253).optional(),
  }),
  sequence: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  createdAt: isoTimestamp,
  expiresAt: isoTimestamp,
  targets: boundedArray(name, MAX_TARGETS),
  // Elements are checked one by one in parseIndex, stopping at the first bad one.
  files: z.array(z.unknown()),
});

/** Throws UNSUPPORTED_FORMAT for an unknown major version, so an old reader never misreads a new bundle. */
export function checkFormatVersion(version: unknown, where: string): void {
  const major = typeof version === 'string' ? /^(\d+)\./.exec(version)?.[1] : undefined;
  if (major === undefined) {
    const shown = typeof version === 'string' ? JSON.stringify(version.slice(0, 40)) : typeof version;
    throw new RelayError('MALFORMED', `${where}: format version ${shown} is not "<major>.<minor>"`);
  }
  if (Number(major) !== BUNDLE_FORMAT_MAJOR) {
    throw new RelayError(
      'UNSUPPORTED_FORMAT',
      `${where}: bundle format version ${String(version).slice(0, 40)} is not supported (this rollout-relay reads ${BUNDLE_FORMAT_MAJOR}.x); upgrade rollout-relay or re-create the bundle`,
    );
  }
}

export interface IndexParseOptions {
  /** Most files index.json may list. Default: 100,000 (the reader's maxEntries). */
  maxFiles?: number;
}

/**
 * Parses and validates index.json bytes within a bound that does not grow with hostile content:
 * nesting and value count are checked before parsing, the file list's length before its elements,
 * and validation stops at the first bad file.
 */
export function parseIndex(bytes: Uint8Array, options: IndexParseOptions = {}): BundleIndex {
  const maxFiles = options.maxFiles ?? 100_000;
  const raw = parseJsonBounded(bytes, 'index.json', { maxDepth: 64, maxValues: 5 * maxFiles + 10_000 });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new RelayError('MALFORMED', 'index.json is not a JSON object; the bundle is damaged, re-create it');
  }
  checkFormatVersion((raw as { formatVersion?: unknown }).formatVersion, 'index.json');
  const files = (raw as { files?: unknown }).files;
  if (Array.isArray(files) && files.length > maxFiles) {
    throw new RelayError('TOO_LARGE', `index.json lists ${files.length} files, above the ${maxFiles} limit; refused`);
  }
  const parsed = bundleIndexSchema.safeParse(raw);
  if (!parsed.success) throw new RelayError('MALFORMED', `index.json is invalid: ${formatZodIssues(parsed.error)}`);
  const seen = new Set<string>();
  parsed.data.files.forEach((f, i) => {
    let path: string;
    if (isPlainFileEntry(f)) path = f.path;
    else {
      const file = fileSchema.safeParse(f);
      if (!file.success) throw new RelayError('MALFORMED', `index.json is invalid: files.${i}: ${formatZodIssues(file.error)}`);
      path = file.data.path;
    }
    if (seen.has(path)) throw new RelayError('MALFORMED', `index.json lists ${path} twice`);
    seen.add(path);
  });
  return parsed.data as BundleIndex;
}

/** The metadata the signed predicate repeats: everything but the file list, in a fixed key order. */
export function indexMetadata(index: BundleIndex): BundleMetadata {
  const source: BundleMetadata['source'] = {
    cluster: index.source.cluster,
    namespace: index.source.namespace,
    kind: index.source.kind,
    name: index.source.name,
  };
  if (index.source.revision !== undefined) source.revision = index.source.revision;
  if (index.source.podTemplateHash !== undefined) source.podTemplateHash = index.source.podTemplateHash;
  if (index.source.commit !== undefined) source.commit = index.source.commit;
  return {
    formatVersion: index.formatVersion,
    producer: { name: index.producer.name, version: index.producer.version },
    application: index.application,
    source,
    sequence: index.sequence,
    createdAt: index.createdAt,
    expiresAt: index.expiresAt,
    targets: [...index.targets],
  };
}

/** Deterministic index.json bytes: fixed key order, two-space indent, trailing newline. */
export function serializeIndex(index: BundleIndex): Buffer {
  const ordered = {
    ...indexMetadata(index),
    files: index.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
  };
  return Buffer.from(JSON.stringify(ordered, null, 2) + '\n', 'utf8');
}
