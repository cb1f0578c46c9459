/**
 * Health rules that agree with Argo CD's own (gitops-engine `pkg/health` and argo-cd
 * `resource_customizations` for Argo Rollouts and CRDs); test/unit/apply/argocd-health.test.ts
 * checks every upstream test case. Pure: a live object in, a verdict out. A status written for an
 * older spec never passes as healthy, and an object being deleted is never healthy.
 */
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';

export interface Health {
  status: HealthStatus;
  message: string;
}

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; generation?: number; deletionTimestamp?: string; finalizers?: string[]; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

const healthy = (message = ''): Health => ({ status: 'Healthy', message });
const progressing = (message: string): Health => ({ status: 'Progressing', message });
const degraded = (message: string): Health => ({ status: 'Degraded', message });
const suspended = (message: string): Health => ({ status: 'Suspended', message });

function num(v: unknown, dflt = 0): number {
  return typeof v === 'number' ? v : dflt;
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

interface Condition { type?: string; status?: string; reason?: string; message?: string }
function conditionsOf(value: unknown): Condition[] {
  return Array.isArray(value) ? (value.filter((c) => typeof c === 'object' && c !== null) as Condition[]) : [];
}
function conditions(o: Obj): Condition[] {
  return conditionsOf(o.status?.conditions);
}
function condition(o: Obj, type: string): Condition | undefined {
  return conditions(o).find((c) => c.type === type);
}

/** Argo CD: a controller must have observed the current generation (observedGeneration ≥ generation). */
function generationObserved(o: Obj): boolean {
  return num(o.metadata?.generation) <= num(o.status?.observedGeneration);
}

function deployment(o: Obj): Health {
  if (o.spec?.paused === true) return suspended('deployment is paused');
  if (!generationObserved(o)) return progressing('waiting for the controller to observe the current generation');
  const s = o.status ?? {};
  if (condition(o, 'Progressing')?.reason === 'ProgressDeadlineExceeded') return degraded(`deployment ${str(o.metadata?.name)} exceeded its progress deadline`);
  const want = num(o.spec?.replicas, 1);
  const updated = num(s.updatedReplicas);
  if (updated < want) return progressing(`${updated} of ${want} new replicas updated`);
  if (num(s.replicas) > updated) return progressing(`${num(s.replicas) - updated} old replicas pending termination`);
  if (num(s.availableReplicas) < updated) return progressing(`${num(s.availableReplicas)} of ${updated} updated replicas available`);
  return healthy(`${want} replicas available`);
}

function statefulSet(o: Obj): Health {
  const s = o.status ?? {};
  if (num(s.observedGeneration) === 0 || !generationObserved(o)) return progressing('waiting for the statefulset spec update to be observed');
  const want = num(o.spec?.replicas, 1);
  if (num(s.readyReplicas) < want) return progressing(`waiting for ${want - num(s.readyReplicas)} pods to be ready`);
  const strategy = (o.spec?.updateStrategy ?? {}) as { type?: string; rollingUpdate?: { partition?: number } };
  if (strategy.type === 'RollingUpdate' && strategy.rollingUpdate !== undefined) {
    const partition = strategy.rollingUpdate.partition;
    if (partition !== undefined && num(s.updatedReplicas) < want - partition) return progressing(`${num(s.updatedReplicas)} of ${want - partition} partitioned pods updated`);
    return healthy(`partitioned roll out complete: ${num(s.updatedReplicas)} new pods`);
  }
  if (strategy.type === 'OnDelete') return healthy(`OnDelete strategy: ${num(s.readyReplicas)} ready pods`);
  if (s.updateRevision !== s.currentRevision) return progressing(`waiting for revision ${str(s.updateRevision)} on all pods`);
  return healthy(`${want} pods ready at revision ${str(s.currentRevision)}`);
}

function daemonSet(o: Obj): Health {
  if (!generationObserved(o)) return progressing('waiting for the controller to observe the current generation');
  const s = o.status ?? {};
  const desired = num(s.desiredNumberScheduled);
  if ((o.spec?.updateStrategy as { type?: string } | undefined)?.type === 'OnDelete') return healthy('OnDelete strategy');
  if (num(s.updatedNumberScheduled) < desired) return progressing(`${num(s.updatedNumberScheduled)} of ${desired} pods updated`);
  if (num(s.numberAvailable) < desired) return progressing(`${num(s.numberAvailable)} of ${desired} pods available`);
  return healthy(`${desired} pods available`);
}

const WORKLOAD_GENERATION_ANNOTATION = 'rollout.argoproj.io/workload-generation';

/** Lua's tonumber(a) == tonumber(b): two non-numbers are equal, a number equals only itself. */
function sameNumber(a: unknown, b: unknown): boolean {
  const x = Number.parseFloat(String(a));
  const y = Number.parseFloat(String(b));
  return Number.isNaN(x) ? Number.isNaN(y) : x === y;
}

/**
 * Argo Rollouts, as Argo CD's Rollout health.lua: the spec (and, with workloadRef, the referenced
 * workload) must be observed; a phase (v1.0+) is trusted; without one the conditions and the
 * replica counts decide. v0.9 layouts (observedGeneration a hash, status.canary.stableRS) still work.
 */
function rollout(o: Obj): Health {
  const s = o.status;
  if (s === undefined) return progressing('waiting for rollout spec update to be observed');
  const observed = Number.parseFloat(String(s.observedGeneration));
  // A non-numeric (hash) or larger observedGeneration is a v0.9 Rollout: it has no generation to compare.
  const specObserved = Number.isNaN(observed) || observed > num(o.metadata?.generation) || observed === num(o.metadata?.generation);
  // With workloadRef, the referenced workload's generation (an annotation) must be observed too; a
  // v1.0 Rollout has neither value, which counts as observed (Lua: nil == nil).
  const workloadObserved = o.spec?.workloadRef === undefined || o.metadata?.annotations === undefined || sameNumber(o.metadata.annotations[WORKLOAD_GENERATION_ANNOTATION], s.workloadObservedGeneration);
  if (!specObserved || !workloadObserved) return progressing('waiting for rollout spec update to be observed');
  if (s.phase !== undefined && s.phase !== null) {
    const message = str(s.message);
    if (s.phase === 'Paused') return suspended(message);
    if (s.phase === 'Healthy' || s.phase === 'Progressing' || s.phase === 'Degraded' || s.phase === 'Suspended') return { status: s.phase, message };
    return progressing(message || `rollout phase ${String(s.phase)}`);
  }
  for (const c of conditionsOf(s.conditions)) {
    if (c.type === 'InvalidSpec') return degraded(str(c.message));
    if (c.type === 'Progressing' && (c.reason === 'RolloutAborted' || c.reason === 'ProgressDeadlineExceeded')) return degraded(str(c.message));
  }
  if ((Array.isArray(s.pauseConditions) && s.pauseConditions.length > 0) || o.spec?.paused === true) return suspended('rollout is paused');
  if (s.currentPodHash === undefined) return progressing('waiting for rollout to finish: status has not been reconciled');
  const want = num(o.spec?.replicas, 1);
  const updated = num(s.updatedReplicas);
  if (updated < want) return progressing('waiting for roll out to finish: more replicas need to be updated');
  if (num(s.availableReplicas) < updated) return progressing('waiting for roll out to finish: updated replicas are still becoming available');
  const stableRS = str(s.stableRS) || str((s.canary as { stableRS?: unknown } | undefined)?.stableRS);
  const strategy = (o.spec?.strategy ?? {}) as { blueGreen?: unknown; canary?: unknown };
  if (strategy.blueGreen !== undefined && strategy.blueGreen !== null) {
    if ((s.blueGreen as { activeSelector?: unknown } | undefined)?.activeSelector !== s.currentPodHash) return progressing('active service cutover pending');
    if (stableRS !== '' && stableRS !== s.currentPodHash) return progressing('waiting for analysis to complete');
  } else if (strategy.canary !== undefined && strategy.canary !== null) {
    if (num(s.replicas) > updated) return progressing('waiting for roll out to finish: old replicas are pending termination');
    if (stableRS === '' || stableRS !== s.currentPodHash) return progressing('waiting for rollout to finish steps');
  }
  return healthy();
}

/** Job: Failed → Degraded, Complete → Healthy, Suspended → Suspended, else Progressing. */
function job(o: Obj): Health {
  let complete = false;
  let failed: Condition | undefined;
  let suspendedJob = false;
  let message = '';
  for (const c of conditions(o)) {
    if (c.type === 'Failed') {
      failed = c;
      complete = true;
    } else if (c.type === 'Complete') {
      complete = true;
      message = str(c.message);
    } else if (c.type === 'Suspended') {
      complete = true;
      message = str(c.message);
      if (c.status === 'True') suspendedJob = true;
    }
  }
  if (!complete) return progressing(message || `job running: ${num(o.status?.succeeded)} succeeded, ${num(o.status?.active)} active`);
  if (failed) return degraded(`job failed: ${str(failed.message) || str(failed.reason)}`.trim());
  if (suspendedJob) return suspended('job is suspended');
  return healthy(message || 'job complete');
}

function pvc(o: Obj): Health {
  const phase = o.status?.phase;
  if (phase === 'Bound') return healthy('bound');
  if (phase === 'Lost') return degraded('claim lost its volume');
  return progressing(`claim is ${String(phase ?? 'Pending')}`);
}

function loadBalancerIngress(o: Obj): boolean {
  const ingress = (o.status?.loadBalancer as { ingress?: unknown[] } | undefined)?.ingress;
  return Array.isArray(ingress) && ingress.length > 0;
}

function service(o: Obj): Health {
  if (o.spec?.type !== 'LoadBalancer') return healthy();
  return loadBalancerIngress(o) ? healthy('load balancer provisioned') : progressing('waiting for a load balancer address');
}

function ingress(o: Obj): Health {
  return loadBalancerIngress(o) ? healthy('load balancer provisioned') : progressing('waiting for a load balancer address');
}

function apiService(o: Obj): Health {
  const available = condition(o, 'Available');
  if (!available) return progressing('waiting to be processed');
  const message = `${str(available.reason)}: ${str(available.message)}`;
  return available.status === 'True' ? healthy(message) : progressing(message);
}

/**
 * CRD, as Argo CD's CustomResourceDefinition health.lua: terminating → Progressing, names not
 * accepted or a non-structural schema → Degraded, Established False other than while installing →
 * Degraded.
 */
function crd(o: Obj): Health {
  const list = o.status?.conditions;
  if (!Array.isArray(list) || list.length === 0) return progressing('status conditions not found');
  let established = false;
  for (const c of conditionsOf(list)) {
    if (c.type === 'Terminating' && c.status === 'True') return progressing(`CRD is terminating: ${str(c.message)}`);
    if (c.type === 'NamesAccepted' && c.status === 'False') return degraded(`CRD names have not been accepted: ${str(c.message)}`);
    if (c.type === 'NonStructuralSchema' && c.status === 'True') return degraded(`schema violations found: ${str(c.message)}`);
    if (c.type === 'Established') {
      if (c.status === 'True') established = true;
      else if (c.reason === 'Installing') return progressing('CRD is being installed');
    }
  }
  return established ? healthy('CRD is healthy') : degraded('CRD is not established');
}

const HPA_DEGRADED = new Set(['AbleToScale/FailedGetScale', 'AbleToScale/FailedUpdateScale', 'ScalingActive/FailedGetResourceMetric', 'ScalingActive/InvalidSelector']);

/** HPA: conditions (autoscaling/v1 keeps them in an annotation). */
function hpa(o: Obj): Health {
  let list: Condition[];
  if (o.apiVersion === 'autoscaling/v1') {
    const raw = o.metadata?.annotations?.['autoscaling.alpha.kubernetes.io/conditions'];
    try {
      list = raw === undefined ? [] : conditionsOf(JSON.parse(raw));
    } catch {
      return progressing('conditions annotation is not JSON');
    }
  } else list = conditions(o);
  for (const c of list) {
    if (HPA_DEGRADED.has(`${str(c.type)}/${str(c.reason)}`)) return degraded(str(c.message));
    if ((c.type === 'AbleToScale' || c.type === 'ScalingLimited') && c.status === 'True') return healthy(str(c.message));
  }
  return progressing('waiting to autoscale');
}

interface ContainerStatus { name?: string; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; message?: string; exitCode?: number } }; lastState?: { terminated?: unknown } }

/** Pod, as gitops-engine: crash loops and image errors are Degraded, Running and Ready is Healthy. */
function pod(o: Obj): Health {
  const s = o.status ?? {};
  const restart = o.spec?.restartPolicy;
  const statuses = (Array.isArray(s.containerStatuses) ? s.containerStatuses : []) as ContainerStatus[];
  const message = str(s.message);
  if (restart === 'Always') {
    const bad = statuses.map((c) => c.state?.waiting).filter((w) => w && (str(w.reason).startsWith('Err') || str(w.reason).endsWith('Error') || str(w.reason).endsWith('BackOff')));
    if (bad.length) return degraded(bad.map((w) => str(w!.message)).join(', '));
  }
  switch (s.phase) {
    case 'Pending':
      return progressing(message);
    case 'Succeeded':
      return healthy(message);
    case 'Failed': {
      if (message) return degraded(message);
      const all = [...((Array.isArray(s.initContainerStatuses) ? s.initContainerStatuses : []) as ContainerStatus[]), ...statuses];
      for (const c of all) {
        const t = c.state?.terminated;
        if (t?.message) return degraded(t.message);
        if (t?.reason === 'OOMKilled') return degraded('OOMKilled');
        if (t && num(t.exitCode) !== 0) return degraded(`container ${JSON.stringify(str(c.name))} failed with exit code ${num(t.exitCode)}`);
      }
      return degraded('');
    }
    case 'Running':
      if (restart === 'Always') {
        if (condition(o, 'Ready')?.status === 'True') return healthy(message);
        if (statuses.some((c) => c.lastState?.terminated !== undefined)) return degraded(message);
      }
      return progressing(message);
  }
  return progressing(message || 'pod phase unknown');
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
  'networking.k8s.io/Ingress': ingress,
  'extensions/Ingress': ingress,
  'apiregistration.k8s.io/APIService': apiService,
  'autoscaling/HorizontalPodAutoscaler': hpa,
  '/Pod': pod,
};

/**
 * Kinds assessed but not awaited by apply: their health depends on components a DR cluster may not
 * run (an ingress controller, a metrics server, an aggregated API server), and bare Pods are not
 * what a bundle promotes.
 */
const NOT_AWAITED = new Set(['networking.k8s.io/Ingress', 'extensions/Ingress', 'apiregistration.k8s.io/APIService', 'autoscaling/HorizontalPodAutoscaler', '/Pod']);

function ruleKey(apiVersion: string, kind: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return `${slash < 0 ? '' : apiVersion.slice(0, slash)}/${kind}`;
}

/** Whether apply waits for this kind to become healthy (others count once they exist). */
export function hasHealthRule(apiVersion: string, kind: string): boolean {
  const key = ruleKey(apiVersion, kind);
  return key in RULES && !NOT_AWAITED.has(key);
}

/**
 * The health of one live object. Like Argo CD, an object with a deletionTimestamp is Progressing
 * ("pending deletion") whatever its status says; kinds without a rule are healthy once they exist.
 */
export function assessHealth(live: Obj): Health {
  if (live.metadata?.deletionTimestamp) return progressing('pending deletion');
  const rule = RULES[ruleKey(live.apiVersion ?? '', live.kind ?? '')];
  return rule ? rule(live) : healthy();
}
