import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { isRelayError, type RelayErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { judgeCompletion } from '../promote/completion.js';
import type { CompletedRevision, PromotionResult } from '../promote/types.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, APPLICATION_ANNOTATION, statusFromData, type StatusRecord } from '../status/model.js';
import { StatusWriter } from '../status/writer.js';
import { SOURCE_CONFIGMAP_PREFIX, sourceRecordFromData } from '../promote/source-record.js';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { apiStatusCode } from '../cluster/api-errors.js';
import type { ClusterTarget } from '../cluster/kubeconfig.js';
import type { RelayMetrics, LagSample } from '../server/metrics.js';
import { Reflector, backoffDelay, type ListerWatcher } from './reflector.js';
import { collectionPath, kubeListerWatcher, type CollectionSpec } from './kube-source.js';
import { PromotionQueue, compareRevisions, type QueueItem } from './work-queue.js';
import { LeaderElector, kubeLeaseStore, leaseRequestTimeoutMs } from './leader-election.js';
import { readStableRevision } from '../plugin/status-source.js';
import { applicationOf, targetNeeds, workloadRef, type TargetStatus, type WorkloadObject } from './workload.js';

/** The pipeline as the controller uses it (src/promote/pipeline.ts implements it). */
export interface PromotionRunner {
  promote(req: CompletedRevision, opts: { deadline?: number; signal?: AbortSignal; targets?: string[] }): Promise<PromotionResult>;
}

export interface ControllerConfig {
  watch: { namespaces?: string[]; selector: string; eventReasons: string[] };
  timeouts: { promotionMs: number };
  leaderElection?: { namespace: string; leaseName: string; leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
}

export interface ControllerOptions {
  config: ControllerConfig;
  /** The primary cluster (watches, Events, Lease). */
  primary: KubeConfig;
  /** The DR clusters, resolved (status reads, status watches for `resume`). */
  targets: ClusterTarget[];
  promoter: PromotionRunner;
  log: Logger;
  metrics?: RelayMetrics;
  /** Holder identity in the Lease. Default: hostname + random suffix. */
  identity?: string;
  /** Promotions of different applications running at once (mostly waiting on DR health). Default: 8. */
  concurrency?: number;
  /** Re-examine every selected workload this often (catches anything a watch missed). Default: 10 min. */
  resyncIntervalMs?: number;
  /** Back-off for a target that was unreachable, or a promotion that failed to start. Default: 2 s doubling to 60 s. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Graceful shutdown waits this long for running promotions before aborting them. Default: 10 s. */
  shutdownGraceMs?: number;
  /** Tests: replace how a target's status record is read (default: its status ConfigMap). */
  readStatus?: (target: ClusterTarget, application: string) => Promise<StatusRecord | undefined>;
  /** Tests: replace how primary's stable revision is read when no completion was seen (default: the workload in primary). */
  readPrimaryStable?: (namespace: string, app: string) => Promise<{ revision: string; podTemplateHash: string } | undefined>;
  /** Tests: replace how a collection is listed and watched. */
  listerWatcher?: <T extends { apiVersion?: string; kind?: string }>(kc: KubeConfig, spec: CollectionSpec, description: string) => ListerWatcher<T>;
}

type Workload = WorkloadObject & { spec?: Record<string, unknown> & { selector?: { matchLabels?: Record<string, string> } }; status?: Record<string, unknown> };
type EventObject = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; resourceVersion?: string }; reason?: string; involvedObject?: { kind?: string; name?: string; namespace?: string } };
type ConfigMapObject = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> }; data?: Record<string, string> };

const ROLLOUTS = { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts', kind: 'Rollout' } as const;
const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment' } as const;
const EVENTS = { group: '', version: 'v1', resource: 'events', kind: 'Event' } as const;
const CONFIGMAPS = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap' } as const;

interface Completed {
  revision: string;
  podTemplateHash: string;
  /** When this controller first saw this revision complete (the lag clock). */
  since: number;
}

/**
 * The promotion loop (design §1, §6): watches selected Rollouts and Deployments (their own status
 * decides completion; Events with the configured reasons and `POST /api/v1/notify` only make it
 * re-read a workload), queues completed revisions with de-duplication and coalescing, and runs the
 * pipeline for the targets whose DR status is behind. Only the Lease holder promotes; a new leader
 * starts from DR's status ConfigMaps, so a promotion cut short by a crash is re-run, never lost or
 * repeated.
 */
export class Controller {
  readonly identity: string;
  private readonly log: Logger;
  private readonly queue = new PromotionQueue();
  private readonly primaryApi: UntypedObjectApi;
  private readonly workloadReflectors: Reflector<Workload>[] = [];
  private readonly eventReflectors: Reflector<EventObject>[] = [];
  private readonly sourceReflectors: Reflector<ConfigMapObject>[] = [];
  private readonly statusReflectors = new Map<string, Reflector<ConfigMapObject>[]>();
  private readonly elector: LeaderElector | undefined;
  private leading: boolean;
  /** Aborted when leadership is lost or on shutdown: running promotions stop, DR's status says where. */
  private leadership = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private readonly retries = new Map<string, { failures: number; timer?: NodeJS.Timeout }>();
  private readonly completed = new Map<string, Completed>();
  /** application → workload key (namespace/kind/name), for status-driven work (resume, retries). */
  private readonly applications = new Map<string, { kind: 'Rollout' | 'Deployment'; namespace: string; name: string }>();
  private stopping = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private electionLoop: Promise<void> | undefined;
  private readonly electionStop = new AbortController();
  private readonly concurrency: number;

  constructor(private readonly opts: ControllerOptions) {
    this.identity = opts.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    this.log = opts.log.child({ component: 'controller' });
    this.primaryApi = UntypedObjectApi.forKubeConfig(opts.primary);
    this.concurrency = opts.concurrency ?? 8;
    const le = opts.config.leaderElection;
    this.elector = le
      ? new LeaderElector(kubeLeaseStore(opts.primary, le.namespace, le.leaseName, leaseRequestTimeoutMs(le.renewDeadlineMs)), {
        identity: this.identity, leaseDurationMs: le.leaseDurationMs, renewDeadlineMs: le.renewDeadlineMs, retryPeriodMs: le.retryPeriodMs,
      })
      : undefined;
    this.leading = !this.elector;
    this.buildReflectors();
  }

  private makeLW<T extends { apiVersion?: string; kind?: string }>(kc: KubeConfig, spec: CollectionSpec, description: string): ListerWatcher<T> {
    return (this.opts.listerWatcher ?? kubeListerWatcher)<T>(kc, spec, description);
  }

  private buildReflectors(): void {
    const { watch } = this.opts.config;
    const scopes: (string | undefined)[] = watch.namespaces?.length ? watch.namespaces : [undefined];
    for (const ns of scopes) {
      const where = ns ? `in ${ns}` : 'in all namespaces';
      for (const kind of [ROLLOUTS, DEPLOYMENTS]) {
        const r = new Reflector<Workload>(this.makeLW(this.opts.primary, { ...kind, namespace: ns, labelSelector: watch.selector }, `primary ${kind.resource} ${where}`));
        r.on('add', (o) => this.consider(o, 'watch'));
        r.on('update', (o) => this.consider(o, 'watch'));
        r.on('delete', (o) => this.forgetWorkload(o));
        this.watchErrors(r);
        this.workloadReflectors.push(r);
      }
      // One watch per reason: field selectors cannot OR, and filtering server-side keeps Event lists small.
      for (const reason of watch.eventReasons) {
        const r = new Reflector<EventObject>(this.makeLW(this.opts.primary, { ...EVENTS, namespace: ns, fieldSelector: `reason=${reason}` }, `primary events ${reason} ${where}`));
        // Events already there at the first list are old news: the start-up resync judges every workload anyway.
        r.on('add', (e) => { if (r.synced) this.onEvent(e); });
        r.on('update', (e) => this.onEvent(e));
        this.watchErrors(r);
        this.eventReflectors.push(r);
      }
      // The primary-side records: `resume` of a target that has no status in DR yet marks it pending here.
      const src = new Reflector<ConfigMapObject>(this.makeLW(this.opts.primary, { ...CONFIGMAPS, namespace: ns, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` }, `primary source records ${where}`));
      src.on('add', (cm) => this.onSourceRecord(cm));
      src.on('update', (cm) => this.onSourceRecord(cm));
      this.watchErrors(src);
      this.sourceReflectors.push(src);
    }
    for (const t of this.opts.targets) {
      const list: Reflector<ConfigMapObject>[] = [];
      for (const ns of scopes) {
        const r = new Reflector<ConfigMapObject>(this.makeLW(t.kubeConfig, { ...CONFIGMAPS, namespace: ns, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` }, `${t.name} status ConfigMaps ${ns ? `in ${ns}` : 'in all namespaces'}`));
        r.on('add', (cm) => this.onStatus(t.name, cm));
        r.on('update', (cm) => this.onStatus(t.name, cm));
        this.watchErrors(r);
        list.push(r);
      }
      this.statusReflectors.set(t.name, list);
    }
  }

  private watchErrors(r: Reflector<never> | Reflector<Workload> | Reflector<EventObject> | Reflector<ConfigMapObject>): void {
    (r as Reflector<Workload>).on('retry', (err, backoffMs) => {
      // A collection the server does not serve (no Argo Rollouts CRDs: Deployments only) is expected.
      const level = apiStatusCode(err) === 404 ? 'debug' : 'warn';
      this.log[level]({ watch: r.description, err: errText(err), backoffMs }, 'watch failed; retrying');
    });
  }

  /** Starts watches, leader election, and (once leading) the workers. */
  async start(): Promise<void> {
    for (const r of this.allReflectors()) r.start();
    if (this.elector) {
      this.elector.on('started-leading', () => this.onStartedLeading());
      this.elector.on('stopped-leading', () => this.onStoppedLeading());
      this.elector.on('new-leader', (id) => this.log.info({ leader: id || '(none)', self: id === this.identity }, 'leader observed'));
      this.elector.on('failure', (err) => this.log.warn({ err: errText(err) }, 'lease request failed'));
      this.electionLoop = this.elector.run(this.electionStop.signal);
    } else {
      this.onStartedLeading();
    }
    const interval = this.opts.resyncIntervalMs ?? 600_000;
    this.resyncTimer = setInterval(() => this.resync('resync'), interval);
    this.resyncTimer.unref();
  }

  private allReflectors(): Reflector<Workload | EventObject | ConfigMapObject>[] {
    return [...this.workloadReflectors, ...this.eventReflectors, ...this.sourceReflectors, ...[...this.statusReflectors.values()].flat()] as Reflector<Workload | EventObject | ConfigMapObject>[];
  }

  private onStartedLeading(): void {
    this.leading = true;
    this.leadership = new AbortController();
    this.log.info({ identity: this.identity }, 'leading: promoting from now on');
    // Everything selected is re-examined against DR's status: catch-up after a restart, and a
    // promotion the previous leader left half-done is run again.
    void this.whenPrimarySynced().then(() => this.resync('leader'));
  }

  private onStoppedLeading(): void {
    if (!this.leading) return;
    this.leading = false;
    this.log.warn({ identity: this.identity }, 'lost leadership: stopping promotions');
    this.leadership.abort();
    this.queue.clear();
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  private async whenPrimarySynced(): Promise<void> {
    while (!this.stopping && !this.workloadReflectors.every((r) => r.synced || this.notServed(r))) await new Promise((r) => setTimeout(r, 100));
  }

  /** Rollouts not served (no CRD) never sync; they must not hold readiness or the resync back. */
  private notServed(r: Reflector<Workload>): boolean {
    return r.lastError !== undefined && apiStatusCode(r.lastError) === 404;
  }

  /** Queues every selected workload that is complete; the worker then checks DR's status per target. */
  resync(reason: string): void {
    if (!this.leading) return;
    for (const r of this.workloadReflectors) for (const o of r.list()) this.consider(o, reason, { force: true });
  }

  private onEvent(e: EventObject): void {
    const io = e.involvedObject;
    if (!io?.name || !io.namespace || (io.kind !== 'Rollout' && io.kind !== 'Deployment')) return;
    if (!this.opts.config.watch.eventReasons.includes(e.reason ?? '')) return;
    void this.nudge({ namespace: io.namespace, name: io.name }, 'event', [io.kind]);
  }

  /** POST /api/v1/notify: re-read the named workload (Rollout first, then Deployment). */
  notify(ref: { namespace: string; name: string }): void {
    void this.nudge(ref, 'notify', ['Rollout', 'Deployment']);
  }

  /**
   * Re-reads a workload from the API (not the cache: the hint can arrive before the watch event),
   * only when it is in scope and matches the selector — the server applies the selector, so a hint
   * can never widen what is promoted.
   */
  private async nudge(ref: { namespace: string; name: string }, reason: string, kinds: ('Rollout' | 'Deployment')[]): Promise<void> {
    const scope = this.opts.config.watch.namespaces;
    if (scope?.length && !scope.includes(ref.namespace)) return;
    this.log.debug({ workload: `${ref.namespace}/${ref.name}`, reason }, 'hint');
    for (const kind of kinds) {
      const spec: CollectionSpec = kind === 'Rollout' ? ROLLOUTS : DEPLOYMENTS;
      try {
        const list = (await this.primaryApi.getPath(collectionPath({ ...spec, namespace: ref.namespace }), {
          labelSelector: this.opts.config.watch.selector,
          fieldSelector: `metadata.name=${ref.name}`,
        })) as { items?: Workload[] };
        const obj = list.items?.[0];
        if (obj) {
          obj.apiVersion ??= spec.group ? `${spec.group}/${spec.version}` : spec.version;
          obj.kind ??= spec.kind;
          this.consider(obj, reason);
          return;
        }
      } catch (err) {
        if (apiStatusCode(err) !== 404) this.log.warn({ workload: `${ref.namespace}/${ref.name}`, reason, err: errText(err) }, 're-read failed');
      }
    }
  }

  private forgetWorkload(o: Workload): void {
    try {
      const app = applicationOf(o);
      const w = this.applications.get(app);
      if (w && w.namespace === o.metadata?.namespace && w.name === o.metadata?.name && w.kind === o.kind) this.applications.delete(app);
    } catch {
      // an invalid name was never indexed
    }
  }

  /** Judges a workload's own status and queues its revision when complete. */
  private consider(o: Workload, reason: string, extra: { force?: boolean; targets?: string[] } = {}): void {
    void this.considerAsync(o, reason, extra).catch((err: unknown) => {
      this.log.warn({ workload: `${o.metadata?.namespace}/${o.metadata?.name}`, err: errText(err) }, 'could not judge completion');
    });
  }

  private async considerAsync(o: Workload, reason: string, extra: { force?: boolean; targets?: string[] }): Promise<void> {
    let application: string;
    try {
      application = applicationOf(o);
    } catch (err) {
      this.log.error({ code: isRelayError(err) ? err.code : undefined, err: errText(err) }, 'workload skipped');
      return;
    }
    const workload = workloadRef(o);
    this.applications.set(application, workload);
    let verdict = judgeCompletion(o as Parameters<typeof judgeCompletion>[0]);
    if (!verdict.complete && o.kind === 'Deployment' && verdict.reason === 'the newest ReplicaSet is not known yet') {
      verdict = judgeCompletion(o as Parameters<typeof judgeCompletion>[0], await this.newestReplicaSetHash(o));
    }
    if (!verdict.complete) return;
    const prev = this.completed.get(application);
    const now = Date.now();
    if (!prev || prev.revision !== verdict.revision || prev.podTemplateHash !== verdict.podTemplateHash) {
      if (!prev || compareRevisions(verdict.revision, prev.revision) >= 0) this.completed.set(application, { revision: verdict.revision, podTemplateHash: verdict.podTemplateHash, since: now });
    }
    if (!this.leading || this.stopping) return;
    // The SLA clock starts at the first detection of this revision; a resync, resume or retry is a new attempt.
    const firstSeen = this.completed.get(application);
    const fresh = reason === 'watch' || reason === 'event' || reason === 'notify';
    const item: QueueItem = {
      workload, application, revision: verdict.revision, podTemplateHash: verdict.podTemplateHash, reason,
      detectedAt: fresh && firstSeen?.revision === verdict.revision ? firstSeen.since : now,
      ...(extra.force ? { force: true } : {}),
      ...(extra.targets ? { targets: extra.targets } : {}),
    };
    const outcome = this.queue.add(item);
    if (outcome !== 'duplicate') this.log.debug({ application, revision: item.revision, podTemplateHash: item.podTemplateHash, reason, outcome }, 'queued');
    this.pump();
  }

  /** The pod-template-hash of a Deployment is its newest ReplicaSet's label (design §1). */
  private async newestReplicaSetHash(d: Workload): Promise<string> {
    const ns = d.metadata?.namespace ?? '';
    const revision = d.metadata?.annotations?.['deployment.kubernetes.io/revision'];
    const matchLabels = d.spec?.selector?.matchLabels ?? {};
    const labelSelector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    const list = (await this.primaryApi.getPath(collectionPath({ group: 'apps', version: 'v1', resource: 'replicasets', namespace: ns }), { labelSelector })) as {
      items?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { uid?: string; controller?: boolean }[] } }[];
    };
    const owned = (list.items ?? []).filter((rs) => rs.metadata?.ownerReferences?.some((r) => r.controller && r.uid === d.metadata?.uid));
    const newest = owned.find((rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision);
    return newest?.metadata?.labels?.['pod-template-hash'] ?? '';
  }

  /** A DR status ConfigMap changed: `pending` (written by `resume`) re-promotes that target. */
  private onStatus(target: string, cm: ConfigMapObject): void {
    if (cm.data?.hot_update_status !== 'pending') return;
    const application = cm.metadata?.annotations?.[APPLICATION_ANNOTATION];
    if (!application || this.queue.isActive(application)) return;
    this.log.info({ application, target }, 'status pending: promoting again');
    this.requeue(application, [target], 'resume');
  }

  /** A source record in primary changed: a target marked `pending` there (resume before DR had a status) is promoted again. */
  private onSourceRecord(cm: ConfigMapObject): void {
    const name = cm.metadata?.name ?? '';
    if (!name.startsWith(SOURCE_CONFIGMAP_PREFIX)) return;
    const application = `${cm.metadata?.namespace}/${name.slice(SOURCE_CONFIGMAP_PREFIX.length)}`;
    if (this.queue.isActive(application)) return;
    let pending: string[];
    try {
      pending = Object.entries(sourceRecordFromData(cm.data).targets).filter(([, t]) => t.state === 'pending').map(([target]) => target);
    } catch {
      return;
    }
    const known = pending.filter((t) => this.opts.targets.some((x) => x.name === t));
    if (known.length === 0) return;
    this.log.info({ application, targets: known }, 'source record pending: promoting again');
    this.requeue(application, known, 'resume');
  }

  /** Queues the application's current completed revision again (resume, retry). */
  private requeue(application: string, targets: string[] | undefined, reason: string): void {
    const w = this.applications.get(application);
    if (!w) return;
    const spec = w.kind === 'Rollout' ? ROLLOUTS : DEPLOYMENTS;
    for (const r of this.workloadReflectors) {
      const o = r.get(w.namespace, w.name);
      if (o && o.kind === spec.kind) {
        this.consider(o, reason, { force: true, ...(targets ? { targets } : {}) });
        return;
      }
    }
  }

  private pump(): void {
    while (this.leading && !this.stopping && this.queue.running < this.concurrency) {
      const item = this.queue.take();
      if (!item) break;
      const p = this.runItem(item, this.leadership.signal).finally(() => {
        this.running.delete(p);
        this.pump();
      });
      this.running.add(p);
    }
  }

  /** DR status of one application on one target, read fresh (never from memory). */
  private async readStatus(target: ClusterTarget, application: string): Promise<StatusRecord | undefined> {
    if (this.opts.readStatus) return this.opts.readStatus(target, application);
    return (await new StatusWriter(target.kubeConfig, application).read())?.record;
  }

  private async readTarget(target: ClusterTarget, application: string): Promise<TargetStatus | undefined> {
    const record = await this.readStatus(target, application);
    return record ? toTargetStatus(record) : undefined;
  }

  private async targetsNeeding(item: QueueItem, log: Logger): Promise<string[]> {
    const candidates = this.opts.targets.filter((t) => !item.targets || item.targets.includes(t.name));
    const needs = await Promise.all(candidates.map(async (t) => {
      try {
        return targetNeeds(await this.readTarget(t, item.application), item.revision, item.podTemplateHash);
      } catch (err) {
        // Unreachable or unreadable: let the pipeline try, it records the outcome per target.
        log.debug({ target: t.name, err: errText(err) }, 'status unreadable; promoting anyway');
        return true;
      }
    }));
    return candidates.filter((_, i) => needs[i]).map((t) => t.name);
  }

  private async runItem(item: QueueItem, leadership: AbortSignal): Promise<void> {
    const log = this.log.child({ application: item.application, revision: item.revision, podTemplateHash: item.podTemplateHash });
    let remember = false;
    try {
      const targets = await this.targetsNeeding(item, log);
      if (targets.length === 0) {
        log.debug({ reason: item.reason }, 'every target in sync; nothing to do');
        remember = true;
        return;
      }
      if (leadership.aborted) return;
      const deadline = item.detectedAt + this.opts.config.timeouts.promotionMs;
      log.info({ reason: item.reason, targets, detectedAt: item.detectedAt }, 'promoting');
      const req: CompletedRevision = { workload: item.workload, application: item.application, revision: item.revision, podTemplateHash: item.podTemplateHash };
      const all = targets.length === this.opts.targets.length;
      const result = await this.opts.promoter.promote(req, { deadline, signal: leadership, ...(all ? {} : { targets }) });
      remember = true;
      // Detection → finished, the seed's 100 s SLA measure (the PromotionOverSla alert reads phase="total").
      this.opts.metrics?.onPhase('total', Date.now() - item.detectedAt);
      log.info({
        sequence: result.sequence, digest: result.bundleDigest, phaseDurations: result.phaseDurations,
        targets: result.targets.map((t) => ({ target: t.target, state: t.state, code: t.code, seconds: t.seconds })),
        totalSeconds: (Date.now() - item.detectedAt) / 1000,
      }, 'promotion finished');
      for (const t of result.targets) {
        // Unreachable, or out of time (e.g. queued behind other promotions): DR is still behind, so
        // try again with back-off; the DR status check stops the retry once it caught up.
        if (t.code === 'CLUSTER_UNREACHABLE' || t.code === 'DEADLINE_EXCEEDED') this.scheduleRetry(item.application, t.target, log);
        else this.clearRetry(item.application, t.target);
      }
    } catch (err) {
      if (leadership.aborted) {
        log.warn({ err: errText(err) }, 'promotion interrupted (leadership lost or shutting down); the next leader resumes it from DR status');
        return;
      }
      const code: RelayErrorCode | undefined = isRelayError(err) ? err.code : undefined;
      log.warn({ code, err: errText(err) }, 'promotion failed');
      this.opts.metrics?.recordError(item.application, item.targets ?? this.opts.targets.map((t) => t.name));
      remember = true;
      // The workload moved on (a newer revision will be queued by its own watch event), or the
      // source was unreachable: try the application again later; the DR status check stops repeats.
      this.scheduleRetry(item.application, undefined, log);
    } finally {
      this.queue.finish(item, remember);
    }
  }

  private scheduleRetry(application: string, target: string | undefined, log: Logger): void {
    if (!this.leading || this.stopping) return;
    const key = `${application}\u0000${target ?? '*'}`;
    const entry = this.retries.get(key) ?? { failures: 0 };
    clearTimeout(entry.timer);
    entry.failures++;
    const delay = backoffDelay(entry.failures, this.opts.retryInitialMs ?? 2000, this.opts.retryMaxMs ?? 60_000, Math.random);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.requeue(application, target ? [target] : undefined, 'retry');
    }, delay);
    entry.timer.unref();
    this.retries.set(key, entry);
    log.info({ target: target ?? '(all)', retryInSeconds: delay / 1000, attempt: entry.failures }, 'will retry');
  }

  private clearRetry(application: string, target: string): void {
    for (const key of [`${application}\u0000${target}`, `${application}\u0000*`]) {
      const entry = this.retries.get(key);
      if (entry) {
        clearTimeout(entry.timer);
        this.retries.delete(key);
      }
    }
  }

  /** /readyz: primary watches synced and, with leader election, a leader known. */
  readiness(): { ready: boolean; detail: Record<string, unknown> } {
    const watches = this.allReflectors().map((r) => ({ watch: r.description, synced: r.synced }));
    const primarySynced = this.workloadReflectors.every((r) => r.synced || this.notServed(r)) && this.eventReflectors.every((r) => r.synced);
    const leader = this.elector ? this.elector.leader : this.identity;
    const ready = primarySynced && leader !== '' && !this.stopping;
    return {
      ready,
      detail: {
        identity: this.identity, leader: leader || null, leading: this.leading, queueDepth: this.queue.depth, running: this.queue.running,
        watches,
      },
    };
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** DR lag per (application, target) from the status watches: 0 when DR runs primary's stable revision. */
  lagSamples(now = Date.now()): LagSample[] {
    const out: LagSample[] = [];
    for (const [application, done] of this.completed) {
      for (const t of this.opts.targets) {
        const st = this.cachedStatus(t.name, application);
        const inSync = !!st && st.state === 'completed' && st.revision === done.revision;
        out.push({ application, target: t.name, seconds: inSync ? 0 : Math.max(0, (now - done.since) / 1000) });
      }
    }
    return out;
  }

  private cachedStatus(target: string, application: string): TargetStatus | undefined {
    const [ns, app] = application.split('/');
    for (const r of this.statusReflectors.get(target) ?? []) {
      const cm = r.get(ns ?? '', `rollout-relay-status-${app}`);
      if (cm) {
        try {
          return toTargetStatus(statusFromData(cm.data));
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }

  /** GET /api/v1/applications/{namespace}/{name}: per target the status record, inSync and lagSeconds. */
  async applicationStatus(namespace: string, name: string): Promise<unknown> {
    const application = `${namespace}/${name}`;
    const w = this.applications.get(application);
    if (!w) return undefined;
    const stable = await this.primaryStable(application, namespace, name);
    const now = Date.now();
    /** Seconds behind since this process saw the stable revision complete; null when it did not (a restart). */
    const lag = (): number | null => (!stable ? 0 : stable.since === undefined ? null : Math.round((now - stable.since) / 100) / 10);
    const targets = await Promise.all(this.opts.targets.map(async (t) => {
      try {
        const rec = await withTimeout(this.readStatus(t, application), 5000);
        const inSync = !!rec && !!stable && rec.state === 'completed' && rec.revision === stable.revision;
        return {
          target: t.name,
          ...(rec ? statusRecordToJSON(rec) : { hotUpdateStatus: null }),
          inSync,
          lagSeconds: inSync ? 0 : lag(),
        };
      } catch (err) {
        return { target: t.name, hotUpdateStatus: null, inSync: false, lagSeconds: stable ? lag() : null, error: { code: isRelayError(err) ? err.code : 'CLUSTER_UNREACHABLE', message: errText(err) } };
      }
    }));
    return {
      application,
      workload: w,
      primary: stable ? { revision: stable.revision, podTemplateHash: stable.podTemplateHash, completedSeenAt: stable.since === undefined ? null : new Date(stable.since).toISOString() } : null,
      targets,
    };
  }

  /**
   * Primary's current stable revision of an application: the completion this process saw, else
   * the workload's stable ReplicaSet as primary has it now. The second matters to the RPO guard:
   * after a restart while a Rollout is mid-canary or aborted, nothing completes until the guard
   * passes, so a guard that knew only what it saw complete would block every release for good.
   * Undefined (never in sync) when primary cannot be read.
   */
  private async primaryStable(application: string, namespace: string, name: string): Promise<{ revision: string; podTemplateHash: string; since?: number } | undefined> {
    const done = this.completed.get(application);
    if (done) return done;
    try {
      return await withTimeout((this.opts.readPrimaryStable ?? ((ns, app) => readStableRevision(this.opts.primary, ns, app)))(namespace, name), 5000);
    } catch (err) {
      this.log.warn({ application, err: errText(err) }, 'cannot read the stable revision in primary');
      return undefined;
    }
  }

  /**
   * Graceful shutdown: no new promotions; running ones get `shutdownGraceMs` to finish, then are
   * aborted (DR's status says where they stopped; the next leader re-runs them); the Lease is
   * released so another replica takes over at once.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.resyncTimer);
    for (const r of this.retries.values()) clearTimeout(r.timer);
    const grace = this.opts.shutdownGraceMs ?? 10_000;
    if (this.running.size > 0) {
      this.log.info({ running: this.running.size, graceSeconds: grace / 1000 }, 'waiting for running promotions');
      await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, grace).unref())]);
    }
    this.leadership.abort();
    await Promise.allSettled([...this.running]);
    this.electionStop.abort();
    await this.electionLoop;
    await this.elector?.release();
    await Promise.all(this.allReflectors().map((r) => r.stop()));
  }
}

function toTargetStatus(r: StatusRecord): TargetStatus {
  return { state: r.state, revision: r.revision, ...(r.podTemplateHash ? { podTemplateHash: r.podTemplateHash } : {}) };
}

/** A status record in the camelCase of the JSON surfaces (design §6). */
export function statusRecordToJSON(r: StatusRecord): Record<string, unknown> {
  const { state, lastCompleted: _lc, ...rest } = r;
  return { hotUpdateStatus: state, ...rest };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
