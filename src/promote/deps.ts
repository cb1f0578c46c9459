import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterTarget } from '../cluster/kubeconfig.js';
import type { TargetConfig } from '../config/types.js';
import type { RelayErrorCode } from '../errors.js';
import type { Signer } from '../signing/signer.js';
import type { PromotionResult, TargetOutcome, WorkloadRef } from './types.js';

/** A pino-compatible logger (the controller passes its pino child; the default is silent). */
export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const nullLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Kubernetes Events on the workload in primary (design §7: Events on the Rollout). */
export interface EventRecorder {
  /** `workload` is the live object (its uid ties the Event to it). Never throws. */
  warning(workload: WorkloadEventTarget, reason: string, message: string): Promise<void>;
  normal(workload: WorkloadEventTarget, reason: string, message: string): Promise<void>;
}

export interface WorkloadEventTarget extends WorkloadRef {
  apiVersion: string;
  uid?: string;
  resourceVersion?: string;
}

/**
 * Callbacks for metrics (the controller counts with prom-client; the pipeline never imports it).
 * Every callback is optional and must not throw.
 */
export interface PromotionObserver {
  /** A phase finished: export, bundle, sign (application-wide) or verify, preflight, apply, post-checks, prune ... (per target). */
  onPhase?(phase: string, ms: number, labels: { application: string; target?: string }): void;
  /** One target's outcome is known. */
  onTargetOutcome?(application: string, outcome: TargetOutcome): void;
  /** A target refused the bundle in verification (the promotion to it is paused). */
  onVerifyFailure?(code: RelayErrorCode, labels: { application: string; target: string }): void;
  /** The whole promotion finished (also when superseded). */
  onPromotion?(result: PromotionResult): void;
}

/** Everything the Promoter talks to, injected (design STYLE §2: one deps object). */
export interface PromoterDeps {
  /** The primary (source) cluster. */
  primary: KubeConfig;
  /** Clients per target. Default: from the target's kubeconfig context or its Argo CD cluster Secret in primary. */
  targetClient?: (target: TargetConfig) => Promise<ClusterTarget>;
  /** Signers. Default: from `signing.keys` (PKCS#8 files, or Secrets read from primary per promotion). */
  signers?: () => Promise<Signer[]>;
  /** Epoch ms. Default: Date.now. */
  clock?: () => number;
  logger?: Logger;
  /** Default: Events written to the primary through `primary`. */
  events?: EventRecorder;
  observer?: PromotionObserver;
  /** Health poll interval in DR, ms. Default: 250. */
  pollIntervalMs?: number;
}
