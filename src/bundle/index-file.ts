import { z } from 'zod';
import { RelayError } from '../errors.js';
import { SHA256_HEX } from './digest.js';
import type { BundleIndex, BundleMetadata } from './types.js';

/** Bundle format written by this version. Readers refuse any other major version. */
export const BUNDLE_FORMAT_VERSION = '1.0';
export const BUNDLE_FORMAT_MAJOR = 1;
/** Second source of the format version: the `gname` of every tar header, e.g. "bundle-v1". */
export const TAR_FORMAT_TAG = `bundle-v${BUNDLE_FORMAT_MAJOR}`;
/** The `uname` of every tar header. */
export const TAR_OWNER = 'rollout-relay';

export const INDEX_PATH = 'index.json';
export const MANIFEST_DIR = 'manifests/';
/** File names the writer produces and the reader accepts under manifests/. */
export const MANIFEST_NAME = /^manifests\/[a-z0-9][a-z0-9._~-]*\.yaml$/;

const isoTimestamp = z.string().refine((s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'must be an RFC 3339 UTC timestamp like 2026-01-02T03:04:05Z',
});
const name = z.string().min(1).max(253);

const fileSchema = z.strictObject({
  path: z.string().regex(MANIFEST_NAME, 'must be manifests/<name>.yaml'),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  sha256: z.string().regex(SHA256_HEX, 'must be lower-case hex SHA-256'),
});

/** Unknown fields are kept (a later minor version may add some); known ones are checked strictly. */
export const bundleIndexSchema = z.looseObject({
  formatVersion: z.string().regex(/^\d+\.\d+$/),
  producer: z.looseObject({ name, version: z.string().min(1) }),
  application: name.max(512),
  source: z.looseObject({
    cluster: name,
    namespace: name,
    kind: name,
    name,
    revision: z.string().optional(),
    podTemplateHash: z.string().optional(),
    commit: z.string().optional(),
  }),
  sequence: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  createdAt: isoTimestamp,
  expiresAt: isoTimestamp,
  targets: z.array(name),
  files: z.array(fileSchema),
});

export function formatZodIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Throws UNSUPPORTED_FORMAT for an unknown major version, so an old reader never misreads a new bundle. */
export function checkFormatVersion(version: unknown, where: string): void {
  const major = typeof version === 'string' ? /^(\d+)\./.exec(version)?.[1] : undefined;
  if (major === undefined) {
    throw new RelayError('MALFORMED', `${where}: format version ${JSON.stringify(version)} is not "<major>.<minor>"`);
  }
  if (Number(major) !== BUNDLE_FORMAT_MAJOR) {
    throw new RelayError(
      'UNSUPPORTED_FORMAT',
      `${where}: bundle format version ${version} is not supported (this rollout-relay reads ${BUNDLE_FORMAT_MAJOR}.x); upgrade rollout-relay or re-create the bundle`,
    );
  }
}

/** Parses and validates index.json bytes. */
export function parseIndex(bytes: Uint8Array): BundleIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new RelayError('MALFORMED', 'index.json is not valid UTF-8 JSON; the bundle is damaged, re-create it', { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new RelayError('MALFORMED', 'index.json is not a JSON object; the bundle is damaged, re-create it');
  }
  checkFormatVersion((raw as { formatVersion?: unknown }).formatVersion, 'index.json');
  const parsed = bundleIndexSchema.safeParse(raw);
  if (!parsed.success) throw new RelayError('MALFORMED', `index.json is invalid: ${formatZodIssues(parsed.error)}`);
  const index = parsed.data as BundleIndex;
  const seen = new Set<string>();
  for (const f of index.files) {
    if (seen.has(f.path)) throw new RelayError('MALFORMED', `index.json lists ${f.path} twice`);
    seen.add(f.path);
  }
  return index;
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
