import type { KubeObject } from '../bundle/types.js';
import { RelayError } from '../errors.js';
import type { InventoryEntry } from '../status/model.js';
import {
  builtinKindScope, formatGroupKind, groupOfApiVersion, isReservedObject, layerRefusal, policyLayer, RESERVED_PREFIX,
  type KindScope, type ScopedTarget, type ScopeLayer, type ScopeRules,
} from './scope-rules.js';
import type { TrustPolicy } from './trust-policy.js';

/**
 * What a verified bundle may change (design §3 "Scope"), judged for the keys that counted toward the
 * threshold: an object is in scope when at least `threshold` of them allow it (policy-wide scope and the
 * key's own). Pure: the kinds a cluster serves come in through a `KindResolver` the caller supplies.
 */

/** Scope of a kind the bundle does not define and the built-in table does not know; undefined = unknown. */
export type KindResolver = (apiVersion: string, kind: string) => Promise<KindScope | undefined>;

export interface ScopeViolation {
  /** "Kind namespace/name" as the rest of rollout-relay names objects. */
  object: string;
  reason: string;
}

/** OUT_OF_SCOPE with every offending object (the first MAX_LISTED of them) and the rule it breaks. */
export class OutOfScopeError extends RelayError {
  constructor(message: string, readonly violations: ScopeViolation[], readonly total: number) {
    super('OUT_OF_SCOPE', message);
  }
}

/** The interface the applier uses for prune and rollback (it never deletes or restores outside the scope). */
export interface ScopeGuard {
  /** The objects with namespaces defaulted as apply writes them; throws OutOfScopeError. */
  admit(objects: readonly KubeObject[]): Promise<KubeObject[]>;
  /** The same without throwing: the objects inside (defaulted) and why the others are outside. */
  partition(objects: readonly KubeObject[]): Promise<{ inside: KubeObject[]; outside: ScopeViolation[] }>;
  /** Inventory entries the scope does not allow (to delete), with the reason. */
  outside(entries: readonly InventoryEntry[]): Promise<ScopeViolation[]>;
}

const MAX_LISTED = 100;

function describe(kind: string, name: string, namespace?: string): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

function keyLayers(policyWide: ScopeLayer, keyName: string, keyScope: ScopeRules | undefined): ScopeLayer[] {
  return keyScope ? [policyWide, { label: `key ${keyName}'s scope`, rules: keyScope }] : [policyWide];
}

/** The scope a bundle of `application` was admitted under, for the keys that counted. */
export class BundleScope implements ScopeGuard {
  readonly applicationNamespace: string;
  private readonly keys: { name: string; layers: ScopeLayer[] }[];
  private readonly threshold: number;
  private readonly kindCache = new Map<string, Promise<KindScope | undefined>>();

  constructor(policy: TrustPolicy, countedKeyIds: readonly string[], readonly application: string, private readonly resolveKind?: KindResolver) {
    this.applicationNamespace = application.split('/')[0] ?? '';
    const wide = policyLayer(policy.scope, this.applicationNamespace);
    this.keys = countedKeyIds.map((id) => {
      const key = policy.keys.find((k) => k.keyId === id);
      return { name: key?.name ?? id.slice(0, 16), layers: keyLayers(wide, key?.name ?? id.slice(0, 16), key?.scope) };
    });
    this.threshold = policy.threshold;
  }

  /** Why the target is outside the scope of too many counted keys; undefined when it is allowed. */
  refusal(t: ScopedTarget): string | undefined {
    if (isReservedObject(t.group, t.kind, t.name)) {
      return `${t.kind} names starting with "${RESERVED_PREFIX}" are reserved for rollout-relay's own status and rollback objects; no bundle may write them`;
    }
    const results = this.keys.map((k) => ({ name: k.name, why: k.layers.map((l) => layerRefusal(l, t, this.applicationNamespace)).find((r) => r !== undefined) }));
    const allowed = results.filter((r) => r.why === undefined).length;
    if (allowed >= this.threshold) return undefined;
    const refused = results.filter((r) => r.why !== undefined);
    const distinct = [...new Set(refused.map((r) => r.why))];
    if (allowed === 0 && distinct.length === 1) return distinct[0];
    return `allowed by ${allowed} of the ${this.threshold} signing keys required (${refused.map((r) => `${r.name}: ${r.why}`).join('; ')})`;
  }

  /** Resolves a kind: the bundle's own CRDs first, then the built-in table, then the caller's resolver. */
  async kindScope(apiVersion: string, kind: string, bundleCrds?: ReadonlyMap<string, KindScope>): Promise<KindScope | undefined> {
    const group = groupOfApiVersion(apiVersion);
    const known = builtinKindScope(group, kind) ?? bundleCrds?.get(`${group}/${kind}`);
    if (known || !this.resolveKind) return known;
    const key = `${apiVersion}/${kind}`;
    let p = this.kindCache.get(key);
    if (!p) {
      p = this.resolveKind(apiVersion, kind);
      this.kindCache.set(key, p);
    }
    return p;
  }

  /** A streaming check: `observe` each object (one file at a time), then `finish`. */
  check(options: { defaultNamespaces?: boolean } = {}): ScopeCheck {
    return new ScopeCheck(this, options.defaultNamespaces ?? false);
  }

  async admit(objects: readonly KubeObject[]): Promise<KubeObject[]> {
    const check = this.check({ defaultNamespaces: true });
    for (const o of objects) check.observe(o);
    return withDefaults(objects, await check.finish());
  }

  async partition(objects: readonly KubeObject[]): Promise<{ inside: KubeObject[]; outside: ScopeViolation[] }> {
    const check = this.check({ defaultNamespaces: true });
    for (const o of objects) check.observe(o);
    const { defaults, refused, violations } = await check.settle();
    return { inside: withDefaults(objects, defaults).filter((_, i) => !refused.has(i)), outside: violations };
  }

  async outside(entries: readonly InventoryEntry[]): Promise<ScopeViolation[]> {
    const out: ScopeViolation[] = [];
    for (const e of entries) {
      // Inventory entries were recorded after defaulting: a namespace means a namespaced object.
      const kindScope = (await this.kindScope(e.apiVersion, e.kind)) ?? (e.namespace ? 'Namespaced' : 'Cluster');
      const why = this.refusal({ group: groupOfApiVersion(e.apiVersion), kind: e.kind, name: e.name, ...(e.namespace ? { namespace: e.namespace } : {}), kindScope });
      if (why !== undefined) out.push({ object: describe(e.kind, e.name, e.namespace), reason: why });
    }
    return out;
  }
}

function withDefaults(objects: readonly KubeObject[], defaults: ReadonlyMap<number, string>): KubeObject[] {
  return objects.map((o, i) => {
    const ns = defaults.get(i);
    return ns === undefined ? o : { ...o, metadata: { ...o.metadata, namespace: ns } };
  });
}

interface PendingObject {
  index: number;
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/**
 * Judges a bundle's objects as they stream by. Objects of built-in kinds are judged at once; other
 * kinds wait for `finish`, when every CRD of the bundle has been seen (a CRD may come after its
 * objects, and its `scope` decides whether a namespace field means anything). Memory: the CRD
 * kinds and one small record per custom object, never the objects themselves.
 */
export class ScopeCheck {
  private readonly crds = new Map<string, KindScope>();
  private readonly pending: PendingObject[] = [];
  private readonly violations: ScopeViolation[] = [];
  private total = 0;
  private count = 0;
  private readonly defaults = new Map<number, string>();
  /** Indexes of refused objects (only when tracking defaults, i.e. objects are in memory anyway). */
  private readonly refused = new Set<number>();

  constructor(private readonly scope: BundleScope, private readonly trackDefaults: boolean) {}

  observe(obj: KubeObject): void {
    const index = this.count++;
    const group = groupOfApiVersion(obj.apiVersion);
    if (group === 'apiextensions.k8s.io' && obj.kind === 'CustomResourceDefinition') {
      const spec = obj.spec as { group?: unknown; names?: { kind?: unknown }; scope?: unknown } | undefined;
      if (typeof spec?.group === 'string' && typeof spec.names?.kind === 'string' && (spec.scope === 'Namespaced' || spec.scope === 'Cluster')) {
        const key = `${spec.group}/${spec.names.kind}`;
        // Two CRDs disagreeing on a kind's scope: judge its objects as cluster-scoped (the stricter reading).
        this.crds.set(key, this.crds.get(key) === 'Cluster' ? 'Cluster' : spec.scope);
      }
    }
    const { name, namespace } = obj.metadata;
    const builtin = builtinKindScope(group, obj.kind);
    if (builtin) this.judge(index, group, obj.kind, name, namespace, builtin);
    else this.pending.push({ index, apiVersion: obj.apiVersion, kind: obj.kind, name, ...(namespace ? { namespace } : {}) });
  }

  /** Judges what waited for the CRDs; throws OUT_OF_SCOPE naming every offender. Returns defaulted namespaces by index. */
  async finish(): Promise<Map<number, string>> {
    await this.settle();
    if (this.total > 0) {
      const listed = this.violations.map((v) => `  ${v.object}: ${v.reason}`).join('\n');
      const more = this.total > this.violations.length ? `\n  ... and ${this.total - this.violations.length} more` : '';
      throw new OutOfScopeError(
        `${this.total} object(s) of ${this.scope.application} are outside the trust policy's scope; nothing was written (widen the policy's scope or drop them from the bundle):\n${listed}${more}`,
        [...this.violations],
        this.total,
      );
    }
    return this.defaults;
  }

  /** Judges what waited for the CRDs, without throwing. */
  async settle(): Promise<{ defaults: Map<number, string>; refused: Set<number>; violations: ScopeViolation[]; total: number }> {
    for (const p of this.pending.splice(0)) {
      const group = groupOfApiVersion(p.apiVersion);
      const kindScope = await this.scope.kindScope(p.apiVersion, p.kind, this.crds);
      if (kindScope) {
        this.judge(p.index, group, p.kind, p.name, p.namespace, kindScope);
      } else if (p.namespace) {
        this.judge(p.index, group, p.kind, p.name, p.namespace, 'Namespaced');
      } else {
        // Unknown kind, no namespace: it may land cluster-wide or in the application's namespace; both must be allowed.
        const asCluster = this.scope.refusal({ group, kind: p.kind, name: p.name, kindScope: 'Cluster' });
        const asNamespaced = this.scope.refusal({ group, kind: p.kind, name: p.name, namespace: this.scope.applicationNamespace, kindScope: 'Namespaced' });
        const why = asCluster ?? asNamespaced;
        if (why !== undefined) {
          this.violate(p.index, describe(p.kind, p.name), `kind ${formatGroupKind(group, p.kind)} has no namespace and cannot be resolved offline (no CRD for it in the bundle), so it may be cluster-scoped: ${why}; give it a namespace or list the kind in scope.clusterResources`);
        }
      }
    }
    return { defaults: this.defaults, refused: this.refused, violations: [...this.violations], total: this.total };
  }

  private judge(index: number, group: string, kind: string, name: string, namespace: string | undefined, kindScope: KindScope): void {
    let ns = kindScope === 'Namespaced' ? namespace : undefined;
    if (kindScope === 'Namespaced' && !ns) {
      // Apply writes a namespaced object without a namespace into the application's namespace: judge it there.
      ns = this.scope.applicationNamespace;
      if (this.trackDefaults) this.defaults.set(index, ns);
    }
    const why = this.scope.refusal({ group, kind, name, ...(ns ? { namespace: ns } : {}), kindScope });
    if (why !== undefined) this.violate(index, describe(kind, name, ns), why);
  }

  private violate(index: number, object: string, reason: string): void {
    this.total++;
    if (this.trackDefaults) this.refused.add(index);
    if (this.violations.length < MAX_LISTED) this.violations.push({ object, reason });
  }
}
