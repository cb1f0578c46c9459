import type { RelayErrorCode } from '../errors.js';
import type { HotUpdateState } from '../status/model.js';

/** A workload in the primary whose finished rollouts are promoted (design §1, §9). */
export interface WorkloadRef {
  kind: 'Rollout' | 'Deployment';
  namespace: string;
  name: string;
}

/**
 * What the trigger saw complete: the dedupe key of design §1 is (application, revision,
 * podTemplateHash). The pipeline re-reads the workload and refuses when it no longer matches.
 */
export interface CompletedRevision {
  workload: WorkloadRef;
  /** `<namespace>/<app>` (app = the workload's app.kubernetes.io/instance label, or its name). */
  application: string;
  revision: string;
  podTemplateHash: string;
}

/** The outcome on one target. */
export interface TargetOutcome {
  target: string;
  state: HotUpdateState;
  /** Set when the target did not complete. */
  code?: RelayErrorCode;
  message: string;
  seconds: number;
  /** ms per phase on this target: verify, preflight, apply, post-checks, prune, keep. */
  phaseDurations?: Record<string, number>;
  /** `sha256:<hex>` of the bundle this outcome is about. */
  bundleDigest?: string;
}

export interface PromotionResult {
  application: string;
  revision: string;
  podTemplateHash: string;
  sequence: number;
  /** `sha256:<hex>`. */
  bundleDigest: string;
  /** ms per phase: export, bundle, sign, verify, preflight, apply, post-checks, prune ... */
  phaseDurations: Record<string, number>;
  targets: TargetOutcome[];
  /** The workload moved past the requested revision: nothing was promoted; the newer one supersedes it. */
  superseded?: { revision: string; podTemplateHash: string };
  /** Source commit (Argo CD Application's sync revision) when known. */
  commit?: string;
  /** RFC 3339 start and wall-clock seconds of the whole promotion. */
  startedAt?: string;
  seconds?: number;
}
