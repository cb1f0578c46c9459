import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Applier, ApplyError } from '../apply/applier.js';
import { createBundle } from '../bundle/create.js';
import { formatDigest } from '../bundle/digest.js';
import { regularFileSize } from '../bundle/source.js';
import { readBundleBytes } from '../bundle/reader.js';
import type { BundleIndex } from '../bundle/types.js';
import type { ClusterTarget } from '../cluster/kubeconfig.js';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import type { RelayConfig, TargetConfig } from '../config/types.js';
import { RelayError, isRelayError, type RelayErrorCode } from '../errors.js';
import { ApplicationExporter, WORKLOAD_API_VERSION } from '../export/exporter.js';
import { applicationOf, type LiveObject } from '../export/select.js';
import type { HookContext } from '../hooks/types.js';
import { loadTrustPolicy } from '../policy/trust-policy.js';
import type { TrustPolicy } from '../policy/trust-policy.js';
import { MAX_ENVELOPE_BYTES, serializeEnvelope } from '../signing/dsse.js';
import { signBundleDigest } from '../signing/envelope.js';
import { StatusSequenceStore } from '../status/sequence-store.js';
import { StatusWriter } from '../status/writer.js';
import type { HotUpdateState } from '../status/model.js';
import { verifyBundleBytes, type VerifiedBundle } from '../verify/verify-bundle.js';
import { KindScopeLookup } from '../cluster/kind-scope.js';
import { applyOverrides } from '../overrides/apply-overrides.js';
import { judgeCompletion } from './completion.js';
import { nullLogger, type EventRecorder, type Logger, type PromoterDeps, type PromotionObserver, type WorkloadEventTarget } from './deps.js';
import { KubeEventRecorder, REASON_VERIFICATION_FAILED } from './events.js';
import { withTargetLock } from './lock.js';
import { drRolloutForFullPromotion } from './dr-rollout.js';
import { promoteRolloutsFull } from './rollouts-full.js';
import { configSigners } from './signers.js';
import { timePhase } from '../phase-timer.js';
import { SourceRecord } from './source-record.js';
import { configTargetClients } from './targets.js';
import type { CompletedRevision, PromotionResult, TargetOutcome, WorkloadRef } from './types.js';

export type PromoteRequest = CompletedRevision | { workload: WorkloadRef };

export interface PromoteOptions {
  /** Epoch ms by which the promotion must be `completed`. Default: now + timeouts.promotion. */
  deadline?: number;
  /** Apply this already signed bundle (`<file>.sig.json` beside it) to every target instead of exporting. */
  bundlePath?: string;
  /** Aborts waiting: `promote` then throws PROMOTION_INTERRUPTED and records no outcome for targets still running (their current requests finish). */
  signal?: AbortSignal;
  /** Only these targets (by `targets[].name`); default: every target of the config. Unknown names are USAGE. */
  targets?: string[];
}

/** Codes a target's verification refuses with that mean "do not trust this bundle" (alert and pause). */
const VERIFICATION_CODES: ReadonlySet<RelayErrorCode> = new Set<RelayErrorCode>([
  'DIGEST_MISMATCH', 'FILE_DIGEST_MISMATCH', 'BAD_SIGNATURE', 'UNKNOWN_KEY', 'THRESHOLD_NOT_MET', 'EXPIRED',
  'TARGET_NOT_ALLOWED', 'SOURCE_NOT_ALLOWED', 'UNSAFE_ENTRY', 'UNLISTED_ENTRY', 'MISSING_ENTRY', 'TOO_LARGE',
  'UNSUPPORTED_FORMAT', 'MALFORMED', 'OUT_OF_SCOPE',
]);

/** The signed bundle of one promotion, in memory. */
interface SignedBundle {
  bytes: Buffer;
  /** Lower-case hex. */
  digest: string;
  envelope: string;
  index: BundleIndex;
}

export interface WorkloadState {
  live: LiveObject;
  ref: WorkloadRef;
  application: string;
  revision: string;
  podTemplateHash: string;
  complete: boolean;
  reason: string;
}

function isCompletedRevision(r: PromoteRequest): r is CompletedRevision {
  return 'revision' in r && 'podTemplateHash' in r;
}

function codeOf(err: unknown): RelayErrorCode {
  return err instanceof RelayError ? err.code : 'APPLY_FAILED';
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 4000);
}

/** A target's wait ended by the abort signal, not by an outcome. */
const INTERRUPTED = Symbol('interrupted');

/**
 * The promotion pipeline shared by the controller and the one-shot `promote` (design §1, §6, §9),
 * in the seed's phases: Preload (export + bundle + sign), Quiesce (verify + preflight per target),
 * Swap (apply + health, Rollouts promoted in full), Cleanup (post-hooks + prune + `completed`).
 * Every target runs concurrently under its own lock and status; one unreachable or failing target
 * never blocks the others. The whole promotion is bounded by `timeouts.promotion`.
 */
export class Promoter {
  private readonly exporter: ApplicationExporter;
  private readonly primaryApi: UntypedObjectApi;
  private readonly targetClient: (t: TargetConfig) => Promise<ClusterTarget>;
  private readonly signers: NonNullable<PromoterDeps['signers']>;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private readonly observer: PromotionObserver;
  private readonly pollIntervalMs: number;

  constructor(readonly config: RelayConfig, private readonly deps: PromoterDeps) {
    this.exporter = new ApplicationExporter(deps.primary, { includeSecrets: config.export.includeSecrets, argocdNamespace: config.argocd.namespace });
    this.primaryApi = this.exporter.api;
    this.targetClient = deps.targetClient ?? configTargetClients(deps.primary);
    this.signers = deps.signers ?? configSigners(config.signing.keys, deps.primary);
    this.clock = deps.clock ?? Date.now;
    this.log = deps.logger ?? nullLogger;
    this.events = deps.events ?? new KubeEventRecorder(deps.primary, this.log);
    this.observer = deps.observer ?? {};
    this.pollIntervalMs = deps.pollIntervalMs ?? 250;
  }

  /**
   * Finds `namespace/name` as a Rollout or a Deployment (both tried unless `kind` is given):
   * WORKLOAD_NOT_FOUND when neither exists, USAGE when both do.
   */
  async findWorkload(namespace: string, name: string, kind?: WorkloadRef['kind']): Promise<WorkloadRef> {
    if (kind) return { kind, namespace, name };
    const found = await Promise.all((['Rollout', 'Deployment'] as const).map(async (k) => {
      try {
        await this.exporter.readWorkload({ kind: k, namespace, name });
        return k;
      } catch (err) {
        if (isRelayError(err, 'WORKLOAD_NOT_FOUND')) return undefined;
        throw err;
      }
    }));
    const kinds = found.filter((k): k is WorkloadRef['kind'] => k !== undefined);
    if (kinds.length === 0) throw new RelayError('WORKLOAD_NOT_FOUND', `no Rollout or Deployment ${namespace}/${name} in the primary cluster (${this.config.source.cluster})`);
    if (kinds.length > 1) throw new RelayError('USAGE', `both a Rollout and a Deployment ${namespace}/${name} exist; pass --kind Rollout or --kind Deployment`);
    return { kind: kinds[0]!, namespace, name };
  }

  /** Reads a workload and judges its completion from its own status (design §1). */
  async readWorkload(ref: WorkloadRef): Promise<WorkloadState> {
    const live = await this.exporter.readWorkload(ref);
    const hash = ref.kind === 'Deployment' ? await this.exporter.deploymentPodTemplateHash(live) : '';
    const c = judgeCompletion(live as never, hash);
    return { live, ref, application: applicationOf(live).application, revision: c.revision, podTemplateHash: c.podTemplateHash, complete: c.complete, reason: c.reason };
  }

  /**
   * Promotes one workload's finished rollout to every target. Throws (nothing promoted) when the
   * workload is missing (WORKLOAD_NOT_FOUND), not complete (NOT_COMPLETE) or the config/policy is
   * unusable; a CompletedRevision the workload has moved past returns a result with `superseded`
   * and no targets. Target failures never throw: they are in `targets`.
   */
  async promote(req: PromoteRequest, opts: PromoteOptions = {}): Promise<PromotionResult> {
    const startedAt = this.clock();
    const deadline = opts.deadline ?? startedAt + this.config.timeouts.promotionMs;
    const phases: Record<string, number> = {};
    const timed = <T>(phase: string, application: string, fn: () => Promise<T>): Promise<T> =>
      timePhase(phases, phase, fn, (p, ms) => this.safe(() => this.observer.onPhase?.(p, ms, { application })));

    const ws = await this.readWorkload(req.workload);
    const log = this.log;
    if (isCompletedRevision(req) && (ws.revision !== req.revision || ws.podTemplateHash !== req.podTemplateHash)) {
      const result: PromotionResult = {
        application: ws.application, revision: req.revision, podTemplateHash: req.podTemplateHash, sequence: 0, bundleDigest: '', phaseDurations: {}, targets: [],
        superseded: { revision: ws.revision, podTemplateHash: ws.podTemplateHash },
      };
      log.info({ application: ws.application, revision: req.revision, current: ws.revision }, 'superseded by a newer revision');
      this.safe(() => this.observer.onPromotion?.(result));
      return result;
    }
    if (!opts.bundlePath && !ws.complete) {
      throw new RelayError('NOT_COMPLETE', `${ws.ref.kind} ${ws.ref.namespace}/${ws.ref.name} revision ${ws.revision || '?'} is not complete (${ws.reason}); promote it once the rollout finished (or pass --wait)`);
    }
    const unknown = (opts.targets ?? []).filter((n) => !this.config.targets.some((t) => t.name === n));
    if (unknown.length) throw new RelayError('USAGE', `unknown target(s) ${unknown.join(', ')}; the config has ${this.config.targets.map((t) => t.name).join(', ')}`);
    const targets = opts.targets ? this.config.targets.filter((t) => opts.targets!.includes(t.name)) : this.config.targets;
    const policy = this.loadPolicy();
    const record = new SourceRecord(this.deps.primary, ws.application);

    let signed: SignedBundle;
    let commit: string | undefined;
    if (opts.bundlePath) {
      signed = await this.readSignedBundle(opts.bundlePath, policy.maxBundleBytes);
      if (signed.index.application !== ws.application) {
        throw new RelayError('USAGE', `bundle ${opts.bundlePath} is for application ${signed.index.application}, not ${ws.application}; nothing was done`);
      }
      commit = signed.index.source.commit;
    } else {
      const floor = this.highestTargetSequence(ws.application);
      const exported = await timed('export', ws.application, () => this.exporter.export(ws.live));
      if (exported.notReadable.length) log.info({ application: ws.application, kinds: exported.notReadable.join(',') }, 'kinds not exported: the primary RBAC does not allow listing them');
      commit = exported.commit;
      const sequence = await record.takeSequence(await floor);
      const created = await timed('bundle', ws.application, async () => createBundle(exported.objects, {
        source: {
          cluster: this.config.source.cluster, namespace: ws.ref.namespace, kind: ws.ref.kind, name: ws.ref.name,
          revision: ws.revision, podTemplateHash: ws.podTemplateHash, ...(commit ? { commit } : {}),
        },
        application: ws.application,
        sequence,
        createdAt: new Date(this.clock()),
        targets: this.config.targets.map((t) => t.name),
        differences: this.config.targets.map((t) => ({ target: t.name, overrides: t.overrides, ignoreFields: t.ignoreFields })),
      }));
      // A bad override is the config's fault: refuse before signing (and before any DR write), naming it.
      for (const t of this.config.targets) {
        if (t.overrides.length) applyOverrides(created.objects, { target: t.name, overrides: t.overrides, ignoreFields: t.ignoreFields }, { code: 'CONFIG_INVALID', applicationNamespace: ws.ref.namespace });
      }
      const envelope = await timed('sign', ws.application, async () => serializeEnvelope(await signBundleDigest(`${exported.app}-${sequence}.bundle.tar`, created.digest, created.index, await this.signers())));
      signed = { bytes: created.bytes, digest: created.digest, envelope, index: created.index };
      log.info({ application: ws.application, sequence, bundleDigest: formatDigest(created.digest), objects: created.objects.length, dropped: created.dropped.length + exported.dropped.length }, 'bundle signed');
      await record.recordBundle({
        digest: formatDigest(created.digest), sequence, createdAt: created.index.createdAt, revision: ws.revision, podTemplateHash: ws.podTemplateHash, ...(commit ? { commit } : {}),
      }).catch((err) => log.warn({ application: ws.application, err: messageOf(err) }, 'could not record the bundle in the source record'));
    }

    const eventTarget: WorkloadEventTarget = {
      ...ws.ref, apiVersion: WORKLOAD_API_VERSION[ws.ref.kind],
      ...(typeof ws.live.metadata?.uid === 'string' ? { uid: ws.live.metadata.uid } : {}),
      ...(ws.live.metadata?.resourceVersion ? { resourceVersion: String(ws.live.metadata.resourceVersion) } : {}),
    };
    const outcomes = await Promise.all(targets.map((t) => this.promoteTarget(t, {
      application: ws.application, signed, policy, deadline, record, eventTarget, commit, signal: opts.signal, sharedPhases: { ...phases },
      revision: signed.index.source.revision ?? ws.revision, podTemplateHash: signed.index.source.podTemplateHash ?? ws.podTemplateHash,
    })));
    for (const o of outcomes) {
      for (const [k, v] of Object.entries(o.phaseDurations ?? {})) phases[k] = Math.max(phases[k] ?? 0, v);
    }
    const result: PromotionResult = {
      application: ws.application,
      revision: signed.index.source.revision ?? ws.revision,
      podTemplateHash: signed.index.source.podTemplateHash ?? ws.podTemplateHash,
      sequence: signed.index.sequence,
      bundleDigest: formatDigest(signed.digest),
      phaseDurations: phases,
      targets: outcomes,
      ...(commit ? { commit } : {}),
      startedAt: new Date(startedAt).toISOString(),
      seconds: (this.clock() - startedAt) / 1000,
    };
    log.info({ application: ws.application, sequence: result.sequence, bundleDigest: result.bundleDigest, targets: outcomes.map((o) => `${o.target}=${o.state}`).join(','), durationMs: this.clock() - startedAt }, 'promotion finished');
    this.safe(() => this.observer.onPromotion?.(result));
    return result;
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn({ err: messageOf(err) }, 'observer callback failed');
    }
  }

  private loadPolicy(): TrustPolicy {
    // Loaded per promotion: a fixed policy takes effect on the next promotion (after `resume`).
    try {
      return loadTrustPolicy(this.config.trustPolicy);
    } catch (err) {
      if (err instanceof RelayError) throw new RelayError(err.code, `trust policy ${this.config.trustPolicy}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  private async readSignedBundle(path: string, maxBundleBytes: number): Promise<SignedBundle> {
    // Sizes first: /dev/zero would fill memory and a FIFO block; DR would refuse an oversized bundle anyway.
    const sigPath = `${path}.sig.json`;
    for (const [file, max, what] of [[path, maxBundleBytes, 'the trust policy\'s maxBundleBytes'], [sigPath, MAX_ENVELOPE_BYTES, 'the limit for a signature file']] as const) {
      const size = await regularFileSize(file);
      if (size > max) throw new RelayError('TOO_LARGE', `${file} is ${size} bytes, above ${max} (${what}); nothing was done`);
    }
    let bytes: Buffer;
    let envelope: string;
    try {
      bytes = await readFile(path);
      envelope = await readFile(sigPath, 'utf8');
    } catch (err) {
      throw new RelayError('USAGE', `cannot read ${path} and its signature ${basename(path)}.sig.json: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    const read = await readBundleBytes(bytes); // untrusted here; every target verifies before any write
    return { bytes, digest: read.digest, envelope, index: read.index };
  }

  /**
   * The highest sequence any reachable target records for the application (each read bounded to
   * 2 s): the sequence counter starts above it, so a lost source record never makes DR refuse new
   * bundles as replays.
   */
  private async highestTargetSequence(application: string): Promise<number> {
    const reads = this.config.targets.map(async (t) => {
      const c = await this.targetClient(t);
      return (await new StatusWriter(c.kubeConfig, application).read())?.record.sequence ?? 0;
    });
    const bounded = reads.map((p) => Promise.race([p.catch(() => 0), new Promise<number>((r) => setTimeout(() => r(0), 2000).unref())]));
    return Math.max(0, ...(await Promise.all(bounded)));
  }

  /** Throws PROMOTION_INTERRUPTED when `ctx.signal` aborts first (nothing is recorded then). */
  private async promoteTarget(t: TargetConfig, ctx: TargetContext): Promise<TargetOutcome> {
    const started = this.clock();
    const phases: Record<string, number> = {};
    const work = withTargetLock(ctx.application, t.name, () => this.runTarget(t, ctx, phases));
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<TargetRun>((resolve) => {
      timer = setTimeout(() => resolve({ state: 'failed', code: 'DEADLINE_EXCEEDED', message: `not completed within the promotion deadline (${Math.round(this.config.timeouts.promotionMs / 1000)}s)` }), Math.max(0, ctx.deadline - this.clock()));
    });
    const aborted = new Promise<typeof INTERRUPTED>((resolve) => {
      if (ctx.signal?.aborted) resolve(INTERRUPTED);
      ctx.signal?.addEventListener('abort', () => resolve(INTERRUPTED), { once: true });
    });
    let run: TargetRun | typeof INTERRUPTED;
    try {
      run = await Promise.race([work.catch((err): TargetRun => ({ state: 'failed', code: codeOf(err), message: messageOf(err) })), overdue, aborted]);
    } finally {
      clearTimeout(timer);
    }
    if (run === INTERRUPTED) {
      // Leadership lost or shutting down: DR's apply may still finish or stop halfway, so no outcome is
      // known. Recording `failed` (or telling observers such as GitHub) would be wrong; DR's status says
      // where it stopped, and the next leader resumes from there.
      this.log.warn({ application: ctx.application, target: t.name, seconds: (this.clock() - started) / 1000 }, 'target interrupted; no outcome recorded, the next leader resumes it from DR status');
      throw new RelayError('PROMOTION_INTERRUPTED', `promotion of ${ctx.application} to ${t.name} interrupted (leadership lost or shutting down); the next leader resumes it from DR's status`);
    }
    const outcome: TargetOutcome = {
      target: t.name, state: run.state, ...(run.code ? { code: run.code } : {}), message: run.message,
      seconds: (this.clock() - started) / 1000, phaseDurations: { ...phases }, bundleDigest: formatDigest(ctx.signed.digest),
    };
    this.log[run.state === 'completed' ? 'info' : 'warn']({ application: ctx.application, target: t.name, state: run.state, code: run.code, seconds: outcome.seconds }, 'target finished');
    // Best effort, outside the promotion deadline: bounded by one API request's timeout of its own, so
    // a hung primary cannot hold the promotion (and its slot) after the target finished.
    await ctx.record.recordTarget(t.name, {
      state: run.state, ...(run.code ? { code: run.code } : {}), message: run.message.slice(0, 1000), sequence: ctx.signed.index.sequence,
      digest: formatDigest(ctx.signed.digest), revision: ctx.revision, at: new Date(this.clock()).toISOString(),
    }, { withinMs: this.config.timeouts.apiRequestMs })
      .catch((err) => this.log.warn({ application: ctx.application, target: t.name, code: err instanceof RelayError ? err.code : undefined, err: messageOf(err) }, 'could not record the outcome in the source record'));
    this.safe(() => this.observer.onTargetOutcome?.(ctx.application, outcome));
    return outcome;
  }

  private async runTarget(t: TargetConfig, ctx: TargetContext, phases: Record<string, number>): Promise<TargetRun> {
    const timed = <T>(phase: string, fn: () => Promise<T>): Promise<T> =>
      timePhase(phases, phase, fn, (p, ms) => this.safe(() => this.observer.onPhase?.(p, ms, { application: ctx.application, target: t.name })));
    const client = await this.targetClient(t);
    const kc = client.kubeConfig;
    const status = new StatusWriter(kc, ctx.application);
    const current = await status.read();
    if (current?.record.state === 'paused' || (!current && (await ctx.record.read().catch(() => undefined))?.record.targets[t.name]?.state === 'paused')) {
      return { state: 'paused', code: 'PAUSED', message: `promotions of ${ctx.application} to ${t.name} are paused (${current?.record.message.split('\n')[0] ?? 'verification failed'}); fix the cause, then run: rollout-relay resume ${ctx.eventTarget.namespace}/${ctx.eventTarget.name} --target ${t.name} --config FILE` };
    }

    // Quiesce: verify against the trust policy and the target's last accepted sequence.
    let verified: VerifiedBundle;
    try {
      verified = await timed('verify', () => this.verifyFor(t.name, kc, ctx, current?.record));
    } catch (err) {
      const code = codeOf(err);
      if (!VERIFICATION_CODES.has(code)) throw err;
      return this.pause(t, ctx, status, current?.record.sequence ?? 0, code, messageOf(err));
    }

    if (t.mode === 'gate') {
      // Gate mode: the DR Application pinned to the verified commit applies; we verify and record.
      await status.update(verified.index.sequence, {
        state: 'completed', revision: ctx.revision, bundleDigest: formatDigest(verified.digest), sourceCluster: verified.index.source.cluster,
        startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), commit: ctx.commit ?? '', podTemplateHash: ctx.podTemplateHash, keyIds: verified.keyIds,
        message: `gate mode: bundle verified (signed by ${verified.keyNames.join(', ')}); the DR Application applies commit ${ctx.commit ?? 'unknown'}`, phaseDurations: { ...phases },
        // The signed overrides the DR Application is expected to carry for this target (nothing is applied here).
        ...(verified.differences ? { overrides: { digest: verified.differences.digest, applied: verified.differences.applied, leftOut: [] } } : {}),
      });
      return { state: 'completed', message: 'verified (gate mode: not applied by rollout-relay)' };
    }

    // Swap + Cleanup: apply in order, promote Rollouts in full, health, post-hooks, prune, completed.
    const drObjects = UntypedObjectApi.forKubeConfig(kc);
    const hookCtx: HookContext = {
      application: ctx.application, namespace: ctx.eventTarget.namespace, app: ctx.application.split('/')[1]!, target: t.name,
      revision: ctx.revision, podTemplateHash: ctx.podTemplateHash, digest: formatDigest(verified.digest), kubeConfig: kc, deadline: ctx.deadline,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    };
    const hooks = this.config.hooks;
    const applier = new Applier(kc, ctx.application, {
      timeoutMs: Math.max(1000, ctx.deadline - this.clock()),
      pollIntervalMs: this.pollIntervalMs,
      onHookFailure: this.config.onHookFailure,
      keepExistingNamespaces: true,
      targetName: t.name,
      // Prune and rollback stay inside the scope the bundle was admitted under.
      ...(verified.scope ? { scope: verified.scope } : {}),
      priorPhaseDurations: { ...ctx.sharedPhases, ...phases },
      ...(hooks.count > 0 ? { postChecks: () => hooks.run(hookCtx) } : {}),
      // Promoted in full: DR neither replays the canary nor re-judges it (dr-rollout.ts says why both).
      ...(t.rollouts === 'full' ? {
        targetForm: drRolloutForFullPromotion,
        afterStepApplied: async (objs) => { await promoteRolloutsFull(drObjects, objs, ctx.deadline); },
      } : {}),
    });
    const observeApplyPhases = (durations: Readonly<Record<string, number>>): void => {
      for (const [k, v] of Object.entries(durations)) {
        if (k in ctx.sharedPhases || k in phases) continue; // timed (and observed) already
        phases[k] = v;
        this.safe(() => this.observer.onPhase?.(k, v, { application: ctx.application, target: t.name }));
      }
    };
    try {
      const report = await applier.apply({
        application: ctx.application, objects: verified.objects, digest: verified.digest, sequence: verified.index.sequence,
        revision: ctx.revision, sourceCluster: verified.index.source.cluster, bytes: ctx.signed.bytes,
        commit: ctx.commit ?? '', podTemplateHash: ctx.podTemplateHash, keyIds: verified.keyIds,
        ...(verified.differences ? { differences: verified.differences } : {}),
      });
      observeApplyPhases(report.phaseDurations);
      await this.cleanUpHooks(kc, ctx.application, t.name);
      const changed = report.applied.filter((a) => a.action !== 'unchanged').length;
      return { state: 'completed', message: `${report.result}: ${report.applied.length} objects (${changed} changed), pruned ${report.pruned.length}` };
    } catch (err) {
      // A rolled-back apply's phases (the rollback's own among them) reach the metrics too.
      if (err instanceof ApplyError && err.phaseDurations) observeApplyPhases(err.phaseDurations);
      if (err instanceof ApplyError && err.code === 'ROLLED_BACK') return { state: 'rolled-back', code: 'ROLLED_BACK', message: messageOf(err) };
      return { state: 'failed', code: codeOf(err), message: messageOf(err) };
    }
  }

  /** After a completed apply: Jobs of hooks no longer configured are removed (a failure only logs; it never fails the promotion). */
  private async cleanUpHooks(kc: ClusterTarget['kubeConfig'], application: string, target: string): Promise<void> {
    try {
      const deleted = await this.config.hooks.cleanUp({ kubeConfig: kc, application });
      if (deleted.length) this.log.info({ application, target, jobs: deleted }, 'deleted Jobs of hooks no longer configured');
    } catch (err) {
      this.log.warn({ application, target, err: messageOf(err) }, 'could not delete Jobs of hooks no longer configured');
    }
  }

  /** Verification for one target; the very bundle that already completed there may be applied again. */
  private async verifyFor(target: string, kc: ClusterTarget['kubeConfig'], ctx: TargetContext, current: { state: HotUpdateState; bundleDigest: string; sequence: number } | undefined): Promise<VerifiedBundle> {
    // Kinds neither built in nor defined by the bundle are judged as the target serves them.
    const kinds = KindScopeLookup.forKubeConfig(kc);
    const base = { policy: ctx.policy, target, commitSequence: false, resolveKind: (apiVersion: string, kind: string) => kinds.scopeOf(apiVersion, kind) } as const;
    try {
      return await verifyBundleBytes(ctx.signed.bytes, ctx.signed.envelope, { ...base, stateStore: new StatusSequenceStore(kc) });
    } catch (err) {
      if (!isRelayError(err, 'ROLLBACK')) throw err;
      const same = current?.state === 'completed' && current.bundleDigest === formatDigest(ctx.signed.digest) && current.sequence === ctx.signed.index.sequence;
      if (!same) {
        // A newer bundle already reached this target: this one is superseded there, not distrusted.
        throw new RelayError('SUPERSEDED', `${target} already records sequence ${current?.sequence ?? '?'} for ${ctx.application}, newer than this bundle's ${ctx.signed.index.sequence}; nothing was written`, { cause: err });
      }
      return verifyBundleBytes(ctx.signed.bytes, ctx.signed.envelope, base);
    }
  }

  /** Alert and pause (design §1): Warning Event on the workload, status `paused` (sequence and digest untouched). */
  private async pause(t: TargetConfig, ctx: TargetContext, status: StatusWriter, sequence: number, code: RelayErrorCode, why: string): Promise<TargetRun> {
    const message = `${t.name} refused bundle ${formatDigest(ctx.signed.digest)} (sequence ${ctx.signed.index.sequence}): ${code}: ${why}`.slice(0, 4000);
    this.safe(() => this.observer.onVerifyFailure?.(code, { application: ctx.application, target: t.name }));
    await this.events.warning(ctx.eventTarget, REASON_VERIFICATION_FAILED, message);
    try {
      await status.update(sequence, { state: 'paused', finishedAt: new Date().toISOString(), message: `${message}; promotions to this target are paused until: rollout-relay resume ${ctx.eventTarget.namespace}/${ctx.eventTarget.name} --target ${t.name}` });
    } catch (err) {
      // No namespace in DR yet (first promotion): the source record carries the pause.
      this.log.warn({ application: ctx.application, target: t.name, err: messageOf(err) }, 'could not write paused status to the target');
    }
    return { state: 'paused', code, message };
  }
}

interface TargetContext {
  application: string;
  signed: SignedBundle;
  policy: TrustPolicy;
  deadline: number;
  record: SourceRecord;
  eventTarget: WorkloadEventTarget;
  commit: string | undefined;
  revision: string;
  podTemplateHash: string;
  signal: AbortSignal | undefined;
  /** Application-wide phases (export, bundle, sign) for the target's status. */
  sharedPhases: Record<string, number>;
}

interface TargetRun {
  state: HotUpdateState;
  code?: RelayErrorCode;
  message: string;
}
