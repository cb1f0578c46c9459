import { PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { RelayError, type RelayErrorCode } from '../errors.js';
import { formatDigest, readBundleBytes, type KubeObject } from '../bundle/index.js';
import { apiCauses, apiMessage, apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
import { enableKeepAlive } from '../cluster/kubeconfig.js';
import { inventoryKey, type CompletedBundle, type InventoryEntry, type StatusRecord } from '../status/model.js';
import { StatusWriter } from '../status/writer.js';
import { APPLICATION_ANNOTATION } from '../status/model.js';
import { HealthVerdict, HealthWaiter } from './health-wait.js';
import { LastGoodStore, compressBundle } from './last-good.js';
import type { OnHookFailure, PostCheckResult } from '../hooks/types.js';
import { OutOfScopeError, type ScopeGuard } from '../policy/scope.js';
import type { IgnoreField } from '../bundle/overrides-file.js';
import { applyOverrides } from '../overrides/apply-overrides.js';
import { hpaScaleTargets, leaveOutFields, rolloutHashLeftToRollouts, rolloutServices, selectorLeftToRollouts, selectorManagers, type LeftOutField } from '../overrides/ignore-fields.js';
import type { OverridesRecord } from '../status/model.js';
import { timePhase } from '../phase-timer.js';
import {
  computePrune, decideOwnership, describeObject, desiredObject, entryOf, mapBounded, planApply, unionInventory, untouchedSince,
  type ApplyPlan, type LiveObjectInfo, type OwnershipDecision,
} from './plan.js';

export interface ApplyOptions {
  /** SSA field manager. Default: "rollout-relay". */
  fieldManager?: string;
  /** Take ownership of fields another manager owns. Default: false. */
  force?: boolean;
  /** Delete objects of the previous inventory that the new bundle dropped. Default: true. */
  prune?: boolean;
  /** Preflight only (server dry-run); write nothing. Default: false. */
  dryRun?: boolean;
  /** Health deadline from the first write, in ms. Default: 100000 (the seed's SLA). */
  timeoutMs?: number;
  /** Requests in flight within one step (one HTTP/2 connection multiplexes them). Default: 64. */
  concurrency?: number;
  /** Take over objects that exist but were not created by this application. Default: false. */
  adopt?: boolean;
  /** Health poll interval in ms. Default: 1000. */
  pollIntervalMs?: number;
  /** Progress callback (phase names and counts; never object contents). */
  onProgress?: (event: string, fields?: Record<string, unknown>) => void;
  /**
   * Post-checks (design §5), run once every wave is healthy and before prune; their results go into
   * the status's `post_checks`. A failed result fails the apply with HOOK_FAILED. Default: none.
   */
  postChecks?: () => Promise<PostCheckResult[]>;
  /** On a failed post-check: re-apply the last completed bundle, or keep DR as applied (status failed). Default: rollback. */
  onHookFailure?: OnHookFailure;
  /**
   * Called after each apply step's objects were written and before their health is awaited, with
   * the step's objects and the health deadline (epoch ms). The promotion uses it to promote Argo
   * Rollouts in full so canary pauses and analysis do not replay in DR. A throw fails the apply
   * (and rolls back). Default: none.
   */
  afterStepApplied?: (objects: KubeObject[], deadline: number) => Promise<void>;
  /**
   * Gives each object the form it takes in this target, just before it is written (preflight,
   * apply and rollback alike, so a rollback restores the same form). The promotion uses it for
   * Argo Rollouts promoted in full (src/promote/dr-rollout.ts). Must be pure. Default: as bundled.
   */
  targetForm?: (desired: KubeObject) => KubeObject;
  /**
   * A Namespace of the bundle that already exists in the target and was not created by rollout-relay
   * is left exactly as it is (Argo CD's CreateNamespace=true: created when missing) instead of being
   * refused as NOT_OWNED. It is never written, adopted or pruned. Default: false.
   */
  keepExistingNamespaces?: boolean;
  /** The scope the bundle was verified under: prune and rollback never delete or restore outside it. Default: none. */
  scope?: ScopeGuard;
  /** Phases timed before the apply (export, bundle, sign, verify), recorded with its own in the status's phase_durations. Default: none. */
  priorPhaseDurations?: Record<string, number>;
  /**
   * The target's name: a rollback re-applies the last completed bundle with that bundle's signed
   * overrides for this target. Default: none (a rollback applies the bundle's objects as they are).
   */
  targetName?: string;
  /**
   * Leave out `spec.replicas` of every Deployment, StatefulSet, ReplicaSet or Rollout that an HPA in
   * the target (or in the bundle) scales, so the HPA keeps owning it. Default: true.
   */
  hpaOwnsReplicas?: boolean;
  /** With `dryRun`: return every object before and after in the report's `previews` (for `diff`). Default: false. */
  previews?: boolean;
}

/** A verified bundle, ready to apply: only what `verifyBundleFile` returned. */
export interface ApplyInput {
  application: string;
  objects: KubeObject[];
  /** Lower-case hex SHA-256 of the bundle. */
  digest: string;
  sequence: number;
  revision: string;
  sourceCluster: string;
  /** The verified bundle bytes, kept in DR for a later rollback; checked against `digest`. */
  bytes?: Buffer;
  /** Recorded in the status as `commit` and `pod_template_hash` when given. */
  commit?: string;
  podTemplateHash?: string;
  /** Ids of the keys whose signatures verified the bundle (`VerifiedBundle.keyIds`): the status's `key_ids`. Default: none. */
  keyIds?: string[];
  /**
   * The target's signed differences from verification: `objects` already carry the overrides;
   * `ignoreFields` are left out here; all of it is recorded in the status. Default: none.
   */
  differences?: { digest: string; ignoreFields: IgnoreField[]; applied: OverridesRecord['applied'] };
}

/** One object the preflight could not accept. */
export interface ObjectProblem {
  object: string;
  kind: 'invalid' | 'not-owned' | 'conflict' | 'unreachable';
  message: string;
  /** For conflicts: the fields and the managers that own them. */
  fields?: { field: string; manager: string }[];
}

export interface ObjectResult {
  object: string;
  action: 'create' | 'update' | 'adopt' | 'unchanged';
}

/** A dry run's view of one object: what DR holds now and what it would hold after the apply. */
export interface ObjectPreview {
  object: string;
  action: ObjectResult['action'] | 'create';
  /** The live object; undefined when it does not exist. */
  live?: KubernetesObject;
  /** The server's dry-run result; for an object whose namespace or CRD the bundle creates, the object as sent. */
  after: KubernetesObject;
  /** The apply would leave the object exactly as it is (or leaves an existing Namespace alone). */
  unchanged: boolean;
}

export interface ApplyReport {
  result: 'completed' | 'unchanged' | 'dry-run';
  /** With `dryRun`: every object before and after (for `rollout-relay diff`). */
  previews?: ObjectPreview[];
  bundleDigest: string;
  applied: ObjectResult[];
  pruned: string[];
  /** Objects whose preflight waited for a Namespace or CRD of the same bundle (checked in a stand-in namespace or after the CRD exists). */
  deferred: string[];
  phaseDurations: Record<string, number>;
}

/** A refusal that carries the per-object report. */
export class ApplyError extends RelayError {
  /** Phase durations up to the failure, the rollback's included (as the status records them); set when a rollback ran. */
  readonly phaseDurations: Readonly<Record<string, number>> | undefined;

  constructor(code: RelayErrorCode, message: string, readonly problems: ObjectProblem[] = [], options?: { cause?: unknown; phaseDurations?: Record<string, number> }) {
    super(code, message, options);
    this.phaseDurations = options?.phaseDurations;
  }
}

interface PreflightItem {
  obj: KubeObject;
  desired: KubeObject;
  entry: InventoryEntry;
  decision: OwnershipDecision;
  liveResourceVersion?: string;
  /** The object as last seen: the preflight read, then the apply's response (for the health wait). */
  latest?: KubernetesObject;
  /** The server's dry run left the live object exactly as it is: the real apply would be a no-op. */
  unchanged?: boolean;
  /** The live object read by the preflight, and the server's dry-run result (for previews). */
  live?: KubernetesObject;
  dry?: KubernetesObject;
  deferred?: 'namespace' | 'crd';
}

const STAND_IN_NAMESPACE = 'default';

function problemLines(problems: ObjectProblem[]): string {
  return problems.map((p) => `  ${p.object}: ${p.message}`).join('\n');
}

function groupOf(apiVersion: string): string {
  const s = apiVersion.lastIndexOf('/');
  return s < 0 ? '' : apiVersion.slice(0, s);
}

function isUnknownKind(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : '';
  return msg.startsWith('Unrecognized API version and kind') || (msg.startsWith('Failed to fetch resource metadata') && apiStatusCode(err) === 404);
}


/**
 * Applies one verified bundle to one cluster (design §4): preflight (server dry-run of every object,
 * ownership), ordered server-side apply by sync wave and tier with bounded concurrency, CRDs awaited
 * until Established, health within a deadline, prune of dropped objects, and on any failure after the
 * first write a rollback to the last bundle that completed on this target.
 */
export class Applier {
  private readonly opts: Required<Omit<ApplyOptions, 'onProgress' | 'postChecks' | 'afterStepApplied' | 'scope' | 'targetName' | 'targetForm'>> & Pick<ApplyOptions, 'onProgress' | 'postChecks' | 'afterStepApplied' | 'scope' | 'targetName' | 'targetForm'>;
  /** Workloads HPAs scale (from the preflight), and the fields each apply leaves out. */
  private hpaTargets: ReadonlyMap<string, string> = new Map();
  /** Services the bundle's Rollouts name (their selector may belong to Argo Rollouts in the target). */
  private rolloutServices: ReadonlyMap<string, string> = new Map();
  private leftOut: LeftOutField[] = [];
  /** Set by the preflight: the application's namespace does not exist yet (this bundle creates it). */
  private appNamespaceMissing = false;
  private objects: UntypedObjectApi;
  readonly status: StatusWriter;
  private readonly lastGood: LastGoodStore;
  private readonly health: HealthWaiter;

  constructor(private readonly kc: KubeConfig, readonly application: string, options: ApplyOptions = {}) {
    this.opts = {
      fieldManager: options.fieldManager ?? 'rollout-relay',
      force: options.force ?? false,
      prune: options.prune ?? true,
      dryRun: options.dryRun ?? false,
      timeoutMs: options.timeoutMs ?? 100_000,
      concurrency: options.concurrency ?? 64,
      adopt: options.adopt ?? false,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      onProgress: options.onProgress,
      postChecks: options.postChecks,
      onHookFailure: options.onHookFailure ?? 'rollback',
      afterStepApplied: options.afterStepApplied,
      targetForm: options.targetForm,
      keepExistingNamespaces: options.keepExistingNamespaces ?? false,
      scope: options.scope,
      priorPhaseDurations: options.priorPhaseDurations ?? {},
      targetName: options.targetName,
      hpaOwnsReplicas: options.hpaOwnsReplicas ?? true,
      previews: options.previews ?? false,
    };
    enableKeepAlive(kc, Math.max(8, this.opts.concurrency * 2));
    this.objects = UntypedObjectApi.forKubeConfig(kc);
    this.status = new StatusWriter(kc, application);
    this.lastGood = new LastGoodStore(kc, application);
    this.health = new HealthWaiter(() => this.objects, this.opts);
  }

  private progress(event: string, fields?: Record<string, unknown>): void {
    this.opts.onProgress?.(event, fields);
  }

  async apply(input: ApplyInput): Promise<ApplyReport> {
    if (input.application !== this.application) throw new RelayError('USAGE', `bundle is for application ${input.application}, the applier for ${this.application}`);
    const durations: Record<string, number> = { ...this.opts.priorPhaseDurations };
    const timed = <T>(phase: string, fn: () => Promise<T>): Promise<T> => timePhase(durations, phase, fn);
    const digest = formatDigest(input.digest);
    const keptChunks = input.bytes ? compressBundle(input.bytes) : undefined; // TOO_LARGE before any write
    const plan = planApply(input.objects);
    const stored = await this.status.read();
    const current = stored?.record;
    if (current && current.sequence > input.sequence) {
      throw new RelayError('STATUS_CONFLICT', `the target already records sequence ${current.sequence} for ${this.application}, newer than this bundle's ${input.sequence}; nothing was written`);
    }
    const previousInventory = current?.inventory ?? [];
    const reapply = current?.state === 'completed' && current.bundleDigest === digest;
    if (this.opts.prune) await this.refusePruneOutsideScope(computePrune(previousInventory, plan.inventory));

    const ignoreFields = input.differences?.ignoreFields ?? [];
    const items = await timed('preflight', async () => {
      this.hpaTargets = await this.readHpaTargets(input.objects);
      this.rolloutServices = rolloutServices(input.objects);
      this.leftOut = [];
      return this.preflight(plan, previousInventory, reapply && current ? new Date(current.startedAt) : undefined, ignoreFields);
    });
    const overridesRecord: OverridesRecord | undefined = input.differences || this.leftOut.length
      ? { digest: input.differences?.digest ?? '', applied: input.differences?.applied ?? [], leftOut: this.leftOut }
      : undefined;
    if (this.leftOut.length) this.progress('fields left out', { fields: this.leftOut.map((f) => `${f.object} ${f.pointer} (${f.reason})`) });
    const deferred = items.filter((i) => i.deferred).map((i) => describeObject(i.obj));
    if (this.opts.dryRun) {
      return {
        result: 'dry-run', bundleDigest: digest, applied: items.map((i) => ({ object: describeObject(i.obj), action: i.decision.action as ObjectResult['action'] })), pruned: computePrune(previousInventory, plan.inventory).map(describeObject), deferred, phaseDurations: durations,
        ...(this.opts.previews ? { previews: items.map((i) => ({ object: describeObject(i.obj), action: i.decision.action as ObjectPreview['action'], ...(i.live ? { live: i.live } : {}), after: i.dry ?? i.live ?? i.desired, unchanged: i.unchanged === true })) } : {}),
      };
    }

    const itemOf = new Map(items.map((i) => [i.obj, i]));
    // From here on the cluster changes: any failure rolls back.
    const startedAt = new Date().toISOString();
    const deadline = Date.now() + this.opts.timeoutMs;
    const written: { item: PreflightItem; changed: boolean }[] = [];
    const statusPending = { value: !reapply, written: false };
    const writeStatus = async (update: Partial<StatusRecord>): Promise<void> => {
      await this.status.update(input.sequence, update);
    };
    const applyingStatus = {
      state: 'applying' as const, revision: input.revision, bundleDigest: digest, sourceCluster: input.sourceCluster, startedAt, finishedAt: '',
      message: `applying ${plan.inventory.length} objects`, inventory: unionInventory(previousInventory, plan.inventory), phaseDurations: durations,
      overrides: overridesRecord, keyIds: input.keyIds ?? [],
      ...(input.commit !== undefined ? { commit: input.commit } : {}),
      ...(input.podTemplateHash !== undefined ? { podTemplateHash: input.podTemplateHash } : {}),
    };
    // Until this bundle has created the application's namespace, a status write could only fail, and
    // slowly: the API server holds a create in a missing namespace ~50 ms for its namespace cache.
    const appNamespacePending = (): boolean => this.appNamespaceMissing
      && !written.some((w) => w.item.obj.kind === 'Namespace' && groupOf(w.item.obj.apiVersion) === '' && w.item.obj.metadata.name === this.status.namespace);
    const tryStatus = async (): Promise<void> => {
      if (!statusPending.value || appNamespacePending()) return;
      try {
        await writeStatus(applyingStatus);
        statusPending.value = false;
        statusPending.written = true;
      } catch (err) {
        // The application's namespace may be created by this very bundle: write after that step.
        if (apiStatusCode((err as { cause?: unknown }).cause ?? err) !== 404 && apiStatusCode(err) !== 404) throw err;
      }
    };
    let pruned: string[] = [];
    let ranPostChecks = false;
    /** Set when a failed post-check leaves DR as applied (onHookFailure: keep): no rollback. */
    let keptAsApplied = false;
    try {
      await tryStatus();
      await timed('apply', async () => {
        for (const wave of plan.waves) {
          for (const step of plan.steps.filter((s) => s.wave === wave)) {
            const stepItems = step.objects.map((o) => itemOf.get(o)!);
            const results = await mapBounded(stepItems, this.opts.concurrency, (item) => this.applyOne(item));
            const failures: ObjectProblem[] = [];
            results.forEach((r, i) => {
              if (r.status === 'fulfilled') written.push({ item: stepItems[i]!, changed: r.value });
              else failures.push(this.problemOf(stepItems[i]!.obj, r.reason));
            });
            if (failures.length) throw new ApplyError(failures.some((f) => f.kind === 'conflict') ? 'APPLY_CONFLICT' : 'APPLY_FAILED', `${failures.length} object(s) failed to apply:\n${problemLines(failures)}`, failures);
            await tryStatus();
            if (this.opts.afterStepApplied) await this.opts.afterStepApplied(step.objects, deadline);
            const crds = stepItems.filter((i) => i.obj.kind === 'CustomResourceDefinition');
            if (crds.length) {
              await this.waitHealthy(crds.map((i) => i.obj), deadline, 'CRDs Established', latestOf(crds));
              this.objects = UntypedObjectApi.forKubeConfig(this.kc); // fresh discovery for the new kinds
            }
          }
          // Timed apart as well (inside `apply`): DR's own readiness, which rollout-relay only waits for.
          const h = performance.now();
          const waveObjects = plan.steps.filter((s) => s.wave === wave).flatMap((s) => s.objects);
          await this.waitHealthy(waveObjects, deadline, `wave ${wave} healthy`, latestOf(waveObjects.map((o) => itemOf.get(o)!)));
          durations.health = (durations.health ?? 0) + Math.round(performance.now() - h);
        }
      });
      if (this.opts.postChecks) {
        ranPostChecks = true;
        const results = await timed('post-checks', async () => {
          await writeStatus({ state: 'post-checks', message: 'running post-checks', postChecks: [], phaseDurations: durations });
          return this.opts.postChecks!();
        });
        await writeStatus({ postChecks: results, phaseDurations: durations });
        const failed = results.filter((r) => !r.passed);
        if (failed.length) {
          const message = `post-check${failed.length > 1 ? 's' : ''} failed: ${failed.map((f) => `${f.name} (${f.type}): ${f.message}`).join('; ')}`.slice(0, 4000);
          if (this.opts.onHookFailure === 'keep') {
            keptAsApplied = true;
            await writeStatus({
              state: 'failed', finishedAt: new Date().toISOString(), message: `${message}; DR left as applied (onHookFailure: keep)`,
              inventory: unionInventory(previousInventory, plan.inventory), phaseDurations: durations,
            });
          }
          throw new ApplyError('HOOK_FAILED', message);
        }
      }
      if (this.opts.prune) pruned = await timed('prune', () => this.prune(computePrune(previousInventory, plan.inventory)));
      const changed = written.some((w) => w.changed) || pruned.length > 0;
      if (reapply && !changed && !ranPostChecks) {
        // Nothing else is written; a record from before key ids were kept (or verified by other keys) learns them.
        if (input.keyIds?.length && current && JSON.stringify(current.keyIds) !== JSON.stringify(input.keyIds)) {
          const lc = current.lastCompleted;
          await writeStatus({ keyIds: input.keyIds, ...(lc?.bundleDigest === digest ? { lastCompleted: { ...lc, keyIds: input.keyIds } } : {}) });
        }
        return { result: 'unchanged', bundleDigest: digest, applied: written.map((w) => ({ object: describeObject(w.item.obj), action: 'unchanged' })), pruned, deferred, phaseDurations: durations };
      }
      if (input.bytes) await timed('keep', () => this.lastGood.save(input.digest, input.bytes!, keptChunks));
      await writeStatus({
        state: 'completed', revision: input.revision, bundleDigest: digest, sourceCluster: input.sourceCluster, startedAt, finishedAt: new Date().toISOString(),
        message: `applied ${plan.inventory.length} objects, pruned ${pruned.length}`, inventory: plan.inventory, phaseDurations: durations, overrides: overridesRecord,
        keyIds: input.keyIds ?? [],
        ...(input.bytes ? {
          lastCompleted: {
            bundleDigest: digest, sequence: input.sequence, revision: input.revision, finishedAt: new Date().toISOString(), inventory: plan.inventory,
            // What a DR Application may stay pinned to while a later promotion fails (the plugin generator).
            ...(input.commit ? { commit: input.commit } : {}),
            ...(input.podTemplateHash ? { podTemplateHash: input.podTemplateHash } : {}),
            // What a rollback to this bundle records as the keys that verified what DR serves.
            ...(input.keyIds?.length ? { keyIds: input.keyIds } : {}),
          },
        } : {}),
      });
      return {
        result: 'completed', bundleDigest: digest,
        applied: written.map((w) => ({ object: describeObject(w.item.obj), action: w.changed ? (w.item.decision.action as ObjectResult['action']) : 'unchanged' })),
        pruned, deferred, phaseDurations: durations,
      };
    } catch (err) {
      if (keptAsApplied) throw err;
      if (written.length === 0) {
        // No object reached the cluster: nothing to roll back.
        if (statusPending.written) {
          await writeStatus({ state: 'failed', finishedAt: new Date().toISOString(), message: `nothing applied: ${err instanceof Error ? err.message : String(err)}`.slice(0, 4000), inventory: previousInventory }).catch(() => undefined);
        }
        throw err;
      }
      await this.rollback(input, current, plan, written.map((w) => w.item), err, startedAt, durations);
      throw err; // unreachable: rollback always throws
    }
  }

  /** Reads every object, decides ownership and server-dry-runs it; throws with every problem at once. */
  /**
   * `unchangedSince`: set when this exact bundle digest already completed on the target (the start
   * of that apply); objects nobody else has written since then skip their dry run and write.
   */
  private async preflight(plan: ApplyPlan, previousInventory: InventoryEntry[], unchangedSince: Date | undefined, ignoreFields: readonly IgnoreField[]): Promise<PreflightItem[]> {
    const objs = plan.steps.flatMap((s) => s.objects);
    const prev = new Set(previousInventory.map(inventoryKey));
    const bundledNamespaces = new Set(objs.filter((o) => o.kind === 'Namespace' && groupOf(o.apiVersion) === '').map((o) => o.metadata.name));
    const bundledKinds = new Set(objs.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => {
      const spec = (o as { spec?: { group?: string; names?: { kind?: string } } }).spec;
      return `${spec?.group ?? ''}/${spec?.names?.kind ?? ''}`;
    }));
    // Which namespaces exist now.
    // The status ConfigMap and the last-good copy live in the application's namespace.
    const appNamespace = this.status.namespace;
    const namespaces = [...new Set([appNamespace, ...objs.map((o) => o.metadata.namespace).filter((n): n is string => !!n)])];
    const existing = new Set<string>();
    const nsProblems: ObjectProblem[] = [];
    await mapBounded(namespaces, this.opts.concurrency, async (ns) => {
      try {
        await this.objects.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
        existing.add(ns);
      } catch (err) {
        if (apiStatusCode(err) === 404) return;
        nsProblems.push(this.problemOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, err));
      }
    });
    if (nsProblems.some((p) => p.kind === 'unreachable')) throw wrapTransport(new Error(nsProblems[0]!.message), 'preflight');
    this.appNamespaceMissing = !existing.has(appNamespace);
    if (!existing.has(appNamespace) && !bundledNamespaces.has(appNamespace)) {
      throw new ApplyError('PREFLIGHT_FAILED', `the application's namespace ${appNamespace} (where its status ConfigMap and rollback copy live) does not exist in the target and is not in the bundle; create it or bundle the Namespace. Nothing was written`, [
        { object: `Namespace ${appNamespace}`, kind: 'invalid', message: 'not found and not in the bundle' },
      ]);
    }

    const liveObjects = new LiveObjectReader(this.objects, objs.filter((o) => !o.metadata.namespace || existing.has(o.metadata.namespace)));
    const results = await mapBounded(objs, this.opts.concurrency, async (obj): Promise<PreflightItem> => {
      const entry = entryOf(obj);
      const ns = obj.metadata.namespace;
      const crdDeferred = bundledKinds.has(`${groupOf(obj.apiVersion)}/${obj.kind}`);
      if (ns && !existing.has(ns)) {
        if (!bundledNamespaces.has(ns)) throw new PreflightProblem({ object: describeObject(obj), kind: 'invalid', message: `namespace ${ns} does not exist and is not in the bundle` });
        const desired = this.sendable(obj, ignoreFields, this.leftOut, undefined);
        if (crdDeferred) return { obj, desired, entry, decision: { action: 'create' }, deferred: 'crd' };
        await this.standInDryRun(desired);
        return { obj, desired, entry, decision: { action: 'create' }, deferred: 'namespace' };
      }
      let live: KubernetesObject | undefined;
      try {
        live = await liveObjects.get(obj);
      } catch (err) {
        if (isUnknownKind(err)) {
          if (crdDeferred) return { obj, desired: this.sendable(obj, ignoreFields, this.leftOut, undefined), entry, decision: { action: 'create' }, deferred: 'crd' };
          throw new PreflightProblem({ object: describeObject(obj), kind: 'invalid', message: `the cluster does not serve ${obj.apiVersion} ${obj.kind} and the bundle has no CRD for it` });
        }
        if (apiStatusCode(err) !== 404) throw err;
      }
      // Sent as the target needs it, knowing whether (and by whom) the object exists there.
      const desired = this.sendable(obj, ignoreFields, this.leftOut, live);
      const info: LiveObjectInfo | undefined = live ? {
        annotations: live.metadata?.annotations ?? {},
        managers: [...new Set((live.metadata?.managedFields ?? []).map((m) => m.manager ?? '?'))],
      } : undefined;
      const decision = decideOwnership(info, entry, this.application, prev, this.opts.adopt);
      if (decision.action === 'refuse' && this.opts.keepExistingNamespaces && obj.kind === 'Namespace' && groupOf(obj.apiVersion) === '') {
        return { obj, desired, entry, decision: { action: 'update' }, unchanged: true, ...(live?.metadata?.resourceVersion ? { liveResourceVersion: live.metadata.resourceVersion } : {}) };
      }
      if (decision.action === 'refuse') throw new PreflightProblem({ object: describeObject(obj), kind: 'not-owned', message: decision.reason });
      if (unchangedSince && live && decision.action !== 'adopt' && untouchedSince(live.metadata?.managedFields, unchangedSince, this.opts.fieldManager)) {
        return { obj, desired, entry, decision, unchanged: true, latest: live, live, ...(live.metadata?.resourceVersion ? { liveResourceVersion: live.metadata.resourceVersion } : {}) };
      }
      const dry = await this.objects.patch(desired, undefined, 'All', this.opts.fieldManager, this.opts.force, PatchStrategy.ServerSideApply);
      return {
        obj, desired, entry, decision, dry,
        ...(live?.metadata?.resourceVersion ? { liveResourceVersion: live.metadata.resourceVersion } : {}),
        ...(live ? { latest: live, live } : {}),
        ...(live && sameStoredObject(live, dry) ? { unchanged: true } : {}),
      };
    });
    const problems: ObjectProblem[] = [];
    const items: PreflightItem[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') items.push(r.value);
      else problems.push(r.reason instanceof PreflightProblem ? r.reason.problem : this.problemOf(objs[i]!, r.reason));
    });
    if (problems.length) {
      const unreachable = problems.find((p) => p.kind === 'unreachable');
      if (unreachable) throw new ApplyError('CLUSTER_UNREACHABLE', `preflight could not reach the cluster: ${unreachable.message}; nothing was written`, problems);
      const code: RelayErrorCode = problems.some((p) => p.kind === 'invalid') ? 'PREFLIGHT_FAILED' : problems.some((p) => p.kind === 'not-owned') ? 'NOT_OWNED' : 'APPLY_CONFLICT';
      const hint = code === 'APPLY_CONFLICT' ? 'resolve the conflicting fields or pass --force-conflicts to take them over' : code === 'NOT_OWNED' ? 'delete those objects or pass --adopt to take them over' : 'fix the bundle and promote again';
      throw new ApplyError(code, `preflight refused ${problems.length} of ${objs.length} objects; nothing was written (${hint}):\n${problemLines(problems)}`, problems);
    }
    return items;
  }

  /**
   * The object as sent to this target: rollout-relay's annotations added, in the target's form
   * (`targetForm`), `ignoreFields`, HPA-owned `spec.replicas` and the `spec.selector` Argo Rollouts
   * owns on an existing Service (`live`: the object in the target, undefined when it is created) left
   * out (recorded in `leftOut`), so DR-side owners keep those fields.
   */
  private sendable(obj: KubeObject, ignoreFields: readonly IgnoreField[], leftOut: LeftOutField[], live: KubernetesObject | undefined, named = this.rolloutServices): KubeObject {
    const desired = desiredObject(obj, this.application);
    const selectorOwners = live ? selectorManagers(live.metadata?.managedFields) : undefined;
    const rolloutSelector = selectorLeftToRollouts(obj, named, selectorOwners, this.opts.fieldManager);
    const rolloutHash = rolloutHashLeftToRollouts(obj, named, live === undefined);
    const r = leaveOutFields(this.opts.targetForm ? this.opts.targetForm(desired) : desired, ignoreFields, this.hpaTargets, rolloutSelector, rolloutHash);
    leftOut.push(...r.leftOut);
    return r.object;
  }

  /**
   * Which workloads an HPA scales: autoscaling/v2 HPAs in the target's namespaces of the bundle, and
   * the bundle's own HPAs (they will be there once applied). Read before any write.
   */
  private async readHpaTargets(objects: readonly KubeObject[]): Promise<ReadonlyMap<string, string>> {
    if (!this.opts.hpaOwnsReplicas) return new Map();
    const bundled = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler' && groupOf(o.apiVersion) === 'autoscaling');
    const namespaces = [...new Set(objects.filter((o) => ['Deployment', 'StatefulSet', 'ReplicaSet', 'Rollout'].includes(o.kind)).map((o) => o.metadata.namespace).filter((n): n is string => !!n))];
    const live: unknown[] = [];
    await Promise.all(namespaces.map(async (ns) => {
      try {
        live.push(...(await this.objects.listRaw('autoscaling/v2', 'HorizontalPodAutoscaler', ns)).items.map((i) => ({ ...i, metadata: { ...i.metadata, namespace: i.metadata?.namespace ?? ns } })));
      } catch (err) {
        const code = apiStatusCode(err);
        if (code === 404) return; // no such namespace yet, or no autoscaling/v2: no HPA scales anything there
        if (code === 403) {
          throw new ApplyError('PREFLIGHT_FAILED', `cannot list HorizontalPodAutoscalers in ${ns} (403): rollout-relay leaves out spec.replicas of workloads an HPA scales, so it must read them; grant list on autoscaling/horizontalpodautoscalers. Nothing was written`, [
            { object: `HorizontalPodAutoscalers in ${ns}`, kind: 'invalid', message: 'forbidden' },
          ]);
        }
        throw wrapTransport(err, `listing HorizontalPodAutoscalers in ${ns}`);
      }
    }));
    return hpaScaleTargets([...live, ...bundled]);
  }

  /** The object as it is in the target, or undefined when it does not exist. */
  private async readIfExists(o: KubeObject): Promise<KubernetesObject | undefined> {
    try {
      return await this.objects.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) } });
    } catch (err) {
      if (apiStatusCode(err) === 404) return undefined;
      throw err;
    }
  }

  /** Dry-run create in a namespace that exists, for an object whose namespace the bundle creates. */
  private async standInDryRun(desired: KubeObject): Promise<void> {
    const stand = { ...desired, metadata: { ...desired.metadata, namespace: STAND_IN_NAMESPACE } };
    try {
      await this.objects.create(stand, undefined, 'All', this.opts.fieldManager);
    } catch (err) {
      if (apiStatusCode(err) === 409) return; // AlreadyExists comes after validation: the object is valid
      throw err;
    }
  }

  private problemOf(obj: KubeObject, err: unknown): ObjectProblem {
    const object = describeObject(obj);
    if (err instanceof PreflightProblem) return err.problem;
    const code = apiStatusCode(err);
    // Transport errors, raw or already coded by the transport (a timed-out request, a dead connection).
    if (code === undefined && (!(err instanceof RelayError) || err.code === 'CLUSTER_UNREACHABLE')) return { object, kind: 'unreachable', message: apiMessage(err) };
    if (code === 409) {
      const fields = apiCauses(err).filter((c) => c.field).map((c) => ({ field: c.field!, manager: /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1] ?? '?' }));
      if (fields.length) return { object, kind: 'conflict', message: `fields owned by another manager: ${fields.map((f) => `${f.field} (${f.manager})`).join(', ')}`, fields };
    }
    return { object, kind: 'invalid', message: err instanceof RelayError ? err.message : apiMessage(err) };
  }

  /** Server-side applies one object; returns whether the stored object changed. */
  private async applyOne(item: PreflightItem): Promise<boolean> {
    if (item.unchanged) return false;
    const res = await this.objects.patch(item.desired, undefined, undefined, this.opts.fieldManager, this.opts.force, PatchStrategy.ServerSideApply);
    item.latest = res;
    return res.metadata?.resourceVersion !== item.liveResourceVersion;
  }

  /** Until every object with a health rule is Healthy (see HealthWaiter); Degraded or the deadline fails. */
  private async waitHealthy(objs: KubeObject[], deadline: number, what: string, known?: ReadonlyMap<KubeObject, KubernetesObject>): Promise<void> {
    try {
      await this.health.wait(objs, deadline, what, known);
    } catch (err) {
      if (err instanceof HealthVerdict) throw new ApplyError(err.code, err.message, err.problems);
      throw err;
    }
  }

  /** A prune that would delete outside the scope refuses the whole apply before anything is written. */
  private async refusePruneOutsideScope(entries: InventoryEntry[]): Promise<void> {
    const outside = this.opts.scope ? await this.opts.scope.outside(entries) : [];
    if (!outside.length) return;
    throw new OutOfScopeError(
      `pruning what the previous bundle had would delete ${outside.length} object(s) outside the trust policy's scope; nothing was written (widen the scope, or apply with --no-prune and remove them by hand):\n${outside.map((v) => `  ${v.object}: ${v.reason}`).join('\n')}`,
      outside, outside.length,
    );
  }

  /** The entries the scope allows deleting; a rollback leaves the others alone. */
  private async deletableInScope(entries: InventoryEntry[]): Promise<InventoryEntry[]> {
    if (!this.opts.scope) return entries;
    const outside = new Set((await this.opts.scope.outside(entries)).map((v) => v.object));
    return entries.filter((e) => !outside.has(describeObject(e)));
  }

  /** Deletes inventory entries (foreground propagation), only when they still carry our ownership. */
  private async prune(entries: InventoryEntry[]): Promise<string[]> {
    const done: string[] = [];
    for (const e of entries) {
      const header = inventoryHeader(e);
      let live: KubernetesObject;
      try {
        live = await this.objects.read(header);
      } catch (err) {
        if (apiStatusCode(err) === 404 || isUnknownKind(err)) continue;
        throw wrapTransport(err, `reading ${describeObject(e)} to prune it`);
      }
      if (live.metadata?.annotations?.[APPLICATION_ANNOTATION] !== this.application) continue; // not ours (any more): never delete
      try {
        await this.objects.delete(header, undefined, undefined, undefined, undefined, 'Foreground');
        done.push(describeObject(e));
      } catch (err) {
        if (apiStatusCode(err) !== 404) throw wrapTransport(err, `pruning ${describeObject(e)}`);
      }
    }
    return done;
  }

  /**
   * Waits until deleted entries are really gone: foreground deletion keeps an object (with a
   * deletionTimestamp) until its dependents are collected, and a rollback must not report what the
   * failed bundle added as removed while it still exists. Returns what is still terminating at the deadline.
   */
  private async waitGone(entries: InventoryEntry[], deadline: number): Promise<string[]> {
    let pending = entries;
    for (;;) {
      const still: InventoryEntry[] = [];
      for (const e of pending) {
        try {
          await this.objects.read(inventoryHeader(e));
          still.push(e);
        } catch (err) {
          if (apiStatusCode(err) === 404 || isUnknownKind(err)) continue;
          throw wrapTransport(err, `reading ${describeObject(e)} to see it deleted`);
        }
      }
      pending = still;
      if (!pending.length || Date.now() >= deadline) return pending.map(describeObject);
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
    }
  }

  /**
   * Re-applies the last bundle that completed on this target and deletes what the failed bundle
   * added; with no completed bundle, deletes what this run created. Always throws: ROLLED_BACK when
   * the rollback succeeded, APPLY_FAILED when it did not.
   */
  private async rollback(input: ApplyInput, before: StatusRecord | undefined, plan: ApplyPlan, written: PreflightItem[], cause: unknown, startedAt: string, durations: Record<string, number>): Promise<never> {
    const t = performance.now();
    const why = cause instanceof Error ? cause.message : String(cause);
    const code = cause instanceof RelayError ? cause.code : 'APPLY_FAILED';
    this.progress('rolling back', { cause: code });
    const lastCompleted = before?.lastCompleted;
    try {
      let keep: InventoryEntry[] = [];
      let terminating: string[] = [];
      if (lastCompleted) {
        const bytes = await this.lastGood.load(lastCompleted.bundleDigest.replace(/^sha256:/, ''));
        if (!bytes) throw new RelayError('APPLY_FAILED', `the last completed bundle ${lastCompleted.bundleDigest} is not kept in the cluster`);
        const previous = await readBundleBytes(bytes);
        // Restore only within the scope, namespaces defaulted as on the first apply. Objects now outside it are
        // left as they are: the failed bundle was admitted under this scope, so it cannot have changed them.
        // That bundle's own signed overrides for this target, as when it completed.
        const prevDiffs = this.opts.targetName !== undefined ? previous.differences.get(this.opts.targetName)?.differences : undefined;
        const prevObjects = prevDiffs?.overrides.length ? applyOverrides(previous.objects, prevDiffs, { code: 'PREFLIGHT_FAILED', applicationNamespace: this.status.namespace }).objects : previous.objects;
        const admitted = this.opts.scope ? await this.opts.scope.partition(prevObjects) : { inside: prevObjects, outside: [] };
        if (admitted.outside.length) this.progress('rollback leaves objects outside the scope alone', { objects: admitted.outside.map((v) => v.object) });
        const prevPlan = planApply(admitted.inside);
        const named = rolloutServices(admitted.inside);
        for (const step of prevPlan.steps) {
          // Forced, but never over what DR-side owners hold (ignoreFields, HPA-owned replicas, Argo Rollouts' selectors).
          const results = await mapBounded(step.objects, this.opts.concurrency, async (o) => {
            const live = named.has(`${o.metadata.namespace ?? ''}/${o.metadata.name}`) && o.kind === 'Service' ? await this.readIfExists(o) : undefined;
            return this.objects.patch(this.sendable(o, prevDiffs?.ignoreFields ?? [], [], live, named), undefined, undefined, this.opts.fieldManager, true, PatchStrategy.ServerSideApply);
          });
          const failed = results.map((r, i) => ({ r, o: step.objects[i]! })).filter((x) => x.r.status === 'rejected');
          if (failed.length) throw new RelayError('APPLY_FAILED', `re-applying ${failed.map((f) => describeObject(f.o)).join(', ')} failed: ${apiMessage((failed[0]!.r as PromiseRejectedResult).reason)}`);
          if (step.objects.some((o) => o.kind === 'CustomResourceDefinition')) {
            await this.waitHealthy(step.objects, Date.now() + this.opts.timeoutMs, 'rollback CRDs');
            this.objects = UntypedObjectApi.forKubeConfig(this.kc);
          }
        }
        keep = prevPlan.inventory;
        const added = await this.deletableInScope(computePrune(unionInventory(before?.inventory ?? [], plan.inventory), keep));
        const deleted = await this.prune(added);
        const rollbackDeadline = Date.now() + this.opts.timeoutMs;
        await this.waitHealthy(prevPlan.steps.flatMap((s) => s.objects), rollbackDeadline, 'rollback healthy');
        terminating = await this.waitGone(added.filter((e) => deleted.includes(describeObject(e))), rollbackDeadline);
      } else {
        // First bundle on this target: remove what this run created, keep what existed before.
        const created = written.filter((i) => i.decision.action === 'create').map((i) => i.entry);
        const toDelete = computePrune(created, []);
        const deleted = await this.prune(toDelete);
        terminating = await this.waitGone(toDelete.filter((e) => deleted.includes(describeObject(e))), Date.now() + this.opts.timeoutMs);
        keep = (before?.inventory ?? []).filter((e) => !created.some((c) => inventoryKey(c) === inventoryKey(e)));
      }
      durations.rollback = Math.round(performance.now() - t);
      const message = `rolled back to ${lastCompleted ? `${lastCompleted.bundleDigest} (sequence ${lastCompleted.sequence})` : 'the state before the first bundle'} after ${code}: ${why}${terminating.length ? `; still being deleted: ${terminating.join(', ')}` : ''}`.slice(0, 4000);
      await this.status.update(input.sequence, {
        state: 'rolled-back', revision: input.revision, bundleDigest: formatDigest(input.digest), sourceCluster: input.sourceCluster,
        startedAt, finishedAt: new Date().toISOString(), message, inventory: keep, phaseDurations: durations,
        keyIds: rolledBackKeyIds(before, lastCompleted),
      }).catch(() => undefined);
      throw new ApplyError('ROLLED_BACK', message, cause instanceof ApplyError ? cause.problems : [], { cause, phaseDurations: { ...durations } });
    } catch (err) {
      if (err instanceof ApplyError && err.code === 'ROLLED_BACK') throw err;
      durations.rollback = Math.round(performance.now() - t);
      const message = `apply failed (${code}: ${why}) and the rollback failed too: ${err instanceof Error ? err.message : String(err)}; the target needs attention`.slice(0, 4000);
      await this.status.update(input.sequence, { state: 'failed', finishedAt: new Date().toISOString(), message, inventory: unionInventory(before?.inventory ?? [], plan.inventory) }).catch(() => undefined);
      throw new ApplyError('APPLY_FAILED', message, [], { cause, phaseDurations: { ...durations } });
    }
  }
}

/**
 * Key ids for a rolled-back record: those of the bundle DR went back to (what it serves now), from
 * its last-completed entry or, for a record written before that entry carried them, from the record
 * that completed it; [] when unknown or when nothing had completed (DR serves no bundle).
 */
function rolledBackKeyIds(before: StatusRecord | undefined, lastCompleted: CompletedBundle | undefined): string[] {
  if (!lastCompleted) return [];
  if (lastCompleted.keyIds) return lastCompleted.keyIds;
  return before?.state === 'completed' && before.bundleDigest === lastCompleted.bundleDigest ? before.keyIds : [];
}

/** The object an inventory entry names, as a request header. */
function inventoryHeader(e: InventoryEntry): { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } {
  return { apiVersion: e.apiVersion, kind: e.kind, metadata: { name: e.name, ...(e.namespace ? { namespace: e.namespace } : {}) } };
}

/** What the health wait may start from: each object's latest known state. */
function latestOf(items: PreflightItem[]): Map<KubeObject, KubernetesObject> {
  return new Map(items.filter((i) => i.latest).map((i) => [i.obj, i.latest!]));
}

/** The object as stored, minus what every write (or none) may move: resourceVersion and field-manager times. */
function storedForm(obj: KubernetesObject): string {
  const copy = structuredClone(obj) as KubernetesObject;
  if (copy.metadata) {
    delete copy.metadata.resourceVersion;
    copy.metadata.managedFields = copy.metadata.managedFields?.map((m) => ({ ...m, time: undefined }));
  }
  return JSON.stringify(copy);
}

/** True when a server dry run of our apply returns the live object unchanged (content and field ownership). */
export function sameStoredObject(live: KubernetesObject, dryRun: KubernetesObject): boolean {
  return storedForm(live) === storedForm(dryRun);
}

/**
 * Reads the live counterparts of bundle objects for preflight: one LIST per kind and namespace
 * when several objects share them (a bundle of 300 objects costs tens of requests, not 300),
 * a GET otherwise. Errors (unknown kind, unreachable) surface per object, as a GET would.
 */
class LiveObjectReader {
  private static readonly LIST_FROM = 3;
  private readonly lists = new Map<string, Promise<Map<string, KubernetesObject>>>();
  private readonly groupSizes = new Map<string, number>();

  constructor(private readonly api: UntypedObjectApi, objects: KubeObject[]) {
    for (const o of objects) {
      const key = LiveObjectReader.group(o);
      this.groupSizes.set(key, (this.groupSizes.get(key) ?? 0) + 1);
    }
  }

  private static group(o: KubeObject): string {
    return `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}`;
  }

  /** The live object, or undefined when it does not exist. */
  async get(o: KubeObject): Promise<KubernetesObject | undefined> {
    const key = LiveObjectReader.group(o);
    const ns = o.metadata.namespace;
    if ((this.groupSizes.get(key) ?? 0) < LiveObjectReader.LIST_FROM) {
      try {
        return await this.api.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(ns ? { namespace: ns } : {}) } });
      } catch (err) {
        if (apiStatusCode(err) === 404 && !isUnknownKind(err)) return undefined;
        throw err;
      }
    }
    let list = this.lists.get(key);
    if (!list) {
      list = this.api.listRaw(o.apiVersion, o.kind, ns).then((l) => new Map(l.items.map((i) => [i.metadata?.name ?? '', { ...i, apiVersion: o.apiVersion, kind: o.kind }])));
      this.lists.set(key, list);
    }
    return (await list).get(o.metadata.name);
  }
}

class PreflightProblem extends Error {
  constructor(readonly problem: ObjectProblem) {
    super(problem.message);
  }
}
