import { createHash } from 'node:crypto';
import { readBoundedFile } from '../bounded-file.js';
import { RelayError, isRelayError } from '../errors.js';
import { fileChunks, formatDigest, inspectBundle, regularFileSize, scanBundle } from '../bundle/index.js';
import type { TrustPolicy } from '../policy/index.js';
import { verifyBundleFile, type VerifiedBundle } from '../verify/index.js';
import { enableKeepAlive, type ClusterTarget } from '../cluster/kubeconfig.js';
import { KindScopeLookup } from '../cluster/kind-scope.js';
import { StatusSequenceStore } from '../status/sequence-store.js';
import { StatusWriter } from '../status/writer.js';
import { Applier, type ApplyOptions, type ApplyReport } from './applier.js';

export interface ApplyBundleOptions extends ApplyOptions {
  bundlePath: string;
  /** Default: `<bundlePath>.sig.json`. */
  signaturePath?: string;
  policy: TrustPolicy;
  target: ClusterTarget;
}

export interface ApplyBundleResult {
  verified: VerifiedBundle;
  /** 'passed', or 'reapply' when the bundle is byte-identical to the one completed on the target. */
  sequenceCheck: 'passed' | 'reapply';
  report: ApplyReport;
}

/**
 * Verify, then apply (design §3–4). Nothing unverified is applied: the objects come only from
 * `verifyBundleFile`, whose sequence check reads the target's status ConfigMap and whose scope check
 * resolves kinds through the target's API discovery, as the apply will. Re-applying the
 * bundle that already completed on the target (same digest) is allowed and writes nothing when the
 * cluster already matches.
 */
export async function applyBundleFile(opts: ApplyBundleOptions): Promise<ApplyBundleResult> {
  const kc = enableKeepAlive(opts.target.kubeConfig);
  const kinds = KindScopeLookup.forKubeConfig(kc);
  const base = {
    bundlePath: opts.bundlePath, ...(opts.signaturePath ? { signaturePath: opts.signaturePath } : {}), policy: opts.policy, target: opts.target.name, commitSequence: false,
    resolveKind: (apiVersion: string, kind: string) => kinds.scopeOf(apiVersion, kind),
  };
  let verified: VerifiedBundle;
  let sequenceCheck: ApplyBundleResult['sequenceCheck'] = 'passed';
  try {
    verified = await verifyBundleFile({ ...base, stateStore: new StatusSequenceStore(kc) });
  } catch (err) {
    if (!isRelayError(err, 'ROLLBACK')) throw err;
    // Same sequence again: only the very bundle that completed here may be re-applied. One pass
    // reads its (untrusted) index and digest; its manifests are parsed only by the verify below.
    const untrusted = await scanBundle(fileChunks(opts.bundlePath), { totalSize: await regularFileSize(opts.bundlePath) });
    const stored = await new StatusWriter(kc, untrusted.index.application).read();
    const digest = untrusted.digest;
    if (stored?.record.state !== 'completed' || stored.record.bundleDigest !== formatDigest(digest) || stored.record.sequence !== untrusted.index.sequence) {
      await inspectBundle(opts.bundlePath); // a manifest that does not parse is still reported as MALFORMED first
      throw err;
    }
    verified = await verifyBundleFile(base);
    if (verified.digest !== digest) throw err;
    sequenceCheck = 'reapply';
  }
  // At most the verified size: a file swapped for a bigger one is refused without reading it all.
  const bytes = await readBoundedFile(opts.bundlePath, { what: 'bundle', maxBytes: verified.size, code: 'DIGEST_MISMATCH', remedy: 'it changed while it was being verified; nothing was written' });
  if (createHash('sha256').update(bytes).digest('hex') !== verified.digest) {
    throw new RelayError('DIGEST_MISMATCH', `${opts.bundlePath} changed while it was being verified; nothing was written`);
  }
  // Prune and rollback stay inside the scope the bundle was admitted under.
  const applier = new Applier(kc, verified.index.application, { ...opts, scope: verified.scope, targetName: opts.target.name });
  const report = await applier.apply({
    application: verified.index.application,
    objects: verified.objects,
    digest: verified.digest,
    sequence: verified.index.sequence,
    revision: verified.index.source.revision ?? '',
    sourceCluster: verified.index.source.cluster,
    bytes,
    commit: verified.index.source.commit ?? '',
    podTemplateHash: verified.index.source.podTemplateHash ?? '',
    keyIds: verified.keyIds,
    ...(verified.differences ? { differences: verified.differences } : {}),
  });
  return { verified, sequenceCheck, report };
}
