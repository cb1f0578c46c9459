import type { IgnoreField, Override } from '../bundle/overrides-file.js';
import type { HookRunner, OnHookFailure } from '../hooks/types.js';

/**
 * The validated RelayConfig of design §9: what the controller and the one-shot `promote` read
 * (`--config FILE`). Paths are already resolved against the config file's directory. Produced
 * once by `loadRelayConfig` (src/config/load.ts), frozen, and passed to each module as the slice
 * it needs. Defaults are noted per field.
 */
export interface RelayConfig {
  /** Absolute path of the config file and its directory (relative paths were resolved against it). */
  file: string;
  baseDir: string;
  source: {
    /** Source cluster name stamped into every bundle. */
    cluster: string;
    /** Kubeconfig context of the primary; undefined = in-cluster (or the kubeconfig's current context). */
    context?: string;
    /** Kubeconfig file; undefined = $KUBECONFIG / ~/.kube/config / in-cluster. */
    kubeconfig?: string;
  };
  watch: {
    /** Namespaces to watch; undefined = all. */
    namespaces?: string[];
    /** Label selector on Rollouts and Deployments. Default: "rollout-relay.io/promote=true". */
    selector: string;
    /** Event reasons that hint a completion. Default: [RolloutCompleted, RolloutSucceeded]. */
    eventReasons: string[];
  };
  export: {
    /** Secrets travel only when asked (the bundle is signed, not encrypted). Default: false. */
    includeSecrets: boolean;
  };
  signing: {
    /** Private signing keys: PKCS#8 PEM files, or a Secret in the source cluster. At least one. */
    keys: SigningKeyRef[];
  };
  /** Absolute path of the trust policy every target verifies against before any write. */
  trustPolicy: string;
  targets: TargetConfig[];
  /** The `hooks:` list, validated into a runner (design §5). Default: none. */
  hooks: HookRunner;
  /** Default: rollback. */
  onHookFailure: OnHookFailure;
  timeouts: {
    /** Detection to `completed`, per promotion, in ms. Default: 100000 (the seed's SLA). */
    promotionMs: number;
    /**
     * Bound of each Kubernetes API request, in ms, on every client made for this config (primary and
     * each target; a Lease request keeps its own bound, half the renew deadline). Default: 60000, or
     * the promotion timeout when that is shorter. Between 1 s and the promotion timeout.
     */
    apiRequestMs: number;
  };
  /** HTTP endpoints of design §10; undefined = no server. */
  server?: {
    /** host:port. */
    listen: string;
    /** Bearer token file for POST /api/v1/notify. */
    tokenFile?: string;
    /** Bearer token file for the read API (GET /api/v1/applications/...); default: the notify token. */
    statusTokenFile?: string;
  };
  /** Lease leader election; undefined = single instance (always leader). */
  leaderElection?: {
    namespace: string;
    leaseName: string;
    /** Defaults: 15 s lease, 10 s renew deadline, 2 s retry period. */
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  /** Where Argo CD Applications and cluster Secrets live. Default: { namespace: "argocd" }. */
  argocd: { namespace: string };
  /** ApplicationSet plugin generator settings (design §7). Default: undefined (not served). */
  plugin?: {
    listen?: string;
    tokenFile?: string;
    /** Default: 600000 (10 m). */
    cacheTtlMs: number;
    /** Default: 0.2. */
    maxDropShare: number;
    /** Default: 3. */
    confirmReads: number;
    /** The ConfigMap in primary that shares the guard's memory across restarts and replicas. Default: `<leaderElection.namespace>/rollout-relay-plugin-state`, none without leader election. */
    stateConfigMap?: { namespace: string; name: string };
  };
  /** GitHub reporting (design §7). Default: undefined. */
  github?: { repo: string; tokenEnv: string; deployments: boolean };
}

export type SigningKeyRef =
  | { file: string }
  | { secret: { namespace: string; name: string }; key: string };

export interface TargetConfig {
  /** The policy's target name (also the cluster name recorded in status and metrics). */
  name: string;
  /** Exactly one of `context` (kubeconfig context) or `clusterSecret` (Argo CD cluster Secret in the source, "NAMESPACE/NAME"). */
  context?: string;
  kubeconfig?: string;
  clusterSecret?: { namespace: string; name: string };
  /** full: promote every Rollout in full after apply (no canary replay); steps: keep the steps. Default: full. */
  rollouts: 'full' | 'steps';
  /** apply: rollout-relay applies; gate: verify, record and publish only. Default: apply. */
  mode: 'apply' | 'gate';
  /**
   * Signed per-target differences (design §9): patches applied in DR to the verified objects they
   * select, in order. They travel inside the bundle as `overrides/<name>.json`. Default: none.
   */
  overrides: Override[];
  /** JSON pointers per kind that rollout-relay never sends to this target (signed too). Default: none. */
  ignoreFields: IgnoreField[];
}
