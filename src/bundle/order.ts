import { RelayError } from '../errors.js';
import type { KubeObject } from './types.js';

/** Argo CD's sync-wave annotation; lower waves are applied first. */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

/**
 * Apply tiers of design §4, in order. Within a sync wave, objects are applied tier by tier:
 * Namespaces, CRDs, cluster-scoped RBAC, namespaced RBAC and ServiceAccounts, ConfigMaps/Secrets,
 * storage, Services, Argo Rollouts analysis templates (a Rollout that names a template missing at
 * that moment is marked InvalidSpec), workloads, then everything else.
 */
export const APPLY_TIERS: readonly (readonly string[])[] = [
  ['Namespace'],
  ['CustomResourceDefinition'],
  ['ClusterRole', 'ClusterRoleBinding'],
  ['ServiceAccount', 'Role', 'RoleBinding'],
  ['ConfigMap', 'Secret'],
  ['StorageClass', 'PersistentVolume', 'PersistentVolumeClaim'],
  ['Service'],
  ['AnalysisTemplate', 'ClusterAnalysisTemplate'],
  ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Rollout', 'Pod', 'Job', 'CronJob'],
];
const REST_TIER = APPLY_TIERS.length;

const tierOf = new Map<string, number>(APPLY_TIERS.flatMap((kinds, tier) => kinds.map((k) => [k, tier] as const)));

export interface ApplyOrderKey {
  wave: number;
  tier: number;
  kind: string;
  namespace: string;
  name: string;
  group: string;
}

/** The sort key of one object; throws MALFORMED for a sync-wave that is not an integer. */
export function applyOrderKey(obj: KubeObject): ApplyOrderKey {
  const waveText = obj.metadata.annotations?.[SYNC_WAVE_ANNOTATION];
  let wave = 0;
  if (waveText !== undefined) {
    if (!/^\s*[-+]?\d{1,9}\s*$/.test(waveText)) {
      throw new RelayError('MALFORMED', `${obj.kind} ${obj.metadata.name}: ${SYNC_WAVE_ANNOTATION} "${waveText}" is not an integer`);
    }
    wave = Number.parseInt(waveText, 10);
  }
  const slash = obj.apiVersion.lastIndexOf('/');
  return {
    wave,
    tier: tierOf.get(obj.kind) ?? REST_TIER,
    kind: obj.kind,
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name,
    group: slash < 0 ? '' : obj.apiVersion.slice(0, slash),
  };
}

function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareApplyOrder(a: ApplyOrderKey, b: ApplyOrderKey): number {
  return cmp(a.wave, b.wave) || cmp(a.tier, b.tier) || cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.group, b.group);
}

/** A new array in apply order: sync wave, then tier, then kind, namespace, name, API group. */
export function sortForApply<T extends KubeObject>(objs: readonly T[]): T[] {
  return objs
    .map((o) => ({ o, k: applyOrderKey(o) }))
    .sort((x, y) => compareApplyOrder(x.k, y.k))
    .map((x) => x.o);
}

/** The reverse of apply order, for deleting or pruning. */
export function sortForDelete<T extends KubeObject>(objs: readonly T[]): T[] {
  return sortForApply(objs).reverse();
}
