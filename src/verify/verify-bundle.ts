import { readBoundedFile } from '../bounded-file.js';
import { indexMetadata } from '../bundle/index-file.js';
import { parseBundleManifest } from '../bundle/manifest-yaml.js';
import { objectsOf, scanBundle } from '../bundle/reader.js';
import { bundleFileSource } from '../bundle/parallel-digest.js';
import { regularFileSize, type ByteSource } from '../bundle/source.js';
import type { ReadLimits } from '../bundle/tar-reader.js';
import type { BundleIndex, BundleMetadata, KubeObject } from '../bundle/types.js';
import type { BundledDifferences } from '../bundle/tar-reader.js';
import type { IgnoreField, Override } from '../bundle/overrides-file.js';
import { OverrideSet, type AppliedOverride } from '../overrides/apply-overrides.js';
import { RelayError } from '../errors.js';
import { checkBundleMetadata, checkSequence, decideSignatures } from '../policy/evaluate.js';
import { BundleScope, type KindResolver } from '../policy/scope.js';
import type { SequenceStateStore } from '../policy/state-store.js';
import type { TrustPolicy } from '../policy/trust-policy.js';
import { parseEnvelope, MAX_ENVELOPE_BYTES, type Envelope } from '../signing/dsse.js';
import { checkEnvelopeSignatures } from '../signing/envelope.js';
import { parseStatement, type BundleStatement } from '../signing/statement.js';

export interface VerifyOptions {
  policy: TrustPolicy;
  /** Cluster the bundle is to be applied to. Without it, target checks are skipped (and reported so). */
  target?: string;
  /** Replay/rollback protection. Without it the sequence check is skipped (and reported so). */
  stateStore?: SequenceStateStore;
  /** Record the bundle's sequence as accepted after success. Default: true. An apply engine that only
   * wants to record after a successful apply passes false and calls `stateStore.put` itself. */
  commitSequence?: boolean;
  /** Parse and return the objects. Default: true. false keeps memory constant for huge bundles. */
  loadObjects?: boolean;
  /** Default: now. */
  now?: Date;
  /** Read caps; maxBundleBytes defaults to the policy's. */
  limits?: ReadLimits;
  /**
   * Scope of kinds neither built in nor defined by the bundle's CRDs (apply passes the target's API
   * discovery). Without it such an object without a namespace is refused unless the scope allows it
   * both cluster-wide and in the application's namespace.
   */
  resolveKind?: KindResolver;
}

export interface VerifyBundleFileOptions extends VerifyOptions {
  bundlePath: string;
  /** Default: `<bundlePath>.sig.json`. Ignored when `envelope` is given. */
  signaturePath?: string;
  /** The DSSE envelope itself (e.g. inline from a ConfigMap or Secret). */
  envelope?: string | Buffer;
}

/** A bundle that passed every check; apply only what this returns. */
export interface VerifiedBundle {
  index: BundleIndex;
  /**
   * Canonical objects in apply order, namespaced kinds without a namespace defaulted to the
   * application's namespace (as apply writes them); empty when `loadObjects` was false.
   */
  objects: KubeObject[];
  /** Lower-case hex SHA-256 of the bundle file (the signed subject). */
  digest: string;
  size: number;
  /** Distinct trusted keys that counted toward the threshold. */
  keyIds: string[];
  keyNames: string[];
  threshold: number;
  statement: BundleStatement;
  target?: string;
  targetCheck: 'passed' | 'skipped';
  sequenceCheck: 'passed' | 'skipped';
  /** 'skipped' only for a policy without scope (`bundle verify --key`). */
  scopeCheck: 'passed' | 'skipped';
  /** The scope the bundle was admitted under (for prune and rollback); undefined when not checked. */
  scope?: BundleScope;
  /** Last sequence accepted before this one, when a store was given and had one. */
  previousSequence?: number;
  /** Signatures present but not counted (bad, unknown, revoked, not allowed), when the threshold was met anyway. */
  ignoredSignatures: { keyid: string; reason: string }[];
  /**
   * The target's signed differences (`overrides/<target>.json`), when the bundle carries any for it:
   * `objects` above already have the overrides applied (the scope judged them patched);
   * `ignoreFields` are for the applier to leave out. Only with a target.
   */
  differences?: VerifiedDifferences;
}

export interface VerifiedDifferences {
  /** `sha256:<hex>` of the overrides file, as signed. */
  digest: string;
  overrides: Override[];
  ignoreFields: IgnoreField[];
  /** Which override patched which objects (empty when `loadObjects` was false and nothing was patched). */
  applied: AppliedOverride[];
}

/** Applies one target's overrides, built lazily from the first manifest (the overrides files precede them). */
class TargetPatcher {
  private set: OverrideSet | undefined;
  private bundled: BundledDifferences | undefined;
  private ready = false;

  constructor(private readonly target: string | undefined, private readonly applicationNamespace: string) {}

  patch(obj: KubeObject, differences: ReadonlyMap<string, BundledDifferences>): KubeObject {
    if (!this.ready) this.start(differences);
    return this.set ? this.set.patch(obj) : obj;
  }

  /** After the last manifest: throws PREFLIGHT_FAILED naming bad overrides; returns what the target gets. */
  finish(differences: ReadonlyMap<string, BundledDifferences>): VerifiedDifferences | undefined {
    if (!this.ready) this.start(differences);
    if (!this.bundled) return undefined;
    const applied = this.set ? this.set.finish() : [];
    const d = this.bundled.differences;
    return { digest: `sha256:${this.bundled.sha256}`, overrides: d.overrides, ignoreFields: d.ignoreFields, applied };
  }

  private start(differences: ReadonlyMap<string, BundledDifferences>): void {
    this.ready = true;
    if (this.target === undefined) return;
    this.bundled = differences.get(this.target);
    if (this.bundled?.differences.overrides.length) this.set = new OverrideSet(this.bundled.differences, { code: 'PREFLIGHT_FAILED', applicationNamespace: this.applicationNamespace });
  }
}

function sameMetadata(a: BundleMetadata, b: BundleMetadata): boolean {
  return JSON.stringify(indexMetadata({ ...a, files: [] })) === JSON.stringify(indexMetadata({ ...b, files: [] }));
}

/**
 * Verifies a bundle from any byte source against a DSSE envelope and a trust policy, in this order:
 * envelope shape, signatures and threshold (BAD_SIGNATURE, UNKNOWN_KEY, THRESHOLD_NOT_MET,
 * SOURCE/TARGET_NOT_ALLOWED), expiry and target (EXPIRED, TARGET_NOT_ALLOWED), sequence (ROLLBACK),
 * then one streaming pass over the bundle (DIGEST_MISMATCH, FILE_DIGEST_MISMATCH, UNSAFE_ENTRY,
 * UNLISTED_ENTRY, MISSING_ENTRY, TOO_LARGE, UNSUPPORTED_FORMAT, MALFORMED), then the scope of every
 * object (OUT_OF_SCOPE, judged one file at a time). Throws a RelayError.
 */
export async function verifyBundleSource(source: ByteSource, totalSize: number | undefined, envelope: Envelope, options: VerifyOptions): Promise<VerifiedBundle> {
  const { policy, target } = options;
  const { payload, checks } = checkEnvelopeSignatures(envelope, policy.keys);
  // Enough trusted keys must have signed these exact bytes before any deep work on them (the source
  // cluster is inside the payload, so it is checked once the payload is parsed). An altered or
  // hostile payload thus costs one hash and a few signature checks, and reports the signature problem.
  decideSignatures(checks, policy, target !== undefined ? { target } : {});
  const statement = parseStatement(payload);
  const meta = statement.predicate;
  const decision = decideSignatures(checks, policy, { source: meta.source.cluster, ...(target !== undefined ? { target } : {}) });
  checkBundleMetadata(meta, { ...(target !== undefined ? { target } : {}), ...(options.now ? { now: options.now } : {}) });
  let previousSequence: number | undefined;
  if (options.stateStore) {
    if (target === undefined) throw new RelayError('USAGE', 'a sequence state store needs a target cluster (--target) to check replay and rollback');
    previousSequence = await checkSequence(options.stateStore, meta, target);
  }
  const loadObjects = options.loadObjects ?? true;
  const scope = policy.scopeCheck === 'off' ? undefined : new BundleScope(policy, decision.keyIds, meta.application, options.resolveKind);
  // Without loaded objects, judge each manifest as it streams by and drop it.
  const streamed = scope && !loadObjects ? scope.check() : undefined;
  // The target's signed overrides patch each object before the scope judges it: an override must not move an object out of scope.
  const patcher = new TargetPatcher(target, meta.application.split('/')[0]!);
  const scan = await scanBundle(source, {
    limits: { ...options.limits, maxBundleBytes: options.limits?.maxBundleBytes ?? policy.maxBundleBytes },
    keepManifests: loadObjects,
    ...(totalSize !== undefined ? { totalSize } : {}),
    expectedDigest: statement.subject[0].digest.sha256,
    ...(streamed ? { onManifest: (path: string, bytes: Buffer, differences: ReadonlyMap<string, BundledDifferences>) => streamed.observe(patcher.patch(parseBundleManifest(bytes, path), differences)) } : {}),
  });
  if (!sameMetadata(indexMetadata(scan.index), meta)) {
    throw new RelayError('MALFORMED', 'index.json disagrees with the signed statement (sequence, targets, source or times); re-create and re-sign the bundle');
  }
  let objects = loadObjects ? objectsOf(scan).map((o) => patcher.patch(o, scan.differences)) : [];
  const differences = patcher.finish(scan.differences);
  if (streamed) await streamed.finish();
  else if (scope) objects = await scope.admit(objects);
  if (options.stateStore && target !== undefined && (options.commitSequence ?? true)) {
    await options.stateStore.put(meta.application, target, meta.sequence);
  }
  return {
    index: scan.index,
    objects,
    digest: scan.digest,
    size: scan.size,
    keyIds: decision.keyIds,
    keyNames: decision.keyNames,
    threshold: decision.threshold,
    statement,
    ...(target !== undefined ? { target } : {}),
    targetCheck: target !== undefined ? 'passed' : 'skipped',
    sequenceCheck: options.stateStore ? 'passed' : 'skipped',
    scopeCheck: scope ? 'passed' : 'skipped',
    ...(scope ? { scope } : {}),
    ...(previousSequence !== undefined ? { previousSequence } : {}),
    ignoredSignatures: decision.ignored,
    ...(differences ? { differences } : {}),
  };
}

export async function readEnvelopeFile(path: string): Promise<Envelope> {
  const size = await regularFileSize(path);
  if (size > MAX_ENVELOPE_BYTES) throw new RelayError('TOO_LARGE', `signature file ${path} is ${size} bytes, above ${MAX_ENVELOPE_BYTES}; refused`);
  // Read under the same cap: the file may be replaced by a bigger one after the size check.
  return parseEnvelope(await readBoundedFile(path, { what: 'signature', maxBytes: MAX_ENVELOPE_BYTES, code: 'TOO_LARGE', remedy: 'refused' }), path);
}

/** The entry point for the apply engine and the CLI: verify a bundle file and its signature. */
export async function verifyBundleFile(options: VerifyBundleFileOptions): Promise<VerifiedBundle> {
  const envelope = options.envelope !== undefined ? parseEnvelope(options.envelope, 'inline signature') : await readEnvelopeFile(options.signaturePath ?? `${options.bundlePath}.sig.json`);
  const totalSize = await regularFileSize(options.bundlePath);
  const max = options.limits?.maxBundleBytes ?? options.policy.maxBundleBytes;
  if (totalSize > max) throw new RelayError('TOO_LARGE', `bundle is ${totalSize} bytes, above the policy's maxBundleBytes ${max}; refused`);
  return verifyBundleSource(bundleFileSource(options.bundlePath, totalSize), totalSize, envelope, options);
}

/** The same over in-memory bytes (bundle and envelope from a ConfigMap/Secret, tests). */
export async function verifyBundleBytes(bundle: Buffer, envelope: string | Buffer, options: VerifyOptions): Promise<VerifiedBundle> {
  return verifyBundleSource([bundle], bundle.length, parseEnvelope(envelope), options);
}
