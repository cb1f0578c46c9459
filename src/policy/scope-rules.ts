import { z } from 'zod';

/**
 * The rules of a trust policy's `scope` (design §3, Argo CD AppProject semantics): which namespaces
 * and which kinds a signed bundle may change. Pure: plain data in, plain answers out.
 */

/** Whether a kind's objects live in a namespace. */
export type KindScope = 'Namespaced' | 'Cluster';

/** An API group and kind, each a glob (`*`, `?`); the core group is "". */
export interface GroupKind {
  group: string;
  kind: string;
}

/** One `scope:` block as written, policy-wide or on a key. */
export interface ScopeRules {
  /** Namespace globs; `!glob` excludes. Policy-wide default: only the application's namespace. */
  namespaces?: string[];
  /** Cluster-scoped kinds allowed. Policy-wide default: none (only the application's Namespace object). */
  clusterResources?: GroupKind[];
  /** Cluster-scoped kinds refused even when `clusterResources` allows them. */
  clusterResourceDeny?: GroupKind[];
  /** Namespaced kinds allowed. Default: any. */
  namespaceResources?: GroupKind[];
  /** Namespaced kinds refused even inside allowed namespaces. */
  namespaceResourceDeny?: GroupKind[];
}

const groupKindSchema = z.strictObject({
  group: z.string().max(253).regex(/^[a-z0-9.*?-]*$/, 'an API group (or a glob of one); "" is the core group'),
  kind: z.string().min(1).max(63).regex(/^[A-Za-z0-9*?]+$/, 'a kind (or a glob of one)'),
});
const namespacePattern = z.string().min(1).max(64).regex(/^!?[a-z0-9*?-]+$/, 'a namespace glob, optionally negated with a leading "!"');

export const scopeRulesSchema = z.strictObject({
  namespaces: z.array(namespacePattern).optional(),
  clusterResources: z.array(groupKindSchema).optional(),
  clusterResourceDeny: z.array(groupKindSchema).optional(),
  namespaceResources: z.array(groupKindSchema).optional(),
  namespaceResourceDeny: z.array(groupKindSchema).optional(),
});

const globCache = new Map<string, RegExp>();

/** Shell-style glob match of a whole string: `*` any run, `?` one character, everything else literal. */
export function globMatch(pattern: string, value: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
    if (globCache.size < 10_000) globCache.set(pattern, re);
  }
  return re.test(value);
}

/** Argo CD destination semantics: at least one plain glob matches and no `!glob` does. */
export function namespaceMatches(patterns: readonly string[], namespace: string): boolean {
  let allowed = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), namespace)) return false;
    } else if (globMatch(p, namespace)) {
      allowed = true;
    }
  }
  return allowed;
}

export function groupKindMatches(list: readonly GroupKind[], group: string, kind: string): boolean {
  return list.some((gk) => globMatch(gk.group, group) && globMatch(gk.kind, kind));
}

export function formatGroupKind(group: string, kind: string): string {
  return `${group === '' ? 'core' : group}/${kind}`;
}

const CLUSTER_KINDS: Record<string, string[]> = {
  '': ['Namespace', 'Node', 'PersistentVolume', 'ComponentStatus'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding'],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'apiregistration.k8s.io': ['APIService'],
  'admissionregistration.k8s.io': ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding'],
  'storage.k8s.io': ['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'VolumeAttributesClass'],
  'scheduling.k8s.io': ['PriorityClass'],
  'node.k8s.io': ['RuntimeClass'],
  'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'networking.k8s.io': ['IngressClass', 'IPAddress', 'ServiceCIDR'],
  'resource.k8s.io': ['DeviceClass', 'ResourceSlice'],
  'authentication.k8s.io': ['TokenReview', 'SelfSubjectReview'],
  'authorization.k8s.io': ['SubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview'],
};
const NAMESPACED_KINDS: Record<string, string[]> = {
  '': ['Pod', 'Service', 'ConfigMap', 'Secret', 'ServiceAccount', 'Endpoints', 'PersistentVolumeClaim', 'ReplicationController', 'LimitRange', 'ResourceQuota', 'Event', 'PodTemplate', 'Binding'],
  apps: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ControllerRevision'],
  batch: ['Job', 'CronJob'],
  autoscaling: ['HorizontalPodAutoscaler'],
  policy: ['PodDisruptionBudget'],
  'networking.k8s.io': ['Ingress', 'NetworkPolicy'],
  'rbac.authorization.k8s.io': ['Role', 'RoleBinding'],
  'coordination.k8s.io': ['Lease'],
  'discovery.k8s.io': ['EndpointSlice'],
  'events.k8s.io': ['Event'],
  'storage.k8s.io': ['CSIStorageCapacity'],
  'resource.k8s.io': ['ResourceClaim', 'ResourceClaimTemplate'],
  'authorization.k8s.io': ['LocalSubjectAccessReview'],
};
const BUILTIN = new Map<string, KindScope>([
  ...Object.entries(CLUSTER_KINDS).flatMap(([g, kinds]) => kinds.map((k) => [`${g}/${k}`, 'Cluster'] as const)),
  ...Object.entries(NAMESPACED_KINDS).flatMap(([g, kinds]) => kinds.map((k) => [`${g}/${k}`, 'Namespaced'] as const)),
]);

/** Scope of a built-in Kubernetes kind, known without asking a cluster; undefined for anything else. */
export function builtinKindScope(group: string, kind: string): KindScope | undefined {
  return BUILTIN.get(`${group}/${kind}`);
}

export function groupOfApiVersion(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Prefix of rollout-relay's own objects in DR (status ConfigMaps, rollback Secrets, primary record). */
export const RESERVED_PREFIX = 'rollout-relay-';

/** rollout-relay's own ConfigMaps and Secrets: no bundle may write them, whatever the scope. */
export function isReservedObject(group: string, kind: string, name: string): boolean {
  return group === '' && (kind === 'ConfigMap' || kind === 'Secret') && name.startsWith(RESERVED_PREFIX);
}

/** An object (or inventory entry) to judge, with its kind's scope resolved. */
export interface ScopedTarget {
  group: string;
  kind: string;
  name: string;
  /** The namespace after defaulting; required when `kindScope` is Namespaced. */
  namespace?: string;
  kindScope: KindScope;
}

/** One layer of rules with the name it is reported under ("scope", "key release-1's scope"). */
export interface ScopeLayer {
  label: string;
  rules: ScopeRules;
  /** Which of the policy-wide fields are the secure defaults (for messages that say how to widen them). */
  defaulted?: { namespaces: boolean; clusterResources: boolean };
}

/**
 * The policy-wide layer with its secure defaults filled in: namespaces = the application's own,
 * clusterResources = none. A key's own layer is used as written (omitted = no further restriction).
 */
export function policyLayer(rules: ScopeRules | undefined, applicationNamespace: string): ScopeLayer {
  return {
    label: 'scope',
    rules: { ...rules, namespaces: rules?.namespaces ?? [applicationNamespace], clusterResources: rules?.clusterResources ?? [] },
    defaulted: { namespaces: rules?.namespaces === undefined, clusterResources: rules?.clusterResources === undefined },
  };
}

/** Why one layer refuses the target, or undefined when it allows it. */
export function layerRefusal(layer: ScopeLayer, t: ScopedTarget, applicationNamespace: string): string | undefined {
  const { rules, label } = layer;
  const gk = formatGroupKind(t.group, t.kind);
  const nsList = (rules.namespaces ?? []).join(', ') || 'none';
  const outsideNamespaces = (ns: string) => layer.defaulted?.namespaces
    ? `namespace ${ns} is not the application's namespace ${applicationNamespace} (the default scope; allow more with scope.namespaces)`
    : `namespace ${ns} is outside ${label}'s namespaces (${nsList})`;
  if (t.kindScope === 'Cluster') {
    const isNamespace = t.group === '' && t.kind === 'Namespace';
    if (isNamespace && rules.namespaces && !namespaceMatches(rules.namespaces, t.name)) return outsideNamespaces(t.name);
    if (rules.clusterResourceDeny && groupKindMatches(rules.clusterResourceDeny, t.group, t.kind)) return `cluster-scoped kind ${gk} is denied by ${label}'s clusterResourceDeny`;
    if (isNamespace && t.name === applicationNamespace) return undefined; // the application's own Namespace object
    if (rules.clusterResources && !groupKindMatches(rules.clusterResources, t.group, t.kind)) {
      return layer.defaulted?.clusterResources
        ? `cluster-scoped kind ${gk} is not allowed (the default scope allows none but the application's Namespace; list it in scope.clusterResources)`
        : `cluster-scoped kind ${gk} is not in ${label}'s clusterResources`;
    }
    return undefined;
  }
  const ns = t.namespace ?? '';
  if (rules.namespaces && !namespaceMatches(rules.namespaces, ns)) return outsideNamespaces(ns);
  if (rules.namespaceResources && !groupKindMatches(rules.namespaceResources, t.group, t.kind)) return `kind ${gk} is not in ${label}'s namespaceResources`;
  if (rules.namespaceResourceDeny && groupKindMatches(rules.namespaceResourceDeny, t.group, t.kind)) return `kind ${gk} is denied by ${label}'s namespaceResourceDeny`;
  return undefined;
}
