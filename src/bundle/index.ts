/**
 * Manifest bundles (design §2): canonical objects in a deterministic ustar tar with an index.json,
 * and a hostile-input-safe streaming reader. Pure: no Kubernetes client, no processes.
 *
 * - `createBundle(objects, meta)` → `{ bytes, digest, index, objects, dropped }` (same input, same bytes)
 * - `writeBundleFile(path, objects, meta)` → the same, written atomically
 * - `readBundle(path, limits?)` → `{ index, objects, digest, size, manifests }`, every file checked
 *   against index.json (no signature check; see src/verify for `verifyBundleFile`)
 * - `inspectBundle(path)` → metadata, objects and digests, untrusted
 * - `scanBundle(source, options)` → the streaming core (constant memory unless manifests are kept)
 * - `applyOrderKey(obj)` / `sortForApply(objs)` → design §4 apply order, shared with the apply engine
 */
export type { BundleFile, BundleIndex, BundleMetadata, BundleSource, JsonValue, KubeObject } from './types.js';
export { canonicaliseObject, objectIdentity, toCanonicalJson, SERVER_MANAGED_METADATA, STRIPPED_ANNOTATIONS, STRIPPED_LABELS } from './canonical.js';
export { applyOrderKey, compareApplyOrder, sortForApply, sortForDelete, APPLY_TIERS, SYNC_WAVE_ANNOTATION, type ApplyOrderKey } from './order.js';
export { formatDigest, parseDigest, sha256Hex } from './digest.js';
export {
  BUNDLE_FORMAT_VERSION,
  BUNDLE_FORMAT_MAJOR,
  INDEX_PATH,
  indexMetadata,
  parseIndex,
  serializeIndex,
  checkFormatVersion,
  formatZodIssues,
  APPLICATION_ID,
  MAX_TARGETS,
} from './index-file.js';
export { checkJsonBounds, parseJsonBounded, type JsonBounds } from './bounded-json.js';
export { parseRfc3339, parseUtcTimestamp } from './timestamp.js';
export { parseManifestText, stringifyManifest, parseBundleManifest } from './manifest-yaml.js';
export {
  buildIndex,
  createBundle,
  fileEntry,
  loadManifestDir,
  manifestPath,
  parseDuration,
  prepareObjects,
  renderDifferences,
  renderManifests,
  writeBundleFile,
  writeFileAtomic,
  DEFAULT_EXPIRY_MS,
  type BundleMetaOptions,
  type CreatedBundle,
} from './create.js';
export {
  hasDifferences,
  overrideName,
  overridesPath,
  parseTargetDifferences,
  serializeTargetDifferences,
  targetDifferencesDigest,
  ignoreFieldSchema,
  overrideSchema,
  MAX_OVERRIDES,
  MAX_OVERRIDES_FILE_BYTES,
  OVERRIDES_NAME,
  type IgnoreField,
  type JsonPatchOperation,
  type ObjectSelector,
  type Override,
  type TargetDifferences,
} from './overrides-file.js';
export { tarChunks, tarHeader, tarSize, TAR_MTIME, TAR_MODE, type TarFile } from './tar-writer.js';
export { DEFAULT_READ_LIMITS, resolveLimits, decodeHeader, BundleTarParser, type BundledDifferences, type ManifestCallback, type ReadLimits } from './tar-reader.js';
export { checkEntryPath, checkRegularFile, EntryBudget, shownPath, type EntryBounds } from './entry-checks.js';
export { fileChunks, regularFileSize, type ByteSource } from './source.js';
export { inspectBundle, readBundle, readBundleBytes, scanBundle, objectsOf, type BundleInspection, type ReadBundle, type ScanOptions, type ScanResult } from './reader.js';
