/**
 * What belongs to an application and what of it may travel (design §9 "What belongs to an
 * application", §4 export hygiene). Pure: plain objects in, plain objects out. Canonicalisation
 * (server-managed fields, clusterIP, Argo CD tracking, controller-owned objects, Helm release
 * Secrets) stays in src/bundle/canonical.ts; this module does what only an exporter can know.
 */
import { RelayError } from '../errors.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../status/model.js';

export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
export const ARGOCD_TRACKING_ANNOTATION = 'argocd.argoproj.io/tracking-id';
export const HOOK_ANNOTATIONS = ['argocd.argoproj.io/hook', 'helm.sh/hook'] as const;
/** Labels the Job controller generates (and its selector matches): recreated in DR. */
export const JOB_GENERATED_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid', 'job-name', 'batch.kubernetes.io/job-name'] as const;
/** Annotations the PV binder writes on a claim in primary. */
export const PVC_BIND_ANNOTATIONS = [
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
  'volume.beta.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/selected-node',
] as const;
/** Secret types that are a cluster's own identity, never an application's content. */
const IDENTITY_SECRET_TYPES = ['kubernetes.io/service-account-token', 'helm.sh/release.v1', 'bootstrap.kubernetes.io/token'];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface LiveObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** The application a workload belongs to (design §9 "Names"). */
export interface ApplicationIdentity {
  namespace: string;
  /** `app.kubernetes.io/instance` value, or the workload's name. A DNS-1123 label. */
  app: string;
  /** `<namespace>/<app>`. */
  application: string;
  /** The Argo CD application named in the workload's tracking id, when it has one. */
  argoApp?: string;
}

/** Argo CD's tracking id is `<app>:<group>/<kind>:<namespace>/<name>`; the app part is before the first colon. */
export function argoAppOf(obj: LiveObject): string | undefined {
  const id = obj.metadata?.annotations?.[ARGOCD_TRACKING_ANNOTATION];
  if (!id) return undefined;
  const app = id.split(':')[0];
  return app ? app : undefined;
}

/** The application of a workload; CONFIG_INVALID naming the workload when its name is unusable. */
export function applicationOf(workload: LiveObject): ApplicationIdentity {
  const namespace = workload.metadata?.namespace ?? '';
  const name = workload.metadata?.name ?? '';
  const instance = workload.metadata?.labels?.[INSTANCE_LABEL];
  const app = instance ?? name;
  if (!DNS_LABEL.test(app)) {
    const from = instance !== undefined ? `its ${INSTANCE_LABEL} label "${instance}"` : `its name`;
    throw new RelayError('CONFIG_INVALID', `${workload.kind ?? 'workload'} ${namespace}/${name}: the application name comes from ${from} and must be a DNS-1123 label (lower-case letters, digits, "-", at most 63); set ${INSTANCE_LABEL} to such a name`);
  }
  const argoApp = argoAppOf(workload);
  return { namespace, app, application: `${namespace}/${app}`, ...(argoApp ? { argoApp } : {}) };
}

/** True when the object carries the application's instance label or the same Argo CD app in its tracking id. */
export function belongsTo(obj: LiveObject, id: ApplicationIdentity): boolean {
  if (obj.metadata?.labels?.[INSTANCE_LABEL] === id.app) return true;
  const argo = argoAppOf(obj);
  return argo !== undefined && argo === (id.argoApp ?? id.app);
}

function groupOf(apiVersion: string | undefined): string {
  const v = apiVersion ?? '';
  const s = v.lastIndexOf('/');
  return s < 0 ? '' : v.slice(0, s);
}

/** Kinds that never travel (design §4): made by primary's controllers or primary-only. */
export function neverExported(group: string, kind: string): boolean {
  return (group === '' && (kind === 'Endpoints' || kind === 'Event' || kind === 'Binding' || kind === 'ComponentStatus'))
    || (group === 'discovery.k8s.io' && kind === 'EndpointSlice')
    || (group === 'events.k8s.io' && kind === 'Event')
    || (group === 'coordination.k8s.io' && kind === 'Lease')
    || (group === 'metrics.k8s.io');
}

export type ExportDecision = { keep: LiveObject; drop?: undefined } | { keep?: undefined; drop: string };

function describe(o: LiveObject): string {
  return `${o.kind ?? '?'} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'}`;
}

function without(map: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> | undefined {
  if (!map) return undefined;
  const out = { ...map };
  for (const k of keys) delete out[k];
  return Object.keys(out).length ? out : undefined;
}

function setOrDelete(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined) delete obj[key];
  else obj[key] = value;
}

/**
 * Decides whether one object of the application travels and, if so, returns a copy with the
 * controller-made fields of design §4 removed (Jobs' generated selector and labels, PVC binding).
 */
export function exportObject(obj: LiveObject, opts: { includeSecrets: boolean }): ExportDecision {
  const group = groupOf(obj.apiVersion);
  const kind = obj.kind ?? '';
  const where = describe(obj);
  if (neverExported(group, kind)) return { drop: `${where}: made by primary's controllers` };
  const annotations = obj.metadata?.annotations ?? {};
  const hook = HOOK_ANNOTATIONS.find((a) => annotations[a] !== undefined);
  if (hook) return { drop: `${where}: a hook object (${hook}) belongs to primary's sync` };
  if (obj.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) return { drop: `${where}: rollout-relay's own record` };
  if (group === '' && kind === 'Secret') {
    const type = typeof obj.type === 'string' ? obj.type : '';
    if (IDENTITY_SECRET_TYPES.includes(type)) return { drop: `${where}: ${type} Secrets are primary-only` };
    if (!opts.includeSecrets) return { drop: `${where}: Secrets travel only with export.includeSecrets: true` };
  }
  const copy = structuredClone(obj) as LiveObject & Record<string, unknown>;
  if (group === 'batch' && kind === 'Job') {
    const spec = (copy.spec ?? {}) as Record<string, unknown>;
    if (spec.manualSelector !== true) delete spec.selector;
    const tmeta = ((spec.template ?? {}) as { metadata?: { labels?: Record<string, string> } }).metadata;
    if (tmeta) setOrDelete(tmeta as Record<string, unknown>, 'labels', without(tmeta.labels, JOB_GENERATED_LABELS));
    setOrDelete(copy.metadata as Record<string, unknown>, 'labels', without(copy.metadata?.labels, JOB_GENERATED_LABELS));
  }
  if (group === '' && kind === 'PersistentVolumeClaim') {
    const spec = (copy.spec ?? {}) as Record<string, unknown>;
    delete spec.volumeName;
    setOrDelete(copy.metadata as Record<string, unknown>, 'annotations', without(copy.metadata?.annotations, PVC_BIND_ANNOTATIONS));
  }
  return { keep: copy };
}
