import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigMapCas } from '../cluster/configmap-cas.js';
import { RelayError, type RelayErrorCode } from '../errors.js';
import { APPLICATION_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type HotUpdateState } from '../status/model.js';

/**
 * The primary-side record of design §6: ConfigMap `rollout-relay-source-<app>` in the workload's
 * namespace in primary. It holds the application's sequence counter, taken by compare-and-swap on
 * the ConfigMap's resourceVersion so `promote` and every controller replica never hand out the same
 * sequence twice, the last bundle made, and each target's last outcome (so a target that could not
 * be written at all, CLUSTER_UNREACHABLE, is still recorded somewhere). Drills read history here.
 */
export const SOURCE_CONFIGMAP_PREFIX = 'rollout-relay-source-';

export interface SourceBundle {
  /** `sha256:<hex>`. */
  digest: string;
  sequence: number;
  createdAt: string;
  revision: string;
  podTemplateHash: string;
  commit?: string;
}

export interface SourceTargetOutcome {
  state: HotUpdateState;
  code?: RelayErrorCode;
  message: string;
  sequence: number;
  digest: string;
  revision: string;
  /** RFC 3339 time the outcome was recorded. */
  at: string;
}

export interface SourceRecordData {
  /** Last sequence handed out (0 = none yet). */
  sequence: number;
  lastBundle?: SourceBundle;
  targets: Record<string, SourceTargetOutcome>;
}

const TARGET_KEY_PREFIX = 'target.';

function parseJson<T>(text: string | undefined, key: string): T | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new RelayError('MALFORMED', `source record key ${key} is not JSON; fix or delete the ConfigMap (the sequence restarts above every target's)`, { cause: err });
  }
}

/** Parses ConfigMap data. Pure. */
export function sourceRecordFromData(data: Record<string, string> | undefined): SourceRecordData {
  const d = data ?? {};
  const seq = d.sequence ?? '0';
  if (!/^\d{1,15}$/.test(seq)) throw new RelayError('MALFORMED', `source record key sequence must be a non-negative integer, got "${seq}"`);
  const targets: Record<string, SourceTargetOutcome> = {};
  for (const [k, v] of Object.entries(d)) {
    if (!k.startsWith(TARGET_KEY_PREFIX)) continue;
    const t = parseJson<SourceTargetOutcome>(v, k);
    if (t) targets[k.slice(TARGET_KEY_PREFIX.length)] = t;
  }
  const lastBundle = parseJson<SourceBundle>(d.last_bundle, 'last_bundle');
  return { sequence: Number(seq), ...(lastBundle ? { lastBundle } : {}), targets };
}

/** ConfigMap data of a record. Pure. */
export function sourceRecordToData(r: SourceRecordData): Record<string, string> {
  const data: Record<string, string> = { sequence: String(r.sequence) };
  if (r.lastBundle) {
    data.last_bundle = JSON.stringify(r.lastBundle);
    // Flat copies for kubectl/jsonpath readers.
    data.last_bundle_digest = r.lastBundle.digest;
    data.last_bundle_sequence = String(r.lastBundle.sequence);
    data.last_bundle_created_at = r.lastBundle.createdAt;
    data.last_bundle_commit = r.lastBundle.commit ?? '';
  }
  for (const [name, t] of Object.entries(r.targets)) data[`${TARGET_KEY_PREFIX}${name}`] = JSON.stringify(t);
  return data;
}

export interface SourceRecordOptions {
  /** How often an update re-reads and retries after losing the resourceVersion race. Default: 20. */
  maxAttempts?: number;
}

/** Reads and updates one application's source record with optimistic concurrency. */
export class SourceRecord {
  readonly namespace: string;
  readonly name: string;
  private readonly cas: ConfigMapCas<SourceRecordData>;

  constructor(kc: KubeConfig, readonly application: string, opts: SourceRecordOptions = {}) {
    const [namespace, app] = application.split('/');
    if (!namespace || !app) throw new RelayError('USAGE', `application "${application}" must be <namespace>/<app>`);
    this.namespace = namespace;
    this.name = `${SOURCE_CONFIGMAP_PREFIX}${app}`;
    this.cas = new ConfigMapCas(kc, {
      namespace,
      name: this.name,
      describe: 'source record',
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      annotations: { [APPLICATION_ANNOTATION]: application },
      fromData: sourceRecordFromData,
      toData: sourceRecordToData,
      maxAttempts: opts.maxAttempts ?? 20,
      backoffMs: 10,
    });
  }

  async read(): Promise<{ record: SourceRecordData; resourceVersion: string } | undefined> {
    const stored = await this.cas.read();
    return stored && { record: stored.value, resourceVersion: stored.resourceVersion };
  }

  /**
   * Read-modify-write with compare-and-swap: `change` gets the current record (a fresh copy on every
   * attempt) and returns the next, or undefined to write nothing. Returns what was stored.
   */
  async update(change: (current: SourceRecordData) => SourceRecordData | undefined): Promise<SourceRecordData> {
    return this.cas.update((current) => {
      const base: SourceRecordData = current ?? { sequence: 0, targets: {} };
      const next = change(structuredClone(base));
      return next ? { write: next } : { keep: base };
    });
  }

  /**
   * Takes the next sequence: one above the stored counter and above `floor` (the highest sequence a
   * target is known to hold, so a lost record never makes DR refuse new bundles as replays).
   */
  async takeSequence(floor = 0): Promise<number> {
    let taken = 0;
    await this.update((r) => {
      taken = Math.max(r.sequence, floor) + 1;
      return { ...r, sequence: taken };
    });
    return taken;
  }

  /** Records the bundle just made (never replaces a newer one). */
  async recordBundle(bundle: SourceBundle): Promise<void> {
    await this.update((r) => (r.lastBundle && r.lastBundle.sequence > bundle.sequence ? undefined : { ...r, lastBundle: bundle }));
  }

  /**
   * Records a target's outcome (never replaces the outcome of a newer sequence). With `withinMs`, the
   * whole read-modify-write must finish within it, or it fails DEADLINE_EXCEEDED (and no further
   * attempt starts; a write already sent may still land): a best-effort record must not hold its
   * caller for as long as a hung primary's requests and lost races could take.
   */
  async recordTarget(target: string, outcome: SourceTargetOutcome, opts: { withinMs?: number } = {}): Promise<void> {
    let expired = false;
    const write = this.update((r) => {
      if (expired) throw new RelayError('DEADLINE_EXCEEDED', `gave up recording ${target}'s outcome in source record ${this.namespace}/${this.name}`);
      const prev = r.targets[target];
      if (prev && prev.sequence > outcome.sequence) return undefined;
      return { ...r, targets: { ...r.targets, [target]: outcome } };
    });
    if (opts.withinMs === undefined) {
      await write;
      return;
    }
    const withinMs = opts.withinMs;
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        reject(new RelayError('DEADLINE_EXCEEDED', `recording ${target}'s outcome in source record ${this.namespace}/${this.name} took longer than ${withinMs / 1000} s; the primary API server may be slow or frozen. The outcome stands in the target's own status; the record catches up with the next promotion`));
      }, withinMs);
    });
    write.catch(() => undefined); // lost the race to the deadline: its failure has nobody to tell
    try {
      await Promise.race([write, overdue]);
    } finally {
      clearTimeout(timer);
    }
  }
}
