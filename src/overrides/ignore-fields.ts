import type { IgnoreField, KubeObject } from '../bundle/index.js';
import { globMatch, groupOfApiVersion } from '../policy/scope-rules.js';
import { valueAt } from './immutable-fields.js';
import { describeSelected } from './select.js';

/** Workload kinds whose `spec.replicas` an HPA may own (the scale subresource). */
const SCALED_KINDS = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/ReplicaSet', 'argoproj.io/Rollout']);
export const REPLICAS_POINTER = '/spec/replicas';

/** `group/Kind/namespace/name`, the key HPA targets are matched by. */
function workloadKey(group: string, kind: string, namespace: string, name: string): string {
  return `${group}/${kind}/${namespace}/${name}`;
}

/**
 * Which workloads HPAs scale: `group/Kind/namespace/name` → `namespace/hpa-name`, from
 * autoscaling/v2 (or v1) HorizontalPodAutoscaler objects as read from DR or carried by the bundle.
 * Malformed entries are skipped (they scale nothing).
 */
export function hpaScaleTargets(hpas: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of hpas) {
    const hpa = h as { metadata?: { name?: unknown; namespace?: unknown }; spec?: { scaleTargetRef?: { apiVersion?: unknown; kind?: unknown; name?: unknown } } };
    const ref = hpa.spec?.scaleTargetRef;
    const ns = hpa.metadata?.namespace;
    if (typeof ns !== 'string' || typeof ref?.kind !== 'string' || typeof ref.name !== 'string') continue;
    const group = typeof ref.apiVersion === 'string' ? groupOfApiVersion(ref.apiVersion) : '';
    out.set(workloadKey(group, ref.kind, ns, ref.name), `${ns}/${String(hpa.metadata?.name ?? '?')}`);
  }
  return out;
}

/** One field rollout-relay did not send, and why. */
export interface LeftOutField {
  object: string;
  pointer: string;
  /** `ignoreFields`, `hpa <namespace>/<name>` or `rollout <namespace>/<name> <field>`. */
  reason: string;
}

export const SELECTOR_POINTER = '/spec/selector';
/** The key Argo Rollouts adds to those selectors: primary's value names primary's ReplicaSet. */
export const ROLLOUT_HASH_POINTER = '/spec/selector/rollouts-pod-template-hash';
/** The Rollout fields naming Services whose selector Argo Rollouts points at one ReplicaSet. */
const ROLLOUT_SERVICE_FIELDS = [['blueGreen', 'activeService'], ['blueGreen', 'previewService'], ['canary', 'stableService'], ['canary', 'canaryService']] as const;

/**
 * Which Services Rollouts of the bundle name (`namespace/name` → `rollout <namespace>/<name> <field>`):
 * blue-green active/preview and canary stable/canary Services. Argo Rollouts adds
 * `rollouts-pod-template-hash` to their `spec.selector`, an atomic map, and so owns all of it.
 */
export function rolloutServices(objects: readonly KubeObject[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of objects) {
    if (o.kind !== 'Rollout' || groupOfApiVersion(o.apiVersion) !== 'argoproj.io') continue;
    const strategy = (o as { spec?: { strategy?: Record<string, Record<string, unknown> | undefined> } }).spec?.strategy;
    const ns = o.metadata.namespace ?? '';
    for (const [kind, field] of ROLLOUT_SERVICE_FIELDS) {
      const name = strategy?.[kind]?.[field];
      if (typeof name === 'string' && name && !out.has(`${ns}/${name}`)) out.set(`${ns}/${name}`, `rollout ${ns}/${o.metadata.name} ${field}`);
    }
  }
  return out;
}

/** The field managers that own `spec.selector` of a live object, from its managedFields. */
export function selectorManagers(managedFields: readonly { manager?: string; fieldsV1?: object }[] | undefined): string[] {
  const owners = (managedFields ?? []).filter((m) => {
    const spec = (m.fieldsV1 as Record<string, unknown> | undefined)?.['f:spec'] as Record<string, unknown> | undefined;
    return spec !== undefined && 'f:selector' in spec;
  });
  return [...new Set(owners.map((m) => m.manager ?? '?'))];
}

/**
 * Whether `spec.selector` of a Service is left to Argo Rollouts in the target: the reason when it
 * is, else undefined. Only for a Service a bundled Rollout names (`named`, from rolloutServices) that
 * exists in the target (`liveSelectorManagers` undefined: it is created, so its selector is sent)
 * and whose selector another field manager owns. A selector rollout-relay alone owns is still sent:
 * leaving out a field it alone owns would make server-side apply delete it. Pure.
 */
export function selectorLeftToRollouts(obj: KubeObject, named: ReadonlyMap<string, string>, liveSelectorManagers: readonly string[] | undefined, fieldManager: string): string | undefined {
  if (obj.kind !== 'Service' || groupOfApiVersion(obj.apiVersion) !== '' || liveSelectorManagers === undefined) return undefined;
  const reason = named.get(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
  return reason && liveSelectorManagers.some((m) => m !== fieldManager) ? reason : undefined;
}

/**
 * Whether a Service being created in the target is sent without primary's `rollouts-pod-template-hash`
 * selector key: the reason when it is. A bundled Rollout names it, so Argo Rollouts in the target sets
 * that key itself, for its own ReplicaSet; sent with primary's value, the selector would already look
 * switched, Argo Rollouts might never write it, and rollout-relay would stay its only owner (so the
 * next release would move it to primary's new hash before DR has those pods).
 */
export function rolloutHashLeftToRollouts(obj: KubeObject, named: ReadonlyMap<string, string>, creating: boolean): string | undefined {
  if (!creating || obj.kind !== 'Service' || groupOfApiVersion(obj.apiVersion) !== '') return undefined;
  return named.get(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`);
}

/** A copy of `doc` without the value at `pointer` (the same object when there is nothing to remove). */
export function removeAt<T>(doc: T, pointer: string): T {
  if (valueAt(doc, pointer) === undefined) return doc;
  const copy = structuredClone(doc) as unknown;
  const keys = pointer.slice(1).split('/').map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur = copy as Record<string, unknown> | unknown[];
  for (const k of keys.slice(0, -1)) cur = (cur as Record<string, unknown>)[k] as Record<string, unknown> | unknown[];
  const last = keys[keys.length - 1]!;
  if (Array.isArray(cur)) cur.splice(Number(last), 1);
  else delete cur[last];
  return copy as T;
}

/**
 * The object as rollout-relay sends it to one target: without the `ignoreFields` pointers of its
 * kind, without `spec.replicas` when an HPA scales it (`hpaTargets` from hpaScaleTargets), and
 * without `spec.selector` when `rolloutSelector` (from selectorLeftToRollouts) says Argo Rollouts
 * owns it (else, on creation, without its `rollouts-pod-template-hash` key: `rolloutHash`, from
 * rolloutHashLeftToRollouts), so the DR-side owner of those fields keeps them and server-side apply sees no conflict. Pure.
 */
export function leaveOutFields(obj: KubeObject, ignoreFields: readonly IgnoreField[], hpaTargets: ReadonlyMap<string, string>, rolloutSelector?: string, rolloutHash?: string): { object: KubeObject; leftOut: LeftOutField[] } {
  const group = groupOfApiVersion(obj.apiVersion);
  const what = describeSelected(obj);
  const leftOut: LeftOutField[] = [];
  let object = obj;
  const drop = (pointer: string, reason: string) => {
    const next = removeAt(object, pointer);
    if (next !== object) leftOut.push({ object: what, pointer, reason });
    object = next;
  };
  for (const f of ignoreFields) {
    const matches = globMatch(f.kind, obj.kind) && (f.group === undefined || globMatch(f.group, group))
      && (f.namespace === undefined || globMatch(f.namespace, obj.metadata.namespace ?? '')) && (f.name === undefined || globMatch(f.name, obj.metadata.name));
    if (matches) for (const p of f.pointers) drop(p, 'ignoreFields');
  }
  const hpa = SCALED_KINDS.has(`${group}/${obj.kind}`) ? hpaTargets.get(workloadKey(group, obj.kind, obj.metadata.namespace ?? '', obj.metadata.name)) : undefined;
  if (hpa) drop(REPLICAS_POINTER, `hpa ${hpa}`);
  if (rolloutSelector) drop(SELECTOR_POINTER, rolloutSelector);
  else if (rolloutHash) drop(ROLLOUT_HASH_POINTER, rolloutHash);
  return { object, leftOut };
}
