import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { assessHealth } from '../apply/health.js';
import type { ClusterTarget } from '../cluster/kubeconfig.js';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import type { RelayConfig, TargetConfig } from '../config/types.js';
import { RelayError } from '../errors.js';
import { WORKLOAD_API_VERSION } from '../export/exporter.js';
import type { LiveObject } from '../export/select.js';
import type { PostCheckResult } from '../hooks/types.js';
import { nullLogger } from '../promote/deps.js';
import { Promoter } from '../promote/pipeline.js';
import { SourceRecord, type SourceRecordData } from '../promote/source-record.js';
import { configTargetClients } from '../promote/targets.js';
import type { PromotionResult, WorkloadRef } from '../promote/types.js';
import type { StatusRecord } from '../status/model.js';
import { StatusWriter } from '../status/writer.js';
import { createCut, type Cut } from './cuts.js';
import { computeRpo, drServing, judge, rtoSeconds, sameRelease, type Release, type ReleaseTime, type Rpo } from './measure.js';
import type { DrillProgress } from './progress.js';
import type { DrillPostCheck, DrillReport, DrillStep, DrillTargetResult } from './report.js';
import { notBackError, recoverLeftovers, recoverySummary, waitComplete } from './recover.js';
import type { DrillScenario, StepName } from './scenario.js';

/** How often DR is probed after the cut (design §8: RTO probed every 250 ms). */
export const PROBE_INTERVAL_MS = 250;
/** How long failback (and a recovery before the drill) waits for primary to answer and its workloads to be complete again. */
export const FAILBACK_WAIT_MS = 180_000;
const IN_FLIGHT: ReadonlySet<string> = new Set(['pending', 'verifying', 'applying', 'post-checks']);
const RS_REVISION: Record<WorkloadRef['kind'], string> = { Rollout: 'rollout.argoproj.io/revision', Deployment: 'deployment.kubernetes.io/revision' };

export interface DrillDeps {
  scenario: DrillScenario;
  config: RelayConfig;
  primary: KubeConfig;
  progress: DrillProgress;
  /** Aborts the drill (SIGINT, SIGTERM): the current step stops, the cut is undone, the report says why. */
  signal?: AbortSignal;
  clock?: () => number;
  /** Clients per target; default: from the config (resolved once, before the cut). */
  targetClient?: (t: TargetConfig) => Promise<ClusterTarget>;
  /** How long the preflight waits for primary's workloads after undoing a cut a killed drill left (default FAILBACK_WAIT_MS). */
  recoveryWaitMs?: number;
}

/** One application of the scenario, as the drill follows it. */
interface AppRun {
  ref: WorkloadRef;
  /** `<namespace>/<app>`. */
  application: string;
  /** Primary's release when last read (before the cut, and again at failback). */
  primary: Release;
  /** Primary's last bundle, snapshotted before the cut: what DR must serve. */
  lastBundle: SourceRecordData['lastBundle'];
  targets: Map<string, DrillTargetResult>;
}

interface Snapshot {
  primary: Release;
  record: SourceRecordData | undefined;
  history: ReleaseTime[];
}

class Interrupted extends Error {}

function message(err: unknown): string {
  return err instanceof RelayError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Runs one drill (design §8): steps in the scenario's order, RPO measured before anything changes,
 * the cut, DR probed every 250 ms until verified (RTO), failback. The cut is undone whatever
 * happens: a failed step, an error, the drill's timeout or an abort (SIGINT/SIGTERM) all end in
 * the undo before this returns. Refusals before anything changed (a promotion in flight, a
 * workload that does not exist) throw; everything after returns a report.
 */
export class DrillRunner {
  private readonly clock: () => number;
  private readonly promoter: Promoter;
  private readonly targetClient: (t: TargetConfig) => Promise<ClusterTarget>;
  private readonly clients = new Map<string, ClusterTarget>();
  private readonly apps: AppRun[] = [];
  private readonly steps: DrillStep[] = [];
  private readonly abort = new AbortController();
  private cut: Cut | undefined;
  private cutApplied = false;
  private cutAt: number | null = null;
  private undoneAt: number | null = null;
  private verifiedAt: number | null = null;
  private rpo: Rpo | null = null;
  private rpoWhy: string | undefined;
  private interrupted: string | undefined;

  constructor(private readonly deps: DrillDeps) {
    this.clock = deps.clock ?? Date.now;
    const resolve = deps.targetClient ?? configTargetClients(deps.primary);
    // Resolved once, before the cut: a target reached through an Argo CD Secret in primary stays reachable after it.
    this.targetClient = async (t) => {
      let c = this.clients.get(t.name);
      if (!c) {
        c = await resolve(t);
        this.clients.set(t.name, c);
      }
      return c;
    };
    this.promoter = new Promoter(deps.config, { primary: deps.primary, targetClient: this.targetClient, logger: nullLogger });
  }

  private get scenario(): DrillScenario {
    return this.deps.scenario;
  }

  private get signal(): AbortSignal {
    return this.abort.signal;
  }

  private checkAbort(): void {
    if (this.signal.aborted) throw new Interrupted(String(this.signal.reason ?? 'interrupted'));
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.signal });
    } catch {
      this.checkAbort();
    }
  }

  /** Runs the drill; the report is returned also when it failed or was interrupted. */
  async run(): Promise<DrillReport> {
    const onAbort = () => this.abort.abort(this.deps.signal?.reason ?? 'interrupted');
    if (this.deps.signal?.aborted) onAbort();
    this.deps.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => this.abort.abort(`the drill's timeout of ${this.scenario.timeoutMs / 1000} s passed`), this.scenario.timeoutMs);
    timer.unref();
    const startedAt = this.clock();
    try {
      await this.preflight();
      for (const name of this.scenario.steps) {
        if (this.signal.aborted || (name !== 'promote' && this.stepFailed('cut-primary'))) {
          this.skip(name, this.signal.aborted ? `not run: ${String(this.signal.reason)}` : 'not run: the cut failed');
          continue;
        }
        await this.step(name);
      }
    } finally {
      clearTimeout(timer);
      this.deps.signal?.removeEventListener('abort', onAbort);
      await this.undoCut('the drill ended');
    }
    if (this.signal.aborted) this.interrupted = `interrupted: ${String(this.signal.reason)}${this.cutApplied || this.undoneAt !== null ? '; the cut was undone' : ''}`;
    await this.fillUnreadTargets();
    return this.report(startedAt);
  }

  private stepFailed(name: StepName): boolean {
    return this.steps.some((s) => s.name === name && s.result === 'fail');
  }

  private skip(name: string, why: string): void {
    this.steps.push({ name, startedAt: iso(this.clock()), seconds: 0, result: 'skipped', message: why });
    this.deps.progress.stepFinished(name, 'skipped', 0, why);
  }

  private async step(name: StepName): Promise<void> {
    const started = this.clock();
    this.deps.progress.stepStarted(name);
    let result: 'pass' | 'fail' = 'pass';
    let text: string;
    try {
      text = await this.runStep(name);
    } catch (err) {
      result = 'fail';
      text = err instanceof Interrupted || this.signal.aborted ? `interrupted: ${String(this.signal.reason ?? (err as Error).message)}` : message(err);
    }
    const seconds = (this.clock() - started) / 1000;
    this.steps.push({ name, startedAt: iso(started), seconds, result, message: text });
    this.deps.progress.stepFinished(name, result, seconds, text);
  }

  private runStep(name: StepName): Promise<string> {
    switch (name) {
      case 'promote': return this.promoteStep();
      case 'cut-primary': return this.cutStep();
      case 'verify-dr': return this.verifyStep();
      case 'failback': return this.failbackStep();
    }
  }

  // ---- before anything changes ----

  /**
   * First undoes every cut a drill killed with SIGKILL left behind (any cut type; see recover.ts) and
   * waits for primary's workloads to be complete again. Then refuses to start (throws, nothing changed)
   * when a workload is missing, a rollout is still running in primary or a promotion is in flight on a
   * target: a drill then would measure a moving target.
   */
  private async preflight(): Promise<void> {
    const log = (line: string) => this.deps.progress.note(line);
    const cut = this.scenario.cut;
    // Drills killed with SIGKILL left their cut behind: undo every kind first, whatever this drill's cut.
    const recovery = await recoverLeftovers({ primary: this.deps.primary, sandboxDir: cut.type === 'sandbox' ? cut.dir : undefined, applications: this.scenario.applications, log });
    const refs: WorkloadRef[] = [];
    for (const a of this.scenario.applications) refs.push(await this.promoter.findWorkload(a.namespace, a.name));
    if (recoverySummary(recovery)) {
      // After an undo the pods come back first: wait for them, and say what is not back if they do not.
      const waitMs = this.deps.recoveryWaitMs ?? FAILBACK_WAIT_MS;
      const left = await waitComplete(refs, (ref) => this.promoter.readWorkload(ref), this.clock() + waitMs, { clock: this.clock, pause: (ms) => this.pause(ms), intervalMs: PROBE_INTERVAL_MS });
      if (left.length) throw notBackError(recovery, left, waitMs, 'run the drill again once they are complete; the drill did not start');
    }
    for (const ref of refs) {
      const ws = await this.promoter.readWorkload(ref);
      if (!ws.complete) {
        throw new RelayError('PROMOTION_IN_FLIGHT', `${ref.kind} ${ref.namespace}/${ref.name} is rolling out in primary (${ws.reason}); a promotion follows it. Run the drill once it completed; nothing was done`);
      }
      this.apps.push({ ref, application: ws.application, primary: { revision: ws.revision, podTemplateHash: ws.podTemplateHash }, lastBundle: undefined, targets: new Map() });
    }
    for (const app of this.apps) {
      for (const t of this.deps.config.targets) {
        const stored = await this.drStatus(app, t);
        if (stored && IN_FLIGHT.has(stored.state)) {
          throw new RelayError('PROMOTION_IN_FLIGHT', `a promotion of ${app.application} to ${t.name} is in flight (status ${stored.state} since ${stored.startedAt || '?'}, sequence ${stored.sequence}); run the drill once it finished; nothing was done`);
        }
      }
    }
    this.cut = createCut(cut, { primary: this.deps.primary, workloads: refs, log, workloadState: (ref) => this.promoter.readWorkload(ref) });
    await this.cut.check?.();
  }

  private async drStatus(app: AppRun, t: TargetConfig): Promise<StatusRecord | undefined> {
    const c = await this.targetClient(t);
    return (await new StatusWriter(c.kubeConfig, app.application).read())?.record;
  }

  /** Primary's release, its source record and its history (ReplicaSets' revisions, the last bundle's time). */
  private async snapshot(app: AppRun): Promise<Snapshot> {
    const ws = await this.promoter.readWorkload(app.ref);
    const primary = { revision: ws.revision, podTemplateHash: ws.podTemplateHash };
    const record = (await new SourceRecord(this.deps.primary, app.application).read())?.record;
    const history = await this.replicaSetHistory(app.ref, ws.live);
    // A bundled release counts from when it was bundled (complete in primary); others from their ReplicaSet.
    const lb = record?.lastBundle;
    const merged = lb ? [...history.filter((h) => h.revision !== lb.revision), { revision: lb.revision, at: lb.createdAt }] : history;
    return { primary, record, history: merged };
  }

  private async replicaSetHistory(ref: WorkloadRef, live: LiveObject): Promise<ReleaseTime[]> {
    const uid = live.metadata?.uid;
    const matchLabels = ((live.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels) ?? {};
    const labelSelector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    const api = UntypedObjectApi.forKubeConfig(this.deps.primary);
    const list = (await api.getPath(`/apis/apps/v1/namespaces/${ref.namespace}/replicasets`, { labelSelector })) as { items?: LiveObject[] };
    return (list.items ?? [])
      .filter((rs) => ((rs.metadata?.ownerReferences ?? []) as { uid?: string }[]).some((o) => o.uid === uid))
      .flatMap((rs) => {
        const revision = rs.metadata?.annotations?.[RS_REVISION[ref.kind]];
        const at = rs.metadata?.creationTimestamp;
        return revision && at ? [{ revision, at: String(at instanceof Date ? at.toISOString() : at) }] : [];
      });
  }

  /** RPO now: the worst over applications and targets (releases first, then seconds). */
  private async measureRpo(): Promise<{ rpo: Rpo; why: string | undefined; lines: string[] }> {
    const at = this.clock();
    let worst: Rpo = { releases: 0, seconds: 0, behindSince: null };
    let why: string | undefined;
    const lines: string[] = [];
    for (const app of this.apps) {
      const snap = await this.snapshot(app);
      app.primary = snap.primary;
      for (const t of this.deps.config.targets) {
        const status = await this.drStatus(app, t);
        const serving = drServing(status);
        const rpo = computeRpo({ primary: snap.primary, dr: serving, history: snap.history, at });
        const last = snap.record?.targets[t.name];
        const lastWhy = last && last.state !== 'completed' ? `the last promotion of ${app.application} to ${t.name} (sequence ${last.sequence}, revision ${last.revision}) ended ${last.state}${last.code ? ` ${last.code}` : ''}` : undefined;
        const lastText = lastWhy ? `; ${lastWhy}` : '';
        lines.push(rpo.releases === 0
          ? `${app.application} on ${t.name}: in sync at revision ${snap.primary.revision}`
          : `${app.application} on ${t.name}: ${rpo.releases} release(s) behind for ${rpo.seconds.toFixed(1)} s (DR serves revision ${serving?.revision || 'none'}, primary ${snap.primary.revision})${lastText}`);
        if (rpo.releases > worst.releases || (rpo.releases === worst.releases && rpo.seconds > worst.seconds)) {
          worst = rpo;
          why = lastWhy ?? `${app.application} on ${t.name} serves revision ${serving?.revision || 'none'}, primary ${snap.primary.revision}`;
        }
      }
    }
    return { rpo: worst, why: worst.releases > 0 ? why : undefined, lines };
  }

  // ---- steps ----

  /** Records how far DR is behind (RPO), then brings it up to date with the Promoter (the controller's pipeline). */
  private async promoteStep(): Promise<string> {
    const measured = await this.measureRpo();
    this.rpo = measured.rpo;
    this.rpoWhy = measured.why;
    const lines = [...measured.lines];
    const failures: string[] = [];
    for (const app of this.apps) {
      this.checkAbort();
      const record = (await new SourceRecord(this.deps.primary, app.application).read())?.record;
      const lb = record?.lastBundle;
      const statuses = await Promise.all(this.deps.config.targets.map((t) => this.drStatus(app, t)));
      const inSync = lb !== undefined && sameRelease(app.primary, lb) && statuses.every((s) => s?.state === 'completed' && s.bundleDigest === lb.digest);
      if (inSync) {
        lines.push(`${app.application}: every target already serves primary's last bundle ${lb.digest} (sequence ${lb.sequence}); nothing to promote`);
        continue;
      }
      // Not aborted by SIGINT: an abort would record a failure in primary while DR's apply goes on; the
      // promotion finishes (bounded by its deadline) and the drill stops right after it.
      const result: PromotionResult = await this.promoter.promote({ workload: app.ref }, { deadline: this.clock() + this.deps.config.timeouts.promotionMs });
      this.checkAbort();
      const bad = result.targets.filter((t) => t.state !== 'completed');
      lines.push(`${app.application}: promoted revision ${result.revision} (sequence ${result.sequence}, ${result.bundleDigest}) in ${(result.seconds ?? 0).toFixed(1)} s: ${result.targets.map((t) => `${t.target} ${t.state}${t.code ? ` ${t.code}` : ''}`).join(', ')}`);
      for (const t of bad) failures.push(`${app.application} to ${t.target}: ${t.state}${t.code ? ` (${t.code})` : ''}: ${t.message.split('\n')[0]}`);
    }
    if (failures.length) throw new RelayError('APPLY_FAILED', `DR could not be brought up to date: ${failures.join('; ')}. ${lines.join('. ')}`);
    return lines.join('. ');
  }

  /** Snapshots what DR must serve (primary's last bundle), then cuts primary off; the SLA clock starts. */
  private async cutStep(): Promise<string> {
    if (!this.rpo) {
      const measured = await this.measureRpo();
      this.rpo = measured.rpo;
      this.rpoWhy = measured.why;
    }
    for (const app of this.apps) {
      const record = (await new SourceRecord(this.deps.primary, app.application).read())?.record;
      app.lastBundle = record?.lastBundle;
    }
    this.checkAbort();
    const cut = this.cut!;
    // Marked before apply: a cut that fails halfway (or is interrupted) is still undone.
    this.cutApplied = true;
    await cut.apply();
    this.cutAt = this.clock();
    this.deps.progress.cutAt(this.cutAt);
    return `primary cut off (${cut.type}) at ${iso(this.cutAt)}`;
  }

  /** Why one target does not (yet) serve what it must; undefined when verified. `final` = it will not change by itself. */
  private async checkTarget(app: AppRun, t: TargetConfig): Promise<{ why?: string; final?: boolean }> {
    const c = await this.targetClient(t);
    const status = (await new StatusWriter(c.kubeConfig, app.application).read())?.record;
    this.recordTarget(app, t.name, status);
    const expect = app.lastBundle;
    if (!expect) return { why: `primary has no bundle of ${app.application} (never promoted)`, final: true };
    if (!status) return { why: `${t.name} has no status for ${app.application}`, final: true };
    if (IN_FLIGHT.has(status.state)) return { why: `${t.name} is ${status.state}` };
    if (status.state !== 'completed') return { why: `${t.name} is ${status.state}: ${status.message.split('\n')[0]}`, final: true };
    if (status.bundleDigest !== expect.digest) return { why: `${t.name} serves ${status.bundleDigest} (sequence ${status.sequence}), not primary's last bundle ${expect.digest} (sequence ${expect.sequence})`, final: true };
    if (!sameRelease({ revision: status.revision, podTemplateHash: status.podTemplateHash }, app.primary)) return { why: `${t.name} serves revision ${status.revision}, primary ${app.primary.revision}`, final: true };
    const api = UntypedObjectApi.forKubeConfig(c.kubeConfig);
    let live: LiveObject;
    try {
      live = (await api.read({ apiVersion: WORKLOAD_API_VERSION[app.ref.kind], kind: app.ref.kind, metadata: { name: app.ref.name, namespace: app.ref.namespace } })) as LiveObject;
    } catch (err) {
      return { why: `${t.name}: cannot read ${app.ref.kind} ${app.ref.namespace}/${app.ref.name}: ${message(err)}` };
    }
    const health = assessHealth(live as never);
    if (health.status !== 'Healthy') return { why: `${t.name}: ${app.ref.kind} ${app.ref.namespace}/${app.ref.name} is ${health.status}${health.message ? ` (${health.message})` : ''}` };
    return {};
  }

  private recordTarget(app: AppRun, target: string, status: StatusRecord | undefined, postChecks?: DrillPostCheck[]): void {
    const prev = app.targets.get(target);
    app.targets.set(target, {
      target,
      revision: status?.revision || null,
      podTemplateHash: status?.podTemplateHash || null,
      hotUpdateStatus: status?.state ?? null,
      bundleDigest: status?.bundleDigest || null,
      // The keys whose signatures DR itself verified for the bundle it serves (its status's key_ids).
      keyIds: status?.keyIds ?? [],
      sequence: status ? status.sequence : null,
      postChecks: postChecks ?? prev?.postChecks ?? [],
    });
  }

  /** Probes every target every 250 ms until all serve what they must, or `deadline`; then the post-hooks. */
  private async verifyAll(deadline: number): Promise<void> {
    for (;;) {
      this.checkAbort();
      const problems: { why: string; final: boolean }[] = [];
      for (const app of this.apps) {
        for (const t of this.deps.config.targets) {
          try {
            const r = await this.checkTarget(app, t);
            if (r.why) problems.push({ why: r.why, final: r.final ?? false });
          } catch (err) {
            problems.push({ why: `${t.name}: ${message(err)}`, final: false });
          }
        }
      }
      if (problems.length === 0) break;
      const finals = problems.filter((p) => p.final);
      if (finals.length) throw new RelayError('APPLY_FAILED', finals.map((p) => p.why).join('; '));
      if (this.clock() >= deadline) throw new RelayError('DEADLINE_EXCEEDED', `not verified within the ${this.scenario.slaMs / 1000} s SLA: ${problems.map((p) => p.why).join('; ')}`);
      await this.pause(PROBE_INTERVAL_MS);
    }
    await this.runHooks(deadline);
  }

  private async runHooks(deadline: number): Promise<void> {
    const hooks = this.deps.config.hooks;
    if (hooks.count === 0) return;
    const failed: string[] = [];
    for (const app of this.apps) {
      for (const t of this.deps.config.targets) {
        const c = await this.targetClient(t);
        const status = (await new StatusWriter(c.kubeConfig, app.application).read())?.record;
        const [namespace, name] = app.application.split('/') as [string, string];
        const results: PostCheckResult[] = await hooks.run({
          application: app.application, namespace, app: name, target: t.name,
          revision: status?.revision ?? app.primary.revision, podTemplateHash: status?.podTemplateHash ?? app.primary.podTemplateHash,
          digest: status?.bundleDigest ?? '', kubeConfig: c.kubeConfig, deadline: Math.max(deadline, this.clock() + 1000), signal: this.signal,
        });
        this.checkAbort();
        this.recordTarget(app, t.name, status, results.map((r) => ({ name: r.name, type: r.type, passed: r.passed, observed: r.observed, message: r.message, seconds: r.seconds })));
        for (const r of results.filter((x) => !x.passed)) failed.push(`${app.application} on ${t.name}: post-hook ${r.name} (${r.type}) failed: ${r.observed}: ${r.message.split('\n')[0]}`);
      }
    }
    if (failed.length) throw new RelayError('HOOK_FAILED', failed.join('; '));
  }

  /** DR serves primary's last bundle, healthy, post-hooks pass: RTO = cut → here. */
  private async verifyStep(): Promise<string> {
    if (this.cutAt === null) {
      // Without a cut, DR is judged as it is against primary's last bundle.
      for (const app of this.apps) app.lastBundle = (await new SourceRecord(this.deps.primary, app.application).read())?.record.lastBundle;
    }
    const from = this.cutAt ?? this.clock();
    await this.verifyAll(from + this.scenario.slaMs);
    this.verifiedAt = this.clock();
    if (this.cutAt !== null) this.deps.progress.verifiedAt?.(this.verifiedAt);
    const rto = rtoSeconds(this.cutAt, this.verifiedAt);
    const what = this.apps.map((a) => `${a.application} at revision ${a.primary.revision} (${a.lastBundle?.digest})`).join(', ');
    return `${this.deps.config.targets.map((t) => t.name).join(', ')} verified serving ${what}${rto !== null ? `; RTO ${rto.toFixed(2)} s` : ''}`;
  }

  /** Undoes the cut, waits for primary, re-syncs DR if primary moved on, verifies both. */
  private async failbackStep(): Promise<string> {
    const undoStarted = this.clock();
    await this.undoCut('failback');
    const back = this.clock();
    const deadline = back + FAILBACK_WAIT_MS;
    const lines: string[] = [];
    let completeAt = back;
    for (const app of this.apps) {
      // Primary answers and its workload is complete again (after scale-to-zero the replicas come back first).
      let last: string;
      for (;;) {
        this.checkAbort();
        try {
          const ws = await this.promoter.readWorkload(app.ref);
          if (ws.complete) {
            app.primary = { revision: ws.revision, podTemplateHash: ws.podTemplateHash };
            break;
          }
          last = ws.reason;
        } catch (err) {
          last = message(err);
        }
        if (this.clock() >= deadline) throw new RelayError('DEADLINE_EXCEEDED', `primary's ${app.ref.kind} ${app.ref.namespace}/${app.ref.name} not back and complete within ${FAILBACK_WAIT_MS / 1000} s: ${last}`);
        await this.pause(PROBE_INTERVAL_MS);
      }
      completeAt = this.clock();
      const record = (await new SourceRecord(this.deps.primary, app.application).read())?.record;
      app.lastBundle = record?.lastBundle;
      const statuses = await Promise.all(this.deps.config.targets.map((t) => this.drStatus(app, t)));
      const synced = app.lastBundle !== undefined && sameRelease(app.primary, app.lastBundle) && statuses.every((s) => s?.state === 'completed' && s.bundleDigest === app.lastBundle!.digest);
      if (!synced) {
        // Primary moved on while it was cut off (or DR never had its release): re-sync before verifying.
        const result = await this.promoter.promote({ workload: app.ref }, { deadline: this.clock() + this.deps.config.timeouts.promotionMs });
        this.checkAbort();
        lines.push(`${app.application}: re-synced revision ${result.revision} (sequence ${result.sequence}): ${result.targets.map((t) => `${t.target} ${t.state}`).join(', ')}`);
        app.lastBundle = (await new SourceRecord(this.deps.primary, app.application).read())?.record.lastBundle;
      }
    }
    await this.verifyAll(this.clock() + this.scenario.slaMs);
    lines.unshift(`cut undone in ${((back - undoStarted) / 1000).toFixed(1)} s; primary answered with its workloads complete ${((completeAt - back) / 1000).toFixed(1)} s later`);
    lines.push(`primary and ${this.deps.config.targets.map((t) => t.name).join(', ')} verified at ${this.apps.map((a) => `${a.application} revision ${a.primary.revision}`).join(', ')}`);
    return lines.join('. ');
  }

  /** The undo, exactly once; never aborted (an interrupted drill must still bring primary back). */
  private async undoCut(why: string): Promise<void> {
    if (!this.cutApplied || !this.cut) return;
    this.deps.progress.note(`undoing the cut (${why})`);
    try {
      await this.cut.undo();
      this.cutApplied = false;
      this.undoneAt = this.clock();
      this.deps.progress.note(`primary is back (${this.cut.type} cut undone)`);
    } catch (err) {
      const text = `UNDO FAILED, primary may still be cut off: ${message(err)}`;
      this.deps.progress.note(text);
      this.steps.push({ name: 'undo', startedAt: iso(this.clock()), seconds: 0, result: 'fail', message: text });
      if (why === 'failback') throw err;
    }
  }

  /** Targets the drill never read (no verify step): their status as it is, for the report. */
  private async fillUnreadTargets(): Promise<void> {
    for (const app of this.apps) {
      for (const t of this.deps.config.targets) {
        if (app.targets.has(t.name)) continue;
        try {
          this.recordTarget(app, t.name, await this.drStatus(app, t));
        } catch {
          this.recordTarget(app, t.name, undefined);
        }
      }
    }
  }

  private report(startedAt: number): DrillReport {
    const rto = rtoSeconds(this.cutAt, this.verifiedAt);
    const rpo = this.rpo ? { releases: this.rpo.releases, seconds: this.rpo.seconds } : null;
    const { verdict, reason } = judge({
      slaMs: this.scenario.slaMs, objectives: this.scenario.objectives, rtoSeconds: rto, rpo, ...(this.rpoWhy ? { rpoWhy: this.rpoWhy } : {}),
      cut: this.cutAt !== null, steps: this.steps, ...(this.interrupted ? { interrupted: this.interrupted } : {}),
    });
    return {
      apiVersion: 'rollout-relay.io/v1',
      kind: 'DrillReport',
      scenario: this.scenario.name,
      startedAt: iso(startedAt),
      finishedAt: iso(this.clock()),
      verdict,
      reason,
      sla: { seconds: this.scenario.slaMs / 1000 },
      objectives: {
        rtoSeconds: this.scenario.objectives.rtoMs !== null ? this.scenario.objectives.rtoMs / 1000 : null,
        rpoReleases: this.scenario.objectives.rpoReleases,
      },
      rtoSeconds: rto,
      rpo,
      cut: { type: this.scenario.cut.type, at: this.cutAt !== null ? iso(this.cutAt) : null, undoneAt: this.undoneAt !== null ? iso(this.undoneAt) : null },
      steps: this.steps,
      applications: this.apps.map((a) => ({
        application: a.application,
        primaryRevision: a.primary.revision || null,
        primaryPodTemplateHash: a.primary.podTemplateHash || null,
        targets: this.deps.config.targets.map((t) => a.targets.get(t.name)!).filter((x) => x !== undefined),
      })),
    };
  }
}
