import type { KubeObject } from '../bundle/types.js';

/**
 * The form a Rollout takes in a DR target promoted in full (`targets[].rollouts: full`, design §4).
 *
 * Why: DR does not replay the release, it takes over what primary already judged. Promotion in full
 * is a status write (`status.promoteFull`) that can only land after the Argo Rollouts controller has
 * seen the new pod template, and by then that controller has already started the first canary step.
 * When that step is an analysis (the RPO guard is one), its AnalysisRun is created at once; if it
 * errors or fails before `promoteFull` lands (a Secret that exists only in primary, a query that
 * judges DR itself), the Rollout aborts, DR reports Degraded and the promotion rolls back. Argo
 * Rollouts offers no way to skip steps before it sees the template, so the DR copy leaves out what
 * judges or runs on its own: analysis, experiment and plugin steps, background analysis and
 * blue-green pre/post-promotion analysis. Pauses and weights stay; `promoteFull` skips them.
 *
 * Pure: anything that is not an Argo Rollout comes back as it is; a Rollout comes back as a copy.
 */
export function drRolloutForFullPromotion(o: KubeObject): KubeObject {
  if (o.kind !== 'Rollout' || !o.apiVersion.startsWith('argoproj.io/')) return o;
  const strategy = (o as { spec?: { strategy?: unknown } }).spec?.strategy;
  if (!isRecord(strategy)) return o;
  const copy = structuredClone(o) as KubeObject & { spec: { strategy: Record<string, unknown> } };
  const canary = copy.spec.strategy.canary;
  if (isRecord(canary)) {
    delete canary.analysis;
    if (Array.isArray(canary.steps)) {
      const kept = canary.steps.filter((s) => !(isRecord(s) && JUDGING_STEP_KEYS.some((k) => k in s)));
      if (kept.length > 0) canary.steps = kept;
      else delete canary.steps;
    }
  }
  const blueGreen = copy.spec.strategy.blueGreen;
  if (isRecord(blueGreen)) {
    delete blueGreen.prePromotionAnalysis;
    delete blueGreen.postPromotionAnalysis;
  }
  return copy;
}

/** Canary step kinds that judge the release or run something of their own (and can abort it). */
const JUDGING_STEP_KEYS = ['analysis', 'experiment', 'plugin'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
