import { RelayError } from '../errors.js';
import type { JsonValue, KubeObject } from './types.js';

/** Metadata fields the API server manages; they never travel to a DR cluster. */
export const SERVER_MANAGED_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
] as const;

/** Annotations that name primary-only state or would make Argo CD in DR prune or fight over the object. */
export const STRIPPED_ANNOTATIONS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'argocd.argoproj.io/tracking-id',
  'argocd.argoproj.io/instance',
  'deployment.kubernetes.io/revision',
  'rollout.argoproj.io/revision',
] as const;

/** Argo CD's tracking label (label-based tracking). */
export const STRIPPED_LABELS = ['argocd.argoproj.io/instance'] as const;

export const HELM_RELEASE_SECRET_TYPE = 'helm.sh/release.v1';

export type CanonicalResult = { object: KubeObject; dropped?: undefined } | { object?: undefined; dropped: string };

function describe(obj: { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } }): string {
  const ns = typeof obj.metadata?.namespace === 'string' ? `${obj.metadata.namespace}/` : '';
  return `${String(obj.kind)} ${ns}${String(obj.metadata?.name)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Deepest nesting of arrays and objects a manifest may have. Real objects (CRD schemas included) stay
 * far below; deeper input is refused as MALFORMED instead of overflowing the stack.
 */
export const MAX_MANIFEST_NESTING = 512;

/** Deep copy that accepts only JSON values (no Dates, Maps, undefined, NaN) and sorts object keys. */
export function toCanonicalJson(value: unknown, path = '$', depth = 0): JsonValue {
  if (depth > MAX_MANIFEST_NESTING) throw new RelayError('MALFORMED', `${path.slice(0, 80)}…: nests deeper than ${MAX_MANIFEST_NESTING} levels; refused`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RelayError('MALFORMED', `${path}: ${value} is not a JSON number`);
    return value === 0 ? 0 : value; // -0 has no JSON form of its own

  }
  if (Array.isArray(value)) return value.map((v, i) => toCanonicalJson(v, `${path}[${i}]`, depth + 1));
  if (isPlainObject(value)) {
    const out: Record<string, JsonValue> = {};
    for (const key of Object.keys(value).sort()) {
      const v = value[key];
      if (v === undefined) continue;
      // defineProperty: a "__proto__" key stays data and never becomes the prototype.
      Object.defineProperty(out, key, { value: toCanonicalJson(v, `${path}.${key}`, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  throw new RelayError('MALFORMED', `${path}: a ${value instanceof Date ? 'timestamp' : typeof value} value is not plain JSON; quote it in the manifest`);
}

function stringMap(v: unknown, what: string, where: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new RelayError('MALFORMED', `${where}: metadata.${what} must map strings to strings`);
  }
  return v as Record<string, string>;
}

/**
 * Canonical form of one object (design §2, §4): server-managed fields, status, primary-only identity
 * (clusterIP, ownerReferences) and Argo CD tracking stripped, keys sorted. Helm release Secrets and
 * objects owned by a controller are dropped (the controller in DR recreates them); the result says why.
 * An explicitly set Service nodePort is kept. Throws MALFORMED when the input is not a Kubernetes object.
 */
export function canonicaliseObject(input: unknown): CanonicalResult {
  if (!isPlainObject(input)) throw new RelayError('MALFORMED', 'a manifest document is not a mapping');
  const where = describe(input as never);
  if (typeof input.apiVersion !== 'string' || input.apiVersion === '') throw new RelayError('MALFORMED', `${where}: apiVersion missing`);
  if (typeof input.kind !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(input.kind)) throw new RelayError('MALFORMED', `${where}: kind missing or invalid`);
  const meta = input.metadata;
  if (!isPlainObject(meta) || typeof meta.name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9._:-]{0,252}$/.test(meta.name)) {
    throw new RelayError('MALFORMED', `${where}: metadata.name missing or not a valid Kubernetes name`);
  }
  if (meta.namespace !== undefined && (typeof meta.namespace !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(meta.namespace))) {
    throw new RelayError('MALFORMED', `${where}: metadata.namespace is not a valid namespace name`);
  }
  if (input.kind === 'Secret' && input.type === HELM_RELEASE_SECRET_TYPE) {
    return { dropped: `${where}: Helm release Secret (primary-only release history)` };
  }
  const owners = meta.ownerReferences;
  if (Array.isArray(owners) && owners.some((o) => isPlainObject(o) && o.controller === true)) {
    return { dropped: `${where}: owned by a controller (recreated by its owner in DR)` };
  }

  const obj = toCanonicalJson(input) as Record<string, JsonValue>;
  delete obj.status;
  const m = obj.metadata as Record<string, JsonValue>;
  for (const f of SERVER_MANAGED_METADATA) delete m[f];
  const annotations = stringMap(m.annotations, 'annotations', where);
  if (annotations) {
    for (const a of STRIPPED_ANNOTATIONS) delete annotations[a];
    if (Object.keys(annotations).length === 0) delete m.annotations;
  } else delete m.annotations;
  const labels = stringMap(m.labels, 'labels', where);
  if (labels) {
    for (const l of STRIPPED_LABELS) delete labels[l];
    if (Object.keys(labels).length === 0) delete m.labels;
  } else delete m.labels;

  if (obj.kind === 'Service' && obj.apiVersion === 'v1' && isPlainObject(obj.spec)) {
    const spec = obj.spec as Record<string, JsonValue>;
    // "None" makes a headless Service: that is intent, not an allocated address.
    if (spec.clusterIP !== 'None') delete spec.clusterIP;
    if (!(Array.isArray(spec.clusterIPs) && spec.clusterIPs.length === 1 && spec.clusterIPs[0] === 'None')) delete spec.clusterIPs;
  }
  return { object: obj as unknown as KubeObject };
}

/** Identity of an object for duplicate detection: group/kind/namespace/name. */
export function objectIdentity(obj: KubeObject): string {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.slice(0, obj.apiVersion.lastIndexOf('/')) : '';
  return `${group}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}
