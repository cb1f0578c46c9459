import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { KubeConfig } from '@kubernetes/client-node';
import { Controller, type PromotionRunner } from '../../../src/controller/controller.js';
import type { CollectionSpec } from '../../../src/controller/kube-source.js';
import type { ListerWatcher, WatchEventType } from '../../../src/controller/reflector.js';
import type { CompletedRevision, PromotionResult, TargetOutcome } from '../../../src/promote/types.js';
import { emptyStatus, type StatusRecord } from '../../../src/status/model.js';
import { silentLogger } from '../../../src/log.js';

type Obj = { apiVersion?: string; kind?: string; metadata?: Record<string, unknown> & { name?: string; namespace?: string; resourceVersion?: string }; [k: string]: unknown };

/** In-memory collections keyed by resource (and cluster), with list+watch like an API server's. */
class FakeApi {
  private rv = 1;
  private readonly items = new Map<string, Map<string, Obj>>();
  private readonly bus = new EventEmitter();

  put(resource: string, obj: Obj): void {
    const m = this.items.get(resource) ?? new Map<string, Obj>();
    this.items.set(resource, m);
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    const type = m.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    m.set(key, stored);
    this.bus.emit(resource, type, structuredClone(stored));
  }

  listerWatcher = <T>(_kc: KubeConfig, spec: CollectionSpec, description: string): ListerWatcher<T> => {
    const resource = spec.resource;
    return {
      description,
      list: async () => ({ items: [...(this.items.get(resource)?.values() ?? [])].map((o) => structuredClone(o) as T), resourceVersion: String(this.rv) }),
      watch: (_rv, onEvent: (t: WatchEventType, o: T) => void, signal) => new Promise<void>((resolve) => {
        const h = (t: WatchEventType, o: T) => onEvent(t, o);
        this.bus.on(resource, h);
        signal.addEventListener('abort', () => { this.bus.off(resource, h); resolve(); });
      }),
    };
  };
}

function rollout(name: string, revision: number, extra: { paused?: boolean } = {}): Obj {
  const hash = `h${revision}`;
  return {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout',
    metadata: { name, namespace: 'shop', generation: revision, annotations: { 'rollout.argoproj.io/revision': String(revision) }, labels: { 'rollout-relay.io/promote': 'true' } },
    spec: { replicas: 1, ...(extra.paused ? { paused: true } : {}) },
    status: { observedGeneration: revision, stableRS: hash, currentPodHash: hash, replicas: 1, updatedReplicas: 1, availableReplicas: 1, phase: 'Healthy' },
  };
}

interface Call {
  req: CompletedRevision;
  targets: string[] | undefined;
}

/** A pipeline double: records calls, answers with scripted outcomes, and writes DR "status" into `dr`. */
class FakePromoter implements PromotionRunner {
  calls: Call[] = [];
  gate: Promise<void> = Promise.resolve();
  outcome: (target: string, call: number) => Pick<TargetOutcome, 'state' | 'code'> = () => ({ state: 'completed' });
  constructor(private readonly dr: Map<string, StatusRecord>, private readonly allTargets: string[]) {}
  async promote(req: CompletedRevision, opts: { targets?: string[] }): Promise<PromotionResult> {
    this.calls.push({ req, targets: opts.targets });
    const n = this.calls.length;
    await this.gate;
    const targets = (opts.targets ?? this.allTargets).map((target) => {
      const o = this.outcome(target, n);
      // Unreachable: nothing written. Out of time: the pipeline stopped waiting while DR still says applying.
      const drState = o.code === 'DEADLINE_EXCEEDED' ? 'applying' : o.state;
      if (o.code !== 'CLUSTER_UNREACHABLE') this.dr.set(`${target}:${req.application}`, { ...emptyStatus(), state: drState, revision: req.revision, podTemplateHash: req.podTemplateHash, sequence: n });
      return { target, ...o, message: '', seconds: 0 };
    });
    return { application: req.application, revision: req.revision, podTemplateHash: req.podTemplateHash, sequence: n, bundleDigest: 'sha256:x', phaseDurations: {}, targets };
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}
const settle = () => new Promise((r) => setTimeout(r, 100));

describe('controller/controller (in-memory API and pipeline double)', () => {
  let api: FakeApi;
  let dr: Map<string, StatusRecord>;
  let promoter: FakePromoter;
  let controller: Controller;
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });

  let primaryStable: (namespace: string, app: string) => Promise<{ revision: string; podTemplateHash: string } | undefined>;

  function start(targets = ['shenzhen']): Controller {
    promoter = new FakePromoter(dr, targets);
    controller = new Controller({
      config: { watch: { namespaces: ['shop'], selector: 'rollout-relay.io/promote=true', eventReasons: ['RolloutCompleted'] }, timeouts: { promotionMs: 100_000 } },
      primary: kc, targets: targets.map((name) => ({ name, kubeConfig: kc })), promoter, log: silentLogger(),
      listerWatcher: api.listerWatcher,
      readStatus: async (t, application) => dr.get(`${t.name}:${application}`),
      retryInitialMs: 20, retryMaxMs: 40,
      readPrimaryStable: (ns, app) => primaryStable(ns, app),
    });
    return controller;
  }

  beforeEach(() => {
    api = new FakeApi();
    dr = new Map();
    primaryStable = async () => undefined;
  });
  afterEach(async () => controller?.stop());

  it('promotes a complete Rollout once; later updates of the same revision do nothing', async () => {
    api.put('rollouts', rollout('web', 1));
    await start().start();
    await until(() => promoter.calls.length === 1, 'promoted on start');
    assert.deepEqual(promoter.calls[0]!.req, { workload: { kind: 'Rollout', namespace: 'shop', name: 'web' }, application: 'shop/web', revision: '1', podTemplateHash: 'h1' });
    assert.equal(promoter.calls[0]!.targets, undefined, 'every target');
    for (let i = 0; i < 3; i++) api.put('rollouts', rollout('web', 1));
    controller.resync('test');
    await settle();
    assert.equal(promoter.calls.length, 1);
  });

  it('a newer revision supersedes a waiting one; never an older after a newer', async () => {
    let release!: () => void;
    dr.set('shenzhen:shop/web', { ...emptyStatus(), state: 'completed', revision: '1', podTemplateHash: 'h1' });
    api.put('rollouts', rollout('web', 1));
    await start().start();
    await settle();
    assert.equal(promoter.calls.length, 0, 'DR already runs revision 1');
    promoter.gate = new Promise((r) => (release = r));
    api.put('rollouts', rollout('web', 2));
    await until(() => promoter.calls.length === 1, 'revision 2 running');
    api.put('rollouts', rollout('web', 3));
    api.put('rollouts', rollout('web', 4));
    api.put('rollouts', rollout('web', 3));
    await settle();
    release();
    await until(() => promoter.calls.length === 2, 'the newest next');
    await settle();
    assert.deepEqual(promoter.calls.map((c) => c.req.revision), ['2', '4']);
  });

  it('a paused or aborted Rollout is never promoted', async () => {
    api.put('rollouts', rollout('web', 1, { paused: true }));
    api.put('rollouts', { ...rollout('api', 1), status: { ...(rollout('api', 1).status as object), abort: true } });
    await start().start();
    await settle();
    assert.equal(promoter.calls.length, 0);
  });

  it('promotes only the targets that are behind; a paused target waits for resume (pending in DR status)', async () => {
    dr.set('beijing:shop/web', { ...emptyStatus(), state: 'paused', revision: '1' });
    api.put('rollouts', rollout('web', 2));
    await start(['shenzhen', 'beijing']).start();
    await until(() => promoter.calls.length === 1, 'promoted');
    assert.deepEqual(promoter.calls[0]!.targets, ['shenzhen']);
    // `resume` writes pending into beijing's status ConfigMap; the status watch picks it up.
    dr.set('beijing:shop/web', { ...emptyStatus(), state: 'pending', revision: '1' });
    api.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rollout-relay-status-web', namespace: 'shop', annotations: { 'rollout-relay.io/application': 'shop/web' }, labels: {} }, data: { hot_update_status: 'pending' } });
    await until(() => promoter.calls.length === 2, 'resumed');
    assert.deepEqual(promoter.calls[1]!.targets, ['beijing']);
  });

  it('a promotion cut short (DR status applying) is run again after a restart; a completed one is not', async () => {
    dr.set('shenzhen:shop/web', { ...emptyStatus(), state: 'applying', revision: '5', podTemplateHash: 'h5' });
    dr.set('shenzhen:shop/api', { ...emptyStatus(), state: 'completed', revision: '5', podTemplateHash: 'h5' });
    api.put('rollouts', rollout('web', 5));
    api.put('rollouts', rollout('api', 5));
    await start().start();
    await until(() => promoter.calls.length === 1, 're-run');
    await settle();
    assert.deepEqual(promoter.calls.map((c) => c.req.application), ['shop/web']);
  });

  it('an unreachable or timed-out target is retried with back-off until it completes', async () => {
    api.put('rollouts', rollout('web', 1));
    start(['shenzhen', 'beijing']);
    promoter.outcome = (t, n) => (t === 'beijing' && n < 3 ? { state: 'failed', code: n === 1 ? 'CLUSTER_UNREACHABLE' : 'DEADLINE_EXCEEDED' } : { state: 'completed' });
    await controller.start();
    await until(() => promoter.calls.length === 3, 'retried twice');
    await settle();
    assert.equal(promoter.calls.length, 3);
    assert.deepEqual(promoter.calls.map((c) => c.targets), [undefined, ['beijing'], ['beijing']], 'the reachable target is not repeated');
  });

  it('readiness waits for the watches; lag is 0 once DR runs the revision', async () => {
    api.put('rollouts', rollout('web', 1));
    const c = start();
    assert.equal(c.readiness().ready, false);
    await c.start();
    await until(() => c.readiness().ready, 'ready');
    await until(() => promoter.calls.length === 1, 'promoted');
    api.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rollout-relay-status-web', namespace: 'shop', annotations: { 'rollout-relay.io/application': 'shop/web' } }, data: { hot_update_status: 'completed', revision: '1' } });
    await until(() => c.lagSamples()[0]?.seconds === 0, 'in sync');
    const view = (await c.applicationStatus('shop', 'web')) as { targets: { inSync: boolean; hotUpdateStatus: string }[] };
    assert.deepEqual(view.targets.map((t) => [t.hotUpdateStatus, t.inSync]), [['completed', true]]);
    assert.equal(await c.applicationStatus('shop', 'nope'), undefined);
  });

  it('the read API after a restart mid-rollout (or after an abort): in sync judged on primary\'s stable ReplicaSet, not "never"', async () => {
    // Revision 2 aborted in primary: nothing completes, so this process never sees a completion.
    const aborted = rollout('web', 2);
    (aborted.status as Record<string, unknown>).stableRS = 'h1';
    (aborted.status as Record<string, unknown>).abort = true;
    (aborted.status as Record<string, unknown>).phase = 'Degraded';
    api.put('rollouts', aborted);
    const asked: string[] = [];
    primaryStable = async (ns, app) => {
      asked.push(`${ns}/${app}`);
      return { revision: '1', podTemplateHash: 'h1' };
    };
    const c = start();
    await c.start();
    await until(() => c.readiness().ready, 'ready');
    type View = { primary: { revision: string; completedSeenAt: string | null } | null; targets: { inSync: boolean; lagSeconds: number | null }[] };
    dr.set('shenzhen:shop/web', { ...emptyStatus(), state: 'completed', revision: '1', podTemplateHash: 'h1' });
    const inSync = (await c.applicationStatus('shop', 'web')) as View;
    assert.deepEqual([inSync.primary, inSync.targets.map((t) => [t.inSync, t.lagSeconds])], [{ revision: '1', podTemplateHash: 'h1', completedSeenAt: null }, [[true, 0]]]);
    dr.set('shenzhen:shop/web', { ...emptyStatus(), state: 'failed', revision: '1', podTemplateHash: 'h1' });
    const failed = (await c.applicationStatus('shop', 'web')) as View;
    assert.deepEqual(failed.targets.map((t) => [t.inSync, t.lagSeconds]), [[false, null]], 'DR failed: not in sync, lag unknown');
    assert.deepEqual(asked, ['shop/web', 'shop/web']);
    assert.equal(promoter.calls.length, 0, 'nothing promoted: revision 2 is not complete');
    // Primary unreadable: never in sync (the guard fails closed).
    primaryStable = async () => { throw new Error('connection refused'); };
    dr.set('shenzhen:shop/web', { ...emptyStatus(), state: 'completed', revision: '1', podTemplateHash: 'h1' });
    const unknown = (await c.applicationStatus('shop', 'web')) as View;
    assert.deepEqual([unknown.primary, unknown.targets.map((t) => t.inSync)], [null, [false]]);
  });
});
