import type { KubeConfig } from '@kubernetes/client-node';

/**
 * What a promotion hands its post-hooks (design §5): which revision must be proven, on which DR
 * cluster, and by when. Every check names the revision/digest it expects, so a gate never passes
 * on state that belongs to another revision.
 */
export interface HookContext {
  /** `<namespace>/<app>`. */
  application: string;
  namespace: string;
  app: string;
  /** The target cluster's name (as in the trust policy and `targets[].name`). */
  target: string;
  revision: string;
  podTemplateHash: string;
  /** `sha256:<hex>` of the bundle that was applied. */
  digest: string;
  /** The DR cluster. */
  kubeConfig: KubeConfig;
  /** Epoch ms: no hook runs past the promotion deadline; each hook's timeout is capped by it. */
  deadline: number;
  signal?: AbortSignal;
}

/** One post-check result, as stored in the status ConfigMap's `post_checks` (design §6). */
export interface PostCheckResult {
  name: string;
  type: string;
  passed: boolean;
  /** What was measured (share, value, job condition), as text. */
  observed: string;
  seconds: number;
  /** The revision (pod-template-hash or revision) this check expected. */
  revision: string;
  message: string;
}

/**
 * Runs the configured hooks of one target in order and returns every result. A failed check is a
 * result with `passed: false`, not an exception; exceptions mean the runner itself broke.
 */
export interface HookRunner {
  /** How many hooks are configured (0 = post-checks pass trivially). */
  readonly count: number;
  run(ctx: HookContext): Promise<PostCheckResult[]>;
  /**
   * Removes what earlier runs left in DR for the application that no configured hook will ever
   * replace (Jobs of Job hooks since removed from the config). Returns what it deleted.
   */
  cleanUp(ctx: Pick<HookContext, 'kubeConfig' | 'application'>): Promise<string[]>;
}

/** What a failed post-check does (design §5): roll back to the last completed bundle, or keep DR as applied (status failed). */
export type OnHookFailure = 'rollback' | 'keep';
