/**
 * When a rollout counts as finished (design §1), judged from the object's own status so a lost or
 * duplicated Event never loses or repeats a promotion. Pure.
 */

export interface Completion {
  complete: boolean;
  /** Why not (or a summary when complete). */
  reason: string;
  revision: string;
  podTemplateHash: string;
}

type Cond = { type?: string; status?: string; reason?: string };
type Workload = {
  kind?: string;
  metadata?: { generation?: number; annotations?: Record<string, string>; deletionTimestamp?: unknown };
  spec?: { replicas?: number; paused?: boolean };
  status?: Record<string, unknown> & { conditions?: Cond[] };
};

const REVISION_ANNOTATION: Record<string, string> = {
  Rollout: 'rollout.argoproj.io/revision',
  Deployment: 'deployment.kubernetes.io/revision',
};

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function not(reason: string, revision = '', podTemplateHash = ''): Completion {
  return { complete: false, reason, revision, podTemplateHash };
}

/**
 * An Argo Rollout is complete when the controller observed the current spec, stableRS equals
 * currentPodHash, every replica is updated and available, and it is neither paused, aborted nor
 * degraded. A Deployment is complete when Progressing says NewReplicaSetAvailable and every
 * replica is updated and available. `podTemplateHash` for a Deployment is the hash label of its
 * newest ReplicaSet, which the caller passes in (the Deployment status does not carry it).
 */
export function judgeCompletion(w: Workload, deploymentPodTemplateHash = ''): Completion {
  const kind = w.kind ?? '';
  const revision = w.metadata?.annotations?.[REVISION_ANNOTATION[kind] ?? ''] ?? '';
  const s = w.status ?? {};
  if (w.metadata?.deletionTimestamp) return not('being deleted', revision);
  const gen = w.metadata?.generation;
  const observedRaw = s.observedGeneration;
  const observed = typeof observedRaw === 'string' ? Number(observedRaw) : observedRaw;
  if (gen !== undefined && observed !== gen) return not(`generation ${gen} not observed yet (observed ${String(observedRaw ?? 'none')})`, revision);
  const want = w.spec?.replicas ?? 1;
  const conds = Array.isArray(s.conditions) ? s.conditions : [];
  const replicasReady = num(s.updatedReplicas) === want && num(s.availableReplicas) === want && num(s.replicas) === want;

  if (kind === 'Rollout') {
    const hash = typeof s.currentPodHash === 'string' ? s.currentPodHash : '';
    const stable = typeof s.stableRS === 'string' ? s.stableRS : '';
    if (w.spec?.paused || s.pauseConditions !== undefined && Array.isArray(s.pauseConditions) && s.pauseConditions.length > 0) return not('paused', revision, hash);
    if (s.abort === true) return not('aborted', revision, hash);
    if (s.phase === 'Degraded' || conds.some((c) => c.type === 'InvalidSpec' && c.status === 'True')) return not('degraded', revision, hash);
    if (!hash || stable !== hash) return not(`stableRS ${stable || 'none'} is not currentPodHash ${hash || 'none'}`, revision, hash);
    if (!replicasReady) return not(`replicas not all updated and available (${num(s.availableReplicas)}/${want})`, revision, hash);
    if (s.phase !== undefined && s.phase !== 'Healthy') return not(`phase ${String(s.phase)}`, revision, hash);
    return { complete: true, reason: `stableRS ${stable} == currentPodHash`, revision, podTemplateHash: hash };
  }
  if (kind === 'Deployment') {
    if (w.spec?.paused) return not('paused', revision, deploymentPodTemplateHash);
    const progressing = conds.find((c) => c.type === 'Progressing');
    if (progressing?.reason !== 'NewReplicaSetAvailable' || progressing.status !== 'True') return not(`Progressing is ${progressing?.reason ?? 'missing'}`, revision, deploymentPodTemplateHash);
    if (!replicasReady) return not(`replicas not all updated and available (${num(s.availableReplicas)}/${want})`, revision, deploymentPodTemplateHash);
    if (!deploymentPodTemplateHash) return not('the newest ReplicaSet is not known yet', revision);
    return { complete: true, reason: 'NewReplicaSetAvailable', revision, podTemplateHash: deploymentPodTemplateHash };
  }
  return not(`kind ${kind || 'unknown'} is not a Rollout or Deployment`);
}
