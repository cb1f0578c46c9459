/**
 * Health rules in the spirit of Argo CD's resource health checks (pure: a live object in, a verdict
 * out). Every rule first checks that the controller observed the current generation, so a status
 * written for an older spec never passes as healthy.
 */
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';

export interface Health {
  status: HealthStatus;
  message: string;
}

type Obj = { apiVersion?: string; kind?: string; metadata?: { generation?: number }; spec?: Record<string, unknown>; status?: Record<string, unknown> };

const healthy = (message = ''): Health => ({ status: 'Healthy', message });
const progressing = (message: string): Health => ({ status: 'Progressing', message });
const degraded = (message: string): Health => ({ status: 'Degraded', message });

function num(v: unknown, dflt = 0): number {
  return typeof v === 'number' ? v : dflt;
}

interface Condition { type?: string; status?: string; reason?: string; message?: string }
function conditions(o: Obj): Condition[] {
  const c = o.status?.conditions;
  return Array.isArray(c) ? (c as Condition[]) : [];
}
function condition(o: Obj, type: string): Condition | undefined {
  return conditions(o).find((c) => c.type === type);
}

/** observedGeneration must have caught up with metadata.generation (Rollouts keep it as a string). */
function staleGeneration(o: Obj): Health | undefined {
  const gen = o.metadata?.generation;
  if (gen === undefined) return undefined;
  const observed = o.status?.observedGeneration;
  const obs = typeof observed === 'string' ? Number(observed) : observed;
  if (typeof obs !== 'number' || Number.isNaN(obs) || obs < gen) {
    return progressing(`waiting for the controller to observe generation ${gen} (observed ${observed === undefined ? 'none' : String(observed)})`);
  }
  return undefined;
}

function deployment(o: Obj): Health {
  if (o.spec?.paused === true) return { status: 'Suspended', message: 'deployment is paused' };
  const stale = staleGeneration(o);
  if (stale) return stale;
  const prog = condition(o, 'Progressing');
  if (prog?.reason === 'ProgressDeadlineExceeded') return degraded(`deployment exceeded its progress deadline`);
  const want = num(o.spec?.replicas, 1);
  const s = o.status ?? {};
  const updated = num(s.updatedReplicas);
  if (updated < want) return progressing(`${updated} of ${want} updated replicas`);
  if (num(s.replicas) > updated) return progressing(`${num(s.replicas) - updated} old replicas pending termination`);
  if (num(s.availableReplicas) < updated) return progressing(`${num(s.availableReplicas)} of ${updated} updated replicas available`);
  return healthy(`${want} replicas available`);
}

function statefulSet(o: Obj): Health {
  const stale = staleGeneration(o);
  if (stale) return stale;
  const want = num(o.spec?.replicas, 1);
  const s = o.status ?? {};
  const strategy = (o.spec?.updateStrategy ?? {}) as { type?: string; rollingUpdate?: { partition?: number } };
  if (num(s.readyReplicas) < want) return progressing(`${num(s.readyReplicas)} of ${want} pods ready`);
  if (num(s.availableReplicas, num(s.readyReplicas)) < want) return progressing(`${num(s.availableReplicas)} of ${want} pods available`);
  if (strategy.type === 'OnDelete') return healthy('OnDelete strategy: pods are replaced when deleted');
  const partition = num(strategy.rollingUpdate?.partition);
  if (partition > 0) {
    if (num(s.updatedReplicas) < want - partition) return progressing(`${num(s.updatedReplicas)} of ${want - partition} partitioned pods updated`);
    return healthy(`partitioned roll out complete`);
  }
  if (s.updateRevision !== undefined && s.currentRevision !== s.updateRevision) return progressing(`waiting for revision ${String(s.updateRevision)} on all pods`);
  return healthy(`${want} pods ready`);
}

function daemonSet(o: Obj): Health {
  const stale = staleGeneration(o);
  if (stale) return stale;
  const s = o.status ?? {};
  const desired = num(s.desiredNumberScheduled);
  const strategy = (o.spec?.updateStrategy ?? {}) as { type?: string };
  if (strategy.type === 'OnDelete') return healthy('OnDelete strategy');
  if (num(s.updatedNumberScheduled) < desired) return progressing(`${num(s.updatedNumberScheduled)} of ${desired} pods updated`);
  if (num(s.numberAvailable) < desired) return progressing(`${num(s.numberAvailable)} of ${desired} pods available`);
  return healthy(`${desired} pods available`);
}

function rollout(o: Obj): Health {
  const stale = staleGeneration(o);
  if (stale) return stale;
  const s = o.status ?? {};
  if (o.spec?.paused === true || s.pauseConditions !== undefined && Array.isArray(s.pauseConditions) && s.pauseConditions.length > 0) {
    return { status: 'Suspended', message: 'rollout is paused' };
  }
  if (s.abort === true) return degraded('rollout was aborted');
  const phase = s.phase;
  if (phase === 'Degraded') return degraded(String(s.message ?? 'rollout degraded'));
  if (phase === 'Paused') return { status: 'Suspended', message: String(s.message ?? 'rollout paused') };
  if (s.stableRS === undefined || s.stableRS !== s.currentPodHash) return progressing(`stable ReplicaSet ${String(s.stableRS)} is not the current pod hash ${String(s.currentPodHash)}`);
  const want = num(o.spec?.replicas, 1);
  if (num(s.updatedReplicas) < want) return progressing(`${num(s.updatedReplicas)} of ${want} updated replicas`);
  if (num(s.availableReplicas) < want) return progressing(`${num(s.availableReplicas)} of ${want} replicas available`);
  if (phase !== undefined && phase !== 'Healthy') return progressing(String(s.message ?? `rollout phase ${String(phase)}`));
  return healthy(`${want} replicas available`);
}

function job(o: Obj): Health {
  const failed = condition(o, 'Failed');
  if (failed?.status === 'True') return degraded(`job failed: ${failed.message ?? failed.reason ?? ''}`.trim());
  const complete = condition(o, 'Complete');
  if (complete?.status === 'True') return healthy('job complete');
  if (o.spec?.suspend === true) return { status: 'Suspended', message: 'job is suspended' };
  return progressing(`job running: ${num(o.status?.succeeded)} succeeded, ${num(o.status?.active)} active`);
}

function pvc(o: Obj): Health {
  const phase = o.status?.phase;
  if (phase === 'Bound') return healthy('bound');
  if (phase === 'Lost') return degraded('claim lost its volume');
  return progressing(`claim is ${String(phase ?? 'Pending')}`);
}

function service(o: Obj): Health {
  if (o.spec?.type !== 'LoadBalancer') return healthy();
  const ingress = (o.status?.loadBalancer as { ingress?: unknown[] } | undefined)?.ingress;
  if (Array.isArray(ingress) && ingress.length > 0) return healthy('load balancer provisioned');
  return progressing('waiting for a load balancer address');
}

function crd(o: Obj): Health {
  const names = condition(o, 'NamesAccepted');
  if (names?.status === 'False') return degraded(`names not accepted: ${names.message ?? ''}`.trim());
  if (condition(o, 'Established')?.status === 'True') return healthy('established');
  return progressing('waiting for Established');
}

const RULES: Record<string, (o: Obj) => Health> = {
  'apps/Deployment': deployment,
  'apps/StatefulSet': statefulSet,
  'apps/DaemonSet': daemonSet,
  'argoproj.io/Rollout': rollout,
  'batch/Job': job,
  '/PersistentVolumeClaim': pvc,
  '/Service': service,
  'apiextensions.k8s.io/CustomResourceDefinition': crd,
};

function ruleKey(apiVersion: string, kind: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return `${slash < 0 ? '' : apiVersion.slice(0, slash)}/${kind}`;
}

/** Whether a kind has a health rule (others are healthy once they exist). */
export function hasHealthRule(apiVersion: string, kind: string): boolean {
  return ruleKey(apiVersion, kind) in RULES;
}

/** The health of one live object; kinds without a rule are healthy as soon as they exist. */
export function assessHealth(live: Obj): Health {
  const rule = RULES[ruleKey(live.apiVersion ?? '', live.kind ?? '')];
  return rule ? rule(live) : healthy();
}
