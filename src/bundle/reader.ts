import { createHash } from 'node:crypto';
import { RelayError } from '../errors.js';
import { formatDigest } from './digest.js';
import { parseBundleManifest } from './manifest-yaml.js';
import { overridesPath, type TargetDifferences } from './overrides-file.js';
import { parsedManifests } from './parsed-cache.js';
import { bundleFileSource, isSelfDigesting } from './parallel-digest.js';
import { regularFileSize, type ByteSource } from './source.js';
import { BundleTarParser, resolveLimits, type BundledDifferences, type ManifestCallback, type ParsedTar, type ReadLimits } from './tar-reader.js';
import type { BundleIndex, KubeObject } from './types.js';

export interface ScanOptions {
  limits?: ReadLimits;
  /** Keep manifest bytes (needed to return objects). Default: false, which keeps memory constant. */
  keepManifests?: boolean;
  /** Known total size (a file's size): lets the parser refuse entries that declare more than exists. */
  totalSize?: number;
  /**
   * Lower-case hex SHA-256 the whole file must have (from a verified signature). When set, a digest
   * mismatch wins over any structural error, because it names the real cause: the bytes were changed.
   */
  expectedDigest?: string;
  /**
   * Called with each manifest once its digest matched index.json, one file at a time (memory stays
   * bounded by one file). What it throws counts as a structural error: a whole-bundle digest mismatch wins.
   */
  onManifest?: ManifestCallback;
}

export interface ScanResult extends ParsedTar {
  /** Lower-case hex SHA-256 of the whole bundle. */
  digest: string;
  size: number;
}

/**
 * One pass over untrusted bundle bytes: hashes the whole archive, checks every tar header, hashes each
 * file against index.json. Throws a coded RelayError.
 */
export async function scanBundle(source: ByteSource, options: ScanOptions = {}): Promise<ScanResult> {
  const limits = resolveLimits(options.limits);
  if (options.totalSize !== undefined && options.totalSize > limits.maxBundleBytes) {
    throw new RelayError('TOO_LARGE', `bundle is ${options.totalSize} bytes, above the ${limits.maxBundleBytes}-byte limit; refused`);
  }
  const parser = new BundleTarParser({ limits, keepManifests: options.keepManifests ?? false, totalSize: options.totalSize, ...(options.onManifest ? { onManifest: options.onManifest } : {}) });
  // A large file hashes its whole-file digest itself, on another core (see parallel-digest.ts).
  const selfDigest = isSelfDigesting(source) ? source : undefined;
  const whole = selfDigest ? undefined : createHash('sha256');
  let size = 0;
  let structural: unknown;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > limits.maxBundleBytes) throw new RelayError('TOO_LARGE', `bundle exceeds the ${limits.maxBundleBytes}-byte limit; refused`);
    whole?.update(chunk);
    if (structural !== undefined) continue;
    try {
      parser.push(chunk);
    } catch (err) {
      if (options.expectedDigest === undefined) throw err;
      structural = err;
    }
  }
  const digest = selfDigest ? await selfDigest.digest() : whole!.digest('hex');
  if (options.expectedDigest !== undefined && digest !== options.expectedDigest) {
    throw new RelayError(
      'DIGEST_MISMATCH',
      `bundle is ${formatDigest(digest)} but the signature covers ${formatDigest(options.expectedDigest)}; the bundle or signature was altered or they do not belong together`,
      { cause: structural },
    );
  }
  if (structural !== undefined) throw structural;
  return { ...parser.finish(), digest, size };
}

export interface ReadBundle {
  index: BundleIndex;
  /** Objects in apply order (the order of the archive). */
  objects: KubeObject[];
  /** Lower-case hex SHA-256 of the whole bundle file. */
  digest: string;
  size: number;
  manifests: { path: string; bytes: Buffer }[];
  /** Per-target differences the bundle carries, by target name. */
  differences: ReadonlyMap<string, BundledDifferences>;
}

export function objectsOf(scan: ParsedTar): KubeObject[] {
  // Every manifest's bytes were checked against this digest while the bundle was read.
  const digests = new Map(scan.index.files.map((f) => [f.path, f.sha256]));
  return scan.manifests.map((m) => {
    const sha = digests.get(m.path);
    const hit = sha === undefined ? undefined : parsedManifests.get(sha);
    if (hit) return hit;
    const obj = parseBundleManifest(m.bytes, m.path);
    if (sha !== undefined) parsedManifests.set(sha, obj, m.bytes.length);
    return obj;
  });
}

/**
 * Reads and checks a bundle file (structure, every file digest against index.json) and parses its
 * manifests. It does not check signatures: use `verifyBundleFile` from src/verify for that.
 */
export async function readBundle(path: string, limits?: ReadLimits, expectedDigest?: string): Promise<ReadBundle> {
  const totalSize = await regularFileSize(path);
  const scan = await scanBundle(bundleFileSource(path, totalSize), { limits, keepManifests: true, totalSize, expectedDigest });
  return { index: scan.index, objects: objectsOf(scan), digest: scan.digest, size: scan.size, manifests: scan.manifests, differences: scan.differences };
}

/** Same as readBundle over in-memory bytes. */
export async function readBundleBytes(bytes: Buffer, limits?: ReadLimits, expectedDigest?: string): Promise<ReadBundle> {
  const scan = await scanBundle([bytes], { limits, keepManifests: true, totalSize: bytes.length, expectedDigest });
  return { index: scan.index, objects: objectsOf(scan), digest: scan.digest, size: scan.size, manifests: scan.manifests, differences: scan.differences };
}

export interface BundleInspection {
  digest: string;
  size: number;
  index: BundleIndex;
  objects: { path: string; size: number; sha256: string; apiVersion: string; kind: string; namespace?: string; name: string }[];
  /** Per-target overrides and ignored fields the bundle carries (signed with it). */
  overrides: { target: string; path: string; sha256: string; overrides: TargetDifferences['overrides']; ignoreFields: TargetDifferences['ignoreFields'] }[];
}

/** Metadata, objects and digests of a bundle, without trusting it (no signature check; hostile tars still refused). */
export async function inspectBundle(path: string, limits?: ReadLimits): Promise<BundleInspection> {
  const read = await readBundle(path, limits);
  const byPath = new Map(read.index.files.map((f) => [f.path, f]));
  return {
    digest: read.digest,
    size: read.size,
    index: read.index,
    objects: read.manifests.map((m, i) => {
      const o = read.objects[i]!;
      const f = byPath.get(m.path)!;
      return {
        path: m.path,
        size: f.size,
        sha256: f.sha256,
        apiVersion: o.apiVersion,
        kind: o.kind,
        ...(o.metadata.namespace !== undefined ? { namespace: o.metadata.namespace } : {}),
        name: o.metadata.name,
      };
    }),
    overrides: [...read.differences.values()].map((d) => ({
      target: d.differences.target, path: overridesPath(d.differences.target), sha256: d.sha256, overrides: d.differences.overrides, ignoreFields: d.differences.ignoreFields,
    })),
  };
}
