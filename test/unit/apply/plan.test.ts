import assert from 'node:assert/strict';
import { computePrune, decideOwnership, desiredObject, mapBounded, planApply, unionInventory } from '../../../src/apply/plan.js';
import { APPLICATION_ANNOTATION, inventoryKey } from '../../../src/status/model.js';
import type { KubeObject } from '../../../src/bundle/index.js';
import { isRelayError } from '../../../src/errors.js';

const obj = (apiVersion: string, kind: string, name: string, namespace?: string, annotations?: Record<string, string>): KubeObject => ({
  apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}), ...(annotations ? { annotations } : {}) },
});

describe('apply/plan', () => {
  it('orders steps Namespace → CRD → cluster RBAC → ConfigMap → Service → workload → rest, waves first', () => {
    const plan = planApply([
      obj('example.com/v1', 'Widget', 'w', 'app'),
      obj('apps/v1', 'Deployment', 'web', 'app'),
      obj('v1', 'Service', 'web', 'app'),
      obj('v1', 'ConfigMap', 'cfg', 'app'),
      obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'r'),
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'),
      obj('v1', 'Namespace', 'app'),
      obj('v1', 'ConfigMap', 'early', 'app', { 'argocd.argoproj.io/sync-wave': '-1' }),
      obj('v1', 'ConfigMap', 'late', 'app', { 'argocd.argoproj.io/sync-wave': '5' }),
    ]);
    assert.deepEqual(plan.waves, [-1, 0, 5]);
    assert.deepEqual(plan.steps.map((s) => `${s.wave}:${s.objects.map((o) => o.kind).join(',')}`), [
      '-1:ConfigMap', '0:Namespace', '0:CustomResourceDefinition', '0:ClusterRole', '0:ConfigMap', '0:Service', '0:Deployment', '0:Widget', '5:ConfigMap',
    ]);
    assert.equal(plan.inventory.length, 9);
  });

  it('puts independent objects of one tier in one step (applied concurrently)', () => {
    const plan = planApply([obj('v1', 'ConfigMap', 'a', 'x'), obj('v1', 'Secret', 'b', 'x'), obj('v1', 'ConfigMap', 'c', 'y')]);
    assert.equal(plan.steps.length, 1);
    assert.equal(plan.steps[0]!.objects.length, 3);
  });

  it('refuses a duplicate object and a non-integer sync wave with MALFORMED', () => {
    assert.throws(() => planApply([obj('v1', 'ConfigMap', 'a', 'x'), obj('v1', 'ConfigMap', 'a', 'x')]), (e) => isRelayError(e, 'MALFORMED'));
    assert.throws(() => planApply([obj('v1', 'ConfigMap', 'a', 'x', { 'argocd.argoproj.io/sync-wave': 'soon' })]), (e) => isRelayError(e, 'MALFORMED'));
  });

  it('sends no resourceVersion and marks ownership', () => {
    const o = obj('v1', 'ConfigMap', 'a', 'x');
    (o.metadata as Record<string, unknown>).resourceVersion = '42';
    (o as Record<string, unknown>).status = { x: 1 };
    const d = desiredObject(o, 'x/app');
    assert.equal((d.metadata as Record<string, unknown>).resourceVersion, undefined);
    assert.equal((d as Record<string, unknown>).status, undefined);
    assert.equal(d.metadata.annotations?.[APPLICATION_ANNOTATION], 'x/app');
    assert.equal((o.metadata as Record<string, unknown>).resourceVersion, '42', 'input untouched');
  });

  describe('ownership', () => {
    const entry = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'a' };
    it('creates what does not exist', () => assert.deepEqual(decideOwnership(undefined, entry, 'x/app', new Set(), false), { action: 'create' }));
    it('updates what carries our annotation or is in our inventory', () => {
      assert.equal(decideOwnership({ annotations: { [APPLICATION_ANNOTATION]: 'x/app' }, managers: [] }, entry, 'x/app', new Set(), false).action, 'update');
      assert.equal(decideOwnership({ annotations: {}, managers: ['kubectl'] }, entry, 'x/app', new Set([inventoryKey(entry)]), false).action, 'update');
    });
    it('refuses a foreign object unless adoption is on', () => {
      const d = decideOwnership({ annotations: {}, managers: ['kubectl-client-side-apply'] }, entry, 'x/app', new Set(), false);
      assert.equal(d.action, 'refuse');
      assert.match((d as { reason: string }).reason, /kubectl-client-side-apply/);
      assert.equal(decideOwnership({ annotations: {}, managers: [] }, entry, 'x/app', new Set(), true).action, 'adopt');
    });
    it('refuses an object of another rollout-relay application', () => {
      const d = decideOwnership({ annotations: { [APPLICATION_ANNOTATION]: 'x/other' }, managers: ['rollout-relay'] }, entry, 'x/app', new Set(), false);
      assert.equal(d.action, 'refuse');
    });
  });

  it('prunes exactly the dropped inventory entries, in reverse apply order', () => {
    const prev = [
      { apiVersion: 'v1', kind: 'Namespace', name: 'gone' },
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'keep' },
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'gone', name: 'drop' },
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'gone', name: 'web' },
    ];
    const next = [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'keep' }];
    assert.deepEqual(computePrune(prev, next).map((e) => `${e.kind}/${e.name}`), ['Deployment/web', 'ConfigMap/drop', 'Namespace/gone']);
    assert.deepEqual(computePrune(next, prev), []);
  });

  it('unions inventories without duplicates', () => {
    const a = [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'a' }];
    assert.equal(unionInventory(a, [...a, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'b' }]).length, 2);
  });

  it('bounds concurrency and collects every failure', async () => {
    let inFlight = 0;
    let peak = 0;
    const r = await mapBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((res) => setTimeout(res, 5));
      inFlight--;
      if (n % 2 === 0) throw new Error(`bad ${n}`);
      return n;
    });
    assert.equal(peak, 3);
    assert.deepEqual(r.map((x) => x.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
  });
});
