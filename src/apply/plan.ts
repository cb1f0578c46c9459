import { RelayError } from '../errors.js';
import { applyOrderKey, compareApplyOrder, sortForDelete, type KubeObject } from '../bundle/index.js';
import { APPLICATION_ANNOTATION, describeEntry, inventoryKey, type InventoryEntry } from '../status/model.js';

/**
 * Pure planning of an apply (design §4): steps from apply order and sync waves, ownership and
 * adoption decisions, and the prune set. No Kubernetes client here: plain objects in, plain data out.
 */

/** Objects applied together (concurrently, with a bound); steps run one after another. */
export interface ApplyStep {
  wave: number;
  tier: number;
  objects: KubeObject[];
}

export interface ApplyPlan {
  steps: ApplyStep[];
  /** Distinct sync waves in order; health is awaited at the end of each wave. */
  waves: number[];
  inventory: InventoryEntry[];
}

export function entryOf(obj: KubeObject): InventoryEntry {
  return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}) };
}

export function describeObject(obj: KubeObject | InventoryEntry): string {
  return 'metadata' in obj ? describeEntry(entryOf(obj)) : describeEntry(obj);
}

/**
 * The object as it is sent: a copy with the ownership annotation added and every field the server
 * owns removed (an apply never carries resourceVersion, design §4).
 */
export function desiredObject(obj: KubeObject, application: string): KubeObject {
  // A new top level and metadata; everything below is shared with `obj`, never changed (only serialised),
  // so a deep copy per object (two per apply) would be wasted work.
  const { status: _status, ...copy } = obj as KubeObject & { status?: unknown };
  const meta: Record<string, unknown> = { ...obj.metadata };
  for (const k of ['resourceVersion', 'uid', 'generation', 'creationTimestamp', 'managedFields', 'selfLink']) delete meta[k];
  meta.annotations = { ...(obj.metadata.annotations ?? {}), [APPLICATION_ANNOTATION]: application };
  return { ...copy, metadata: meta as KubeObject['metadata'] };
}

/** Groups objects by (sync wave, tier) in apply order; throws MALFORMED on a duplicate object. */
export function planApply(objects: readonly KubeObject[]): ApplyPlan {
  const seen = new Set<string>();
  const keyed = objects.map((o) => {
    const id = inventoryKey(entryOf(o));
    if (seen.has(id)) throw new RelayError('MALFORMED', `${describeObject(o)} appears twice in the bundle`);
    seen.add(id);
    return { o, k: applyOrderKey(o) };
  }).sort((a, b) => compareApplyOrder(a.k, b.k));
  const steps: ApplyStep[] = [];
  for (const { o, k } of keyed) {
    const last = steps.at(-1);
    if (last && last.wave === k.wave && last.tier === k.tier) last.objects.push(o);
    else steps.push({ wave: k.wave, tier: k.tier, objects: [o] });
  }
  return { steps, waves: [...new Set(steps.map((s) => s.wave))], inventory: keyed.map(({ o }) => entryOf(o)) };
}

/** What is known about an object that already exists in the target cluster. */
export interface LiveObjectInfo {
  annotations?: Record<string, string>;
  /** Field managers named in metadata.managedFields. */
  managers: string[];
}

export type OwnershipDecision =
  | { action: 'create' }
  | { action: 'update' }
  | { action: 'adopt' }
  | { action: 'refuse'; reason: string };

/**
 * Whether rollout-relay may write an object (design §4): new objects are created; objects this
 * application applied before (ownership annotation, or listed in its inventory) are updated; any other
 * existing object is refused (NOT_OWNED) unless adoption is configured.
 */
export function decideOwnership(live: LiveObjectInfo | undefined, entry: InventoryEntry, application: string, previousInventory: ReadonlySet<string>, adopt: boolean): OwnershipDecision {
  if (!live) return { action: 'create' };
  const owner = live.annotations?.[APPLICATION_ANNOTATION];
  if (owner === application || previousInventory.has(inventoryKey(entry))) return { action: 'update' };
  if (adopt) return { action: 'adopt' };
  const by = owner !== undefined
    ? `it belongs to rollout-relay application "${owner}"`
    : `it was not created by rollout-relay (field managers: ${live.managers.length ? live.managers.join(', ') : 'none'})`;
  return { action: 'refuse', reason: `${describeEntry(entry)} already exists and ${by}; delete it or configure adoption (--adopt) to take it over` };
}

/**
 * Objects to prune: listed in the previous inventory and absent from the new bundle, deepest first
 * (reverse apply order). Only inventory entries are ever candidates: never objects we did not create.
 */
/** The parts of a live object's field-manager record the re-apply shortcut needs. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string | Date;
}

/**
 * True when nobody but our own apply has written the object's main resource since `since` (the
 * start of the apply that completed this very bundle digest): re-applying the same bundle cannot
 * change it, so its dry run and write can be skipped. Writes to subresources (status) don't count;
 * any other manager's write at or after `since` (with a second of margin for the API server's
 * second-granular times), or a missing time, sends the object through the full path.
 */
export function untouchedSince(managedFields: readonly ManagedFieldsEntry[] | undefined, since: Date, fieldManager: string): boolean {
  if (!managedFields?.length) return false;
  const limit = since.getTime() - 1000;
  let ours = false;
  for (const m of managedFields) {
    if (m.subresource) continue;
    if (m.manager === fieldManager && m.operation === 'Apply') {
      ours = true;
      continue;
    }
    const time = m.time === undefined ? NaN : new Date(m.time).getTime();
    if (!(time < limit)) return false;
  }
  return ours;
}

export function computePrune(previous: readonly InventoryEntry[], next: readonly InventoryEntry[]): InventoryEntry[] {
  const keep = new Set(next.map(inventoryKey));
  const seen = new Set<string>();
  const gone = previous.filter((e) => {
    const k = inventoryKey(e);
    if (keep.has(k) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const asObjects = gone.map((e) => ({ apiVersion: e.apiVersion, kind: e.kind, metadata: { name: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) } }));
  return sortForDelete(asObjects).map(entryOf);
}

/** The union of two inventories, first occurrence kept. */
export function unionInventory(a: readonly InventoryEntry[], b: readonly InventoryEntry[]): InventoryEntry[] {
  const seen = new Set<string>();
  return [...a, ...b].filter((e) => {
    const k = inventoryKey(e);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Bounded concurrency over a list; every item runs, results keep input order, errors are collected. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]!, i) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
