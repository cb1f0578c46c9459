import { RelayError } from '../errors.js';

/**
 * The status contract of design §6: ConfigMap `rollout-relay-status-<name>` in the application's
 * namespace. Pure: plain data in, plain data out (no Kubernetes client).
 */
export const STATUS_CONFIGMAP_PREFIX = 'rollout-relay-status-';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'rollout-relay';
/** Which application a status ConfigMap (and every object we apply) belongs to. */
export const APPLICATION_ANNOTATION = 'rollout-relay.io/application';
/** The digest of the bundle that last wrote an applied object. */
export const BUNDLE_DIGEST_ANNOTATION = 'rollout-relay.io/bundle-digest';

export const HOT_UPDATE_STATES = ['pending', 'verifying', 'applying', 'post-checks', 'completed', 'failed', 'paused', 'rolled-back'] as const;
export type HotUpdateState = (typeof HOT_UPDATE_STATES)[number];

/** One object rollout-relay applied, as kept in the inventory. */
export interface InventoryEntry {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** The last bundle that completed on this target: what a failed apply rolls back to. */
export interface CompletedBundle {
  bundleDigest: string;
  sequence: number;
  revision: string;
  finishedAt: string;
  inventory: InventoryEntry[];
  /** The bundle's source commit and pod-template-hash, when known. */
  commit?: string;
  podTemplateHash?: string;
  /** Ids of the keys whose signatures verified that bundle, when recorded (older records lack them). */
  keyIds?: string[];
}

/** What a target applied differently from primary (design §9): its signed overrides and the fields left out. */
export interface OverridesRecord {
  /** `sha256:<hex>` of the bundle's `overrides/<target>.json`; '' when the bundle carries none for the target. */
  digest: string;
  /** Each override, in order, with the objects it patched. */
  applied: { name: string; type: string; objects: string[] }[];
  /** Fields not sent: `ignoreFields` pointers, `spec.replicas` of HPA-scaled workloads, `spec.selector` of Services Argo Rollouts owns. */
  leftOut: { object: string; pointer: string; reason: string }[];
}

export interface StatusRecord {
  state: HotUpdateState;
  revision: string;
  /** `sha256:<hex>` of the bundle this record describes. */
  bundleDigest: string;
  /** The bundle's sequence; a record with a lower sequence never overwrites a higher one. */
  sequence: number;
  sourceCluster: string;
  startedAt: string;
  finishedAt: string;
  phaseDurations: Record<string, number>;
  postChecks: unknown[];
  message: string;
  /** Objects this application may have created: while applying, the union of old and new. */
  inventory: InventoryEntry[];
  lastCompleted?: CompletedBundle;
  /** Monotonic write counter within one sequence, so equal-sequence writers still order. */
  updateCount: number;
  /** The source commit (Argo CD Application's sync revision) when known; '' otherwise. */
  commit: string;
  /** The pod-template-hash the bundle's workload runs in primary; '' when unknown. */
  podTemplateHash: string;
  /** Per-target differences of the bundle this record describes; undefined when there were none. */
  overrides?: OverridesRecord;
  /**
   * Ids (hex SHA-256 of the public key's SPKI DER, as `rollout-relay keys id` prints them) of the keys whose
   * signatures this target verified for the bundle it serves: proof of who signed what DR runs. A refused
   * bundle never changes them; [] in records written before they were kept.
   */
  keyIds: string[];
}

export type StatusData = Record<string, string>;

/** Name of the status ConfigMap for an application name. */
export function statusConfigMapName(name: string): string {
  const n = `${STATUS_CONFIGMAP_PREFIX}${name}`;
  if (n.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n)) {
    throw new RelayError('CONFIG_INVALID', `status ConfigMap name "${n}" is not a valid Kubernetes name; use a lower-case DNS-1123 application name`);
  }
  return n;
}

/** Splits an application id `<namespace>/<name>` into its parts. */
export function parseApplication(application: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(application);
  if (!m) throw new RelayError('CONFIG_INVALID', `application "${application}" must be "<namespace>/<name>" in lower-case DNS-1123 form`);
  return { namespace: m[1]!, name: m[3]! };
}

export function inventoryKey(e: InventoryEntry): string {
  const slash = e.apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : e.apiVersion.slice(0, slash);
  return `${group}/${e.kind}/${e.namespace ?? ''}/${e.name}`;
}

export function describeEntry(e: InventoryEntry): string {
  return `${e.kind} ${e.namespace ? `${e.namespace}/` : ''}${e.name}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(data: StatusData, key: string): unknown {
  const text = data[key];
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RelayError('MALFORMED', `status key ${key} is not JSON; fix or delete the status ConfigMap`, { cause: err });
  }
}

function inventoryFromJSON(v: unknown, where: string): InventoryEntry[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new RelayError('MALFORMED', `${where} must be a JSON list`);
  return v.map((e, i) => {
    if (!isRecord(e) || typeof e.apiVersion !== 'string' || typeof e.kind !== 'string' || typeof e.name !== 'string' || (e.namespace !== undefined && typeof e.namespace !== 'string')) {
      throw new RelayError('MALFORMED', `${where}[${i}] must have string apiVersion, kind, name and optional namespace`);
    }
    return { apiVersion: e.apiVersion, kind: e.kind, name: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) };
  });
}

function keyIdsFromJSON(v: unknown, where: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new RelayError('MALFORMED', `${where} must be a JSON list of key id strings`);
  return v as string[];
}

function intField(data: StatusData, key: string): number {
  const t = data[key];
  if (t === undefined || t === '') return 0;
  if (!/^\d{1,15}$/.test(t)) throw new RelayError('MALFORMED', `status key ${key} must be a non-negative integer, got "${t}"`);
  return Number(t);
}

export function emptyStatus(): StatusRecord {
  return {
    state: 'pending', revision: '', bundleDigest: '', sequence: 0, sourceCluster: '', startedAt: '', finishedAt: '',
    phaseDurations: {}, postChecks: [], message: '', inventory: [], updateCount: 0, commit: '', podTemplateHash: '', keyIds: [],
  };
}

/** Parses the ConfigMap `data`; throws MALFORMED naming the bad key. */
export function statusFromData(data: StatusData | undefined): StatusRecord {
  const d = data ?? {};
  const state = d.hot_update_status ?? 'pending';
  if (!(HOT_UPDATE_STATES as readonly string[]).includes(state)) {
    throw new RelayError('MALFORMED', `status key hot_update_status "${state}" is not one of ${HOT_UPDATE_STATES.join('|')}`);
  }
  const phase = parseJson(d, 'phase_durations') ?? {};
  if (!isRecord(phase) || Object.values(phase).some((x) => typeof x !== 'number')) throw new RelayError('MALFORMED', 'status key phase_durations must map phases to numbers');
  const post = parseJson(d, 'post_checks') ?? [];
  if (!Array.isArray(post)) throw new RelayError('MALFORMED', 'status key post_checks must be a JSON list');
  const lc = parseJson(d, 'last_completed');
  let lastCompleted: CompletedBundle | undefined;
  if (lc !== undefined) {
    if (!isRecord(lc) || typeof lc.bundleDigest !== 'string' || typeof lc.sequence !== 'number' || typeof lc.revision !== 'string' || typeof lc.finishedAt !== 'string') {
      throw new RelayError('MALFORMED', 'status key last_completed must have bundleDigest, sequence, revision, finishedAt and inventory');
    }
    lastCompleted = {
      bundleDigest: lc.bundleDigest, sequence: lc.sequence, revision: lc.revision, finishedAt: lc.finishedAt, inventory: inventoryFromJSON(lc.inventory, 'last_completed.inventory'),
      ...(typeof lc.commit === 'string' && lc.commit ? { commit: lc.commit } : {}),
      ...(typeof lc.podTemplateHash === 'string' && lc.podTemplateHash ? { podTemplateHash: lc.podTemplateHash } : {}),
      ...(lc.keyIds !== undefined ? { keyIds: keyIdsFromJSON(lc.keyIds, 'last_completed.keyIds') } : {}),
    };
  }
  const ov = parseJson(d, 'overrides');
  let overrides: OverridesRecord | undefined;
  if (ov !== undefined) {
    if (!isRecord(ov) || typeof ov.digest !== 'string' || !Array.isArray(ov.applied) || !Array.isArray(ov.leftOut)) {
      throw new RelayError('MALFORMED', 'status key overrides must have digest, applied and leftOut');
    }
    overrides = { digest: ov.digest, applied: ov.applied as OverridesRecord['applied'], leftOut: ov.leftOut as OverridesRecord['leftOut'] };
  }
  return {
    state: state as HotUpdateState,
    revision: d.revision ?? '',
    bundleDigest: d.bundle_digest ?? '',
    sequence: intField(d, 'sequence'),
    sourceCluster: d.source_cluster ?? '',
    startedAt: d.started_at ?? '',
    finishedAt: d.finished_at ?? '',
    phaseDurations: phase as Record<string, number>,
    postChecks: post,
    message: d.message ?? '',
    inventory: inventoryFromJSON(parseJson(d, 'inventory'), 'inventory'),
    ...(lastCompleted ? { lastCompleted } : {}),
    updateCount: intField(d, 'update_count'),
    commit: d.commit ?? '',
    podTemplateHash: d.pod_template_hash ?? '',
    ...(overrides ? { overrides } : {}),
    keyIds: keyIdsFromJSON(parseJson(d, 'key_ids'), 'status key key_ids'),
  };
}

/** The ConfigMap `data` of a record (all strings, design §6 keys plus last_completed, update_count and key_ids). */
export function statusToData(r: StatusRecord): StatusData {
  const data: StatusData = {
    hot_update_status: r.state,
    revision: r.revision,
    bundle_digest: r.bundleDigest,
    sequence: String(r.sequence),
    source_cluster: r.sourceCluster,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    phase_durations: JSON.stringify(r.phaseDurations),
    post_checks: JSON.stringify(r.postChecks),
    message: r.message,
    inventory: JSON.stringify(r.inventory),
    update_count: String(r.updateCount),
    commit: r.commit,
    pod_template_hash: r.podTemplateHash,
    key_ids: JSON.stringify(r.keyIds),
  };
  if (r.lastCompleted) data.last_completed = JSON.stringify(r.lastCompleted);
  if (r.overrides) data.overrides = JSON.stringify(r.overrides);
  return data;
}

export type MergeDecision = { write: true; record: StatusRecord } | { write: false; reason: 'stale' | 'unchanged'; current: StatusRecord };

/**
 * Decides what a writer may store over the current record. A writer whose sequence is lower than
 * the stored one is stale and never overwrites it (design §6). `update` is applied to the current
 * record, so fields it does not name (lastCompleted, inventory) are kept.
 */
export function mergeStatus(current: StatusRecord | undefined, sequence: number, update: Partial<StatusRecord>): MergeDecision {
  const base = current ?? emptyStatus();
  if (current && current.sequence > sequence) return { write: false, reason: 'stale', current };
  const next: StatusRecord = { ...base, ...update, sequence };
  const { updateCount: _a, ...a } = next;
  const { updateCount: _b, ...b } = base;
  if (current && JSON.stringify(a) === JSON.stringify(b)) return { write: false, reason: 'unchanged', current };
  return { write: true, record: { ...next, updateCount: base.updateCount + 1 } };
}
