import { createHash } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { RelayError } from '../errors.js';
import { PRODUCER_NAME, PRODUCER_VERSION } from '../version.js';
import { canonicaliseObject, objectIdentity } from './canonical.js';
import { printable } from '../printable.js';
import { APPLICATION_ID, bundleIndexSchema, BUNDLE_FORMAT_VERSION, BUNDLE_FORMAT_VERSION_OVERRIDES, formatZodIssues, INDEX_PATH, serializeIndex } from './index-file.js';
import { hasDifferences, overridesPath, parseTargetDifferences, serializeTargetDifferences, type TargetDifferences } from './overrides-file.js';
import { parseManifestText, stringifyManifest } from './manifest-yaml.js';
import { sortForApply } from './order.js';
import { tarChunks, type TarFile } from './tar-writer.js';
import type { BundleFile, BundleIndex, BundleSource, KubeObject } from './types.js';

/** Caller input for a bundle's index.json. */
export interface BundleMetaOptions {
  source: BundleSource;
  /** Default: "<source.namespace>/<source.name>". */
  application?: string;
  /** Default: createdAt in whole seconds since the epoch (monotonic as long as clocks are). */
  sequence?: number;
  /** Default: now. Pass a fixed time for byte-identical bundles across runs. */
  createdAt?: Date;
  /** Default: createdAt + 30 days. */
  expiresAt?: Date;
  /** Clusters allowed to apply the bundle. Default: [] (any target). */
  targets?: string[];
  /** Default: this rollout-relay. */
  producer?: { name: string; version: string };
  /**
   * Per-target differences (design §9), signed with the bundle as `overrides/<target>.json`. Targets
   * with nothing to carry get no file; a bundle without any stays format 1.0, byte for byte as before.
   */
  differences?: readonly TargetDifferences[];
}

export const DEFAULT_EXPIRY_MS = 30 * 24 * 3600 * 1000;
const MAX_MANIFEST_BASENAME = 90; // "manifests/" + 90 = 100 bytes, the ustar name field.

export interface CreatedBundle {
  bytes: Buffer;
  /** Lower-case hex SHA-256 of `bytes`. */
  digest: string;
  index: BundleIndex;
  /** Canonical objects in apply order, as stored. */
  objects: KubeObject[];
  /** Objects left out and why (Helm release Secrets, controller-owned objects). */
  dropped: string[];
}

/** `manifests/<order>-<kind>-<namespace>-<name>.yaml`, lower-cased, `_` for cluster-scoped, ≤ 100 bytes. */
export function manifestPath(obj: KubeObject, position: number): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]/g, '~');
  const order = String(position).padStart(5, '0');
  let stem = `${order}-${clean(obj.kind)}-${obj.metadata.namespace ? clean(obj.metadata.namespace) : '_'}-${clean(obj.metadata.name)}`;
  if (stem.length + '.yaml'.length > MAX_MANIFEST_BASENAME) stem = stem.slice(0, MAX_MANIFEST_BASENAME - '.yaml'.length);
  return `manifests/${stem}.yaml`;
}

/** Canonicalises, de-duplicates and orders objects; returns the kept objects and the dropped reasons. */
export function prepareObjects(inputs: readonly unknown[]): { objects: KubeObject[]; dropped: string[] } {
  const kept: KubeObject[] = [];
  const dropped: string[] = [];
  const seen = new Set<string>();
  for (const input of inputs) {
    const r = canonicaliseObject(input);
    if (r.dropped !== undefined) {
      dropped.push(r.dropped);
      continue;
    }
    const id = objectIdentity(r.object);
    if (seen.has(id)) throw new RelayError('MALFORMED', `object ${id} appears twice in the input; keep one copy`);
    seen.add(id);
    kept.push(r.object);
  }
  const objects = sortForApply(kept);
  if (objects.length > 99_999) throw new RelayError('TOO_LARGE', `${objects.length} objects; a bundle holds at most 99,999`);
  return { objects, dropped };
}

/** Manifest files for canonical objects already in apply order. */
export function renderManifests(objects: readonly KubeObject[]): TarFile[] {
  return objects.map((o, i) => ({ path: manifestPath(o, i + 1), data: Buffer.from(stringifyManifest(o), 'utf8') }));
}

export function fileEntry(f: TarFile): BundleFile {
  return { path: f.path, size: f.data.length, sha256: createHash('sha256').update(f.data).digest('hex') };
}

function isoSeconds(d: Date): string {
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999) throw new RelayError('USAGE', `date ${String(d)} is outside 1970–9999`);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Refuses an application id that could never be applied (status ConfigMap name, prototype keys). */
export function checkApplicationId(application: string): void {
  if (!APPLICATION_ID.test(application)) {
    throw new RelayError(
      'INVALID_NAME',
      `application ${JSON.stringify(printable(application.slice(0, 120)))} is not "<namespace>/<name>" in lower-case DNS-1123 form (letters a-z, digits, "-", "." in the name); pick valid --namespace and --name`,
    );
  }
}

/** The overrides files of a bundle, sorted by target (deterministic), each checked as a reader will. */
export function renderDifferences(differences: readonly TargetDifferences[] = []): TarFile[] {
  const files = differences.filter(hasDifferences).map((d) => {
    const path = overridesPath(d.target);
    const data = serializeTargetDifferences(d);
    parseTargetDifferences(data, path); // never write what a reader would refuse
    return { path, data };
  }).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const dup = files.find((f, i) => i > 0 && files[i - 1]!.path === f.path);
  if (dup) throw new RelayError('USAGE', `${dup.path}: target given twice`);
  return files;
}

/** index.json content for a set of files. */
export function buildIndex(meta: BundleMetaOptions, files: BundleFile[]): BundleIndex {
  const createdAt = meta.createdAt ?? new Date();
  const expiresAt = meta.expiresAt ?? new Date(createdAt.getTime() + DEFAULT_EXPIRY_MS);
  if (expiresAt.getTime() <= createdAt.getTime()) throw new RelayError('USAGE', 'the bundle would expire before it was created; use a positive --expires-in');
  const sequence = meta.sequence ?? Math.floor(createdAt.getTime() / 1000);
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RelayError('USAGE', `sequence ${sequence} must be a non-negative integer`);
  const application = meta.application ?? `${meta.source.namespace}/${meta.source.name}`;
  checkApplicationId(application);
  const source: BundleSource = { cluster: meta.source.cluster, namespace: meta.source.namespace, kind: meta.source.kind, name: meta.source.name };
  if (meta.source.revision !== undefined) source.revision = meta.source.revision;
  if (meta.source.podTemplateHash !== undefined) source.podTemplateHash = meta.source.podTemplateHash;
  if (meta.source.commit !== undefined) source.commit = meta.source.commit;
  const index: BundleIndex = {
    formatVersion: files.some((f) => f.path.startsWith('overrides/')) ? BUNDLE_FORMAT_VERSION_OVERRIDES : BUNDLE_FORMAT_VERSION,
    producer: meta.producer ?? { name: PRODUCER_NAME, version: PRODUCER_VERSION },
    application,
    source,
    sequence,
    createdAt: isoSeconds(createdAt),
    expiresAt: isoSeconds(expiresAt),
    targets: [...new Set(meta.targets ?? [])].sort(),
    files,
  };
  // Never write what a reader would refuse (control characters in a cluster name, too many targets).
  const check = bundleIndexSchema.safeParse({ ...index, files: [] });
  if (!check.success) throw new RelayError('USAGE', `the bundle metadata is invalid: ${formatZodIssues(check.error)}`);
  return index;
}

/** Builds a deterministic bundle in memory: same objects and metadata give the same bytes everywhere. */
export function createBundle(inputs: readonly unknown[], meta: BundleMetaOptions): CreatedBundle {
  const { objects, dropped } = prepareObjects(inputs);
  // Overrides first: a streaming verifier must know them before the first manifest.
  const files = [...renderDifferences(meta.differences), ...renderManifests(objects)];
  const index = buildIndex(meta, files.map(fileEntry));
  const bytes = Buffer.concat([...tarChunks([{ path: INDEX_PATH, data: serializeIndex(index) }, ...files])]);
  return { bytes, digest: createHash('sha256').update(bytes).digest('hex'), index, objects, dropped };
}

/** Writes bytes (or chunks) to `path` atomically: a temporary file in the same directory, fsync, rename. */
export async function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    for (const c of chunks) await fh.write(c);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}

/** createBundle, then an atomic write to `path`. */
export async function writeBundleFile(path: string, inputs: readonly unknown[], meta: BundleMetaOptions): Promise<CreatedBundle> {
  const created = createBundle(inputs, meta);
  await writeFileAtomic(path, [created.bytes]);
  return created;
}

/**
 * Every object in YAML (.yaml/.yml, multi-document) and JSON files under `dir`, recursively, skipping
 * dot-files. Throws MALFORMED naming the file for unparseable input.
 */
export async function loadManifestDir(dir: string): Promise<unknown[]> {
  const files: string[] = [];
  async function walk(d: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(d);
    } catch (err) {
      throw new RelayError('USAGE', `cannot read directory ${d}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const p = join(d, name);
      const st = await stat(p);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile() && /\.(ya?ml|json)$/i.test(name)) files.push(p);
    }
  }
  await walk(dir);
  const out: unknown[] = [];
  for (const f of files) out.push(...parseManifestText(await readFile(f, 'utf8'), relative(dir, f)));
  return out;
}

/** "90s", "30m", "24h", "7d", "1h30m" → milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+)(ms|s|m|h|d)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (text === '' || consumed !== text.length || total <= 0) {
    throw new RelayError('USAGE', `duration "${text}" is not like 90s, 30m, 24h, 7d or 1h30m`);
  }
  return total;
}

/** Whether `parseDuration` takes `text` (for schema refinements). */
export function isDuration(text: string): boolean {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}
