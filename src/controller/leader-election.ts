import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { apiStatusCode } from '../cluster/api-errors.js';

/** The Lease fields leader election reads and writes. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions: number;
}

export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** Compare-and-swap access to one Lease; `replace` fails with `{code: 409}` when resourceVersion moved. */
export interface LeaseStore {
  get(): Promise<StoredLease | undefined>;
  create(record: LeaseRecord): Promise<StoredLease>;
  replace(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

export interface LeaderElectionConfig {
  /** Who we are (pod name + random suffix); written into holderIdentity. */
  identity: string;
  /** How long a lease is valid without renewal. Default in config: 15 s. */
  leaseDurationMs: number;
  /** A leader that could not renew for this long steps down. Default in config: 10 s. */
  renewDeadlineMs: number;
  /** Pause between attempts. Default in config: 2 s. */
  retryPeriodMs: number;
  /** Injectable clock for tests. Default: Date.now. */
  now?: () => number;
}

export interface LeaderElectorEvents {
  'started-leading': [];
  'stopped-leading': [];
  /** The observed holder changed (another replica, or us, or nobody). */
  'new-leader': [identity: string];
  /** A Lease request failed (not 'error': an unheard 'error' would throw). */
  failure: [err: unknown];
}

/**
 * Lease-based leader election in the way of client-go's leaderelection: a candidate takes the
 * Lease when the holder has not renewed it for a lease duration *as seen by the candidate's own
 * clock* (it notes when the record last changed, so clock skew between replicas does not matter),
 * every write is a compare-and-swap on resourceVersion, and a leader that cannot renew within the
 * renew deadline steps down before anyone else may take over. `release()` on graceful shutdown
 * empties the holder so the next replica takes over at its next retry instead of a lease later.
 */
export class LeaderElector extends EventEmitter<LeaderElectorEvents> {
  private observed: StoredLease | undefined;
  private observedAt = 0;
  private leading = false;
  private lastRenew = 0;
  private knownLeader = '';
  private readonly now: () => number;

  constructor(private readonly store: LeaseStore, private readonly cfg: LeaderElectionConfig) {
    super();
    this.now = cfg.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder we last observed ('' when none). */
  get leader(): string {
    return this.knownLeader;
  }

  get identity(): string {
    return this.cfg.identity;
  }

  /** Runs until `signal` aborts: tries to acquire, then renews; emits started/stopped-leading. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.tryAcquireOrRenew();
      try {
        await sleep(this.cfg.retryPeriodMs, undefined, { signal });
      } catch {
        break;
      }
    }
  }

  /** One round: exported for tests (a round never throws; failures are events). */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    let ok = false;
    try {
      ok = await this.attempt(now);
    } catch (err) {
      this.emit('failure', err);
    }
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.emit('started-leading');
      }
    } else if (this.leading && this.now() - this.lastRenew >= this.cfg.renewDeadlineMs) {
      // Could not renew in time: step down before the lease can expire under a new holder.
      this.leading = false;
      this.emit('stopped-leading');
    }
    return ok;
  }

  private noteLeader(identity: string): void {
    if (identity !== this.knownLeader) {
      this.knownLeader = identity;
      this.emit('new-leader', identity);
    }
  }

  private async attempt(now: number): Promise<boolean> {
    const current = await this.store.get();
    const mine: LeaseRecord = {
      holderIdentity: this.cfg.identity,
      leaseDurationSeconds: Math.ceil(this.cfg.leaseDurationMs / 1000),
      acquireTime: new Date(now),
      renewTime: new Date(now),
      leaseTransitions: 0,
    };
    if (!current) {
      try {
        this.observe(await this.store.create(mine), now);
      } catch (err) {
        if (apiStatusCode(err) === 409) return false; // another replica created it first
        throw err;
      }
      this.noteLeader(this.cfg.identity);
      return true;
    }
    if (!this.observed || this.observed.resourceVersion !== current.resourceVersion) this.observe(current, now);
    const holder = current.record.holderIdentity;
    this.noteLeader(holder);
    const durationMs = (current.record.leaseDurationSeconds || Math.ceil(this.cfg.leaseDurationMs / 1000)) * 1000;
    if (holder && holder !== this.cfg.identity && this.observedAt + durationMs > now) return false;

    const takeover = holder !== this.cfg.identity;
    const next: LeaseRecord = {
      ...mine,
      acquireTime: takeover ? mine.acquireTime : (current.record.acquireTime ?? mine.acquireTime),
      leaseTransitions: current.record.leaseTransitions + (takeover ? 1 : 0),
    };
    try {
      this.observe(await this.store.replace(next, current.resourceVersion), now);
    } catch (err) {
      if (apiStatusCode(err) === 409) return false; // lost the compare-and-swap: someone else wrote
      throw err;
    }
    this.noteLeader(this.cfg.identity);
    return true;
  }

  private observe(lease: StoredLease, now: number): void {
    this.observed = lease;
    this.observedAt = now;
  }

  /** Gives the lease up (graceful shutdown) so another replica takes over at its next retry. */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.emit('stopped-leading');
    try {
      const current = await this.store.get();
      if (!current || current.record.holderIdentity !== this.cfg.identity) return;
      const now = new Date(this.now());
      await this.store.replace({ ...current.record, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now }, current.resourceVersion);
    } catch (err) {
      this.emit('failure', err);
    }
  }
}

interface RawLease {
  metadata?: { resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

function fromLease(lease: RawLease): StoredLease {
  const s = lease.spec ?? {};
  return {
    record: {
      holderIdentity: s.holderIdentity ?? '',
      leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
      ...(s.acquireTime ? { acquireTime: new Date(s.acquireTime) } : {}),
      ...(s.renewTime ? { renewTime: new Date(s.renewTime) } : {}),
      leaseTransitions: s.leaseTransitions ?? 0,
    },
    resourceVersion: lease.metadata?.resourceVersion ?? '',
  };
}

/** A MicroTime as the API server parses it: RFC 3339 with exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * The bound of one Lease request: half the renew deadline, so a round (a read and a write) that
 * gets no answer ends within it and a leader cut off from the API server steps down in time
 * (client-go bounds its renewal by the renew deadline the same way). At least 1 s.
 */
export function leaseRequestTimeoutMs(renewDeadlineMs: number): number {
  return Math.max(1000, Math.floor(renewDeadlineMs / 2));
}

/**
 * The coordination.k8s.io/v1 Lease `namespace/name` in a cluster, as raw JSON: client-node's typed
 * models write MicroTime with millisecond precision, which the API server refuses (400).
 * A replace is a merge patch carrying the resourceVersion read, which the server enforces (409).
 */
export function kubeLeaseStore(kc: KubeConfig, namespace: string, name: string, requestTimeoutMs?: number): LeaseStore {
  const api = UntypedObjectApi.forKubeConfig(kc, requestTimeoutMs === undefined ? {} : { requestTimeoutMs });
  const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(name)}`;
  const spec = (r: LeaseRecord) => ({
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    leaseTransitions: r.leaseTransitions,
    acquireTime: r.acquireTime ? microTime(r.acquireTime) : null,
    renewTime: r.renewTime ? microTime(r.renewTime) : null,
  });
  return {
    async get() {
      try {
        return fromLease((await api.getPath(path)) as RawLease);
      } catch (err) {
        if (apiStatusCode(err) === 404) return undefined;
        throw err;
      }
    },
    async create(r) {
      const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec(r) };
      return fromLease((await api.create(body as never)) as RawLease);
    },
    async replace(r, resourceVersion) {
      return fromLease((await api.patchRaw(path, 'application/merge-patch+json', { metadata: { resourceVersion }, spec: spec(r) })) as RawLease);
    },
  };
}
