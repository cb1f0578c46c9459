import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/bundle/index.js';
import { hpaScaleTargets, leaveOutFields, removeAt, rolloutHashLeftToRollouts, rolloutServices, selectorLeftToRollouts, selectorManagers } from '../../../src/overrides/index.js';

const deploy = (name: string, replicas = 3): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop' },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { spec: { containers: [{ name: 'c', image: 'i', env: [{ name: 'A' }, { name: 'B' }] }] } } },
});
const rollout = (name: string): KubeObject => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name, namespace: 'shop' }, spec: { replicas: 5 } });
const hpa = (name: string, target: { apiVersion?: string; kind: string; name: string }, namespace = 'shop') => ({
  apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name, namespace }, spec: { scaleTargetRef: target, minReplicas: 1, maxReplicas: 9 },
});

describe('overrides: fields rollout-relay never sends', () => {
  it('removeAt drops object keys and array elements, escapes ~0/~1, and leaves a missing path alone', () => {
    const d = deploy('web');
    assert.equal(removeAt(d, '/spec/nothing'), d);
    const out = removeAt(d, '/spec/template/spec/containers/0/env/0') as typeof d & { spec: { template: { spec: { containers: { env: unknown[] }[] } } } };
    assert.deepEqual(out.spec.template.spec.containers[0]!.env, [{ name: 'B' }]);
    assert.equal((d.spec as { template: { spec: { containers: { env: unknown[] }[] } } }).template.spec.containers[0]!.env.length, 2, 'input unchanged');
    const ann: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { 'a/b': 'x', 'c~d': 'y' } } };
    assert.deepEqual(removeAt(removeAt(ann, '/metadata/annotations/a~1b'), '/metadata/annotations/c~0d').metadata.annotations, {});
  });

  it('leaves out ignoreFields pointers of matching kinds only', () => {
    const fields = [{ group: 'apps', kind: 'Deployment', name: 'web*', pointers: ['/spec/replicas', '/spec/paused'] }];
    const web = leaveOutFields(deploy('web'), fields, new Map());
    assert.equal((web.object.spec as { replicas?: number }).replicas, undefined);
    assert.deepEqual(web.leftOut, [{ object: 'apps/Deployment shop/web', pointer: '/spec/replicas', reason: 'ignoreFields' }]);
    const api = leaveOutFields(deploy('api'), fields, new Map());
    assert.equal((api.object.spec as { replicas?: number }).replicas, 3);
    assert.deepEqual(api.leftOut, []);
    assert.equal(leaveOutFields(rollout('web'), fields, new Map()).leftOut.length, 0, 'group and kind must both match');
  });

  it('leaves out spec.replicas of workloads an HPA scales (Deployment and Rollout), nothing else', () => {
    const targets = hpaScaleTargets([
      hpa('web', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }),
      hpa('canary', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'canary' }),
      hpa('elsewhere', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, 'other'),
      { metadata: { name: 'broken', namespace: 'shop' } },
    ]);
    const web = leaveOutFields(deploy('web'), [], targets);
    assert.equal((web.object.spec as { replicas?: number }).replicas, undefined);
    assert.deepEqual(web.leftOut, [{ object: 'apps/Deployment shop/web', pointer: '/spec/replicas', reason: 'hpa shop/web' }]);
    assert.equal((leaveOutFields(rollout('canary'), [], targets).object.spec as { replicas?: number }).replicas, undefined);
    assert.equal((leaveOutFields(deploy('api'), [], targets).object.spec as { replicas?: number }).replicas, 3, 'an HPA in another namespace does not count');
  });

  describe('spec.selector of Services Argo Rollouts switches', () => {
    const service = (name: string, ns = 'shop'): KubeObject => ({
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    const strategyRollout = (name: string, strategy: Record<string, unknown>, ns = 'shop'): KubeObject => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name, namespace: ns }, spec: { strategy } });
    const named = rolloutServices([
      strategyRollout('web', { blueGreen: { activeService: 'web-active', previewService: 'web-preview' } }),
      strategyRollout('api', { canary: { stableService: 'api-stable', canaryService: 'api-canary', steps: [] } }),
      strategyRollout('plain', { canary: { steps: [{ setWeight: 50 }] } }),
      { apiVersion: 'example.com/v1', kind: 'Rollout', metadata: { name: 'x', namespace: 'shop' }, spec: { strategy: { blueGreen: { activeService: 'not-argo' } } } },
      service('web-active'),
    ]);
    const argo = ['rollouts-controller'];

    it('names the four Service fields of Argo Rollouts, per namespace, and nothing else', () => {
      assert.deepEqual([...named.entries()], [
        ['shop/web-active', 'rollout shop/web activeService'], ['shop/web-preview', 'rollout shop/web previewService'],
        ['shop/api-stable', 'rollout shop/api stableService'], ['shop/api-canary', 'rollout shop/api canaryService'],
      ]);
    });

    it('reads which managers own spec.selector (an atomic map: f:selector with nothing under it)', () => {
      assert.deepEqual(selectorManagers([
        { manager: 'rollout-relay', fieldsV1: { 'f:spec': { 'f:ports': {} }, 'f:metadata': { 'f:labels': {} } } },
        { manager: 'rollouts-controller', fieldsV1: { 'f:spec': { 'f:selector': {} } } },
        { manager: 'kubectl', fieldsV1: { 'f:metadata': { 'f:annotations': {} } } },
      ]), ['rollouts-controller']);
      assert.deepEqual(selectorManagers(undefined), []);
    });

    it('leaves the selector out of an existing named Service another manager owns it on; sends it on creation, when rollout-relay alone owns it, and for other Services', () => {
      const reason = selectorLeftToRollouts(service('web-active'), named, argo, 'rollout-relay');
      assert.equal(reason, 'rollout shop/web activeService');
      const out = leaveOutFields(service('web-active'), [], new Map(), reason);
      assert.equal((out.object.spec as { selector?: unknown }).selector, undefined);
      assert.deepEqual((out.object.spec as { ports?: unknown }).ports, [{ port: 80 }], 'the rest is sent');
      assert.deepEqual(out.leftOut, [{ object: 'Service shop/web-active', pointer: '/spec/selector', reason: 'rollout shop/web activeService' }]);
      assert.equal(selectorLeftToRollouts(service('api-canary'), named, ['rollout-relay', 'rollouts-controller'], 'rollout-relay'), 'rollout shop/api canaryService', 'shared ownership: left out too');

      assert.equal(selectorLeftToRollouts(service('web-active'), named, undefined, 'rollout-relay'), undefined, 'not in the target yet: created with its selector');
      assert.equal(selectorLeftToRollouts(service('web-active'), named, ['rollout-relay'], 'rollout-relay'), undefined, 'rollout-relay alone owns it: leaving it out would delete it');
      assert.equal(selectorLeftToRollouts(service('web-active'), named, [], 'rollout-relay'), undefined);
      assert.equal(selectorLeftToRollouts(service('other'), named, argo, 'rollout-relay'), undefined, 'a Service no Rollout names');
      assert.equal(selectorLeftToRollouts(service('web-active', 'elsewhere'), named, argo, 'rollout-relay'), undefined, 'same name, another namespace');
      assert.equal(selectorLeftToRollouts(service('not-argo'), named, argo, 'rollout-relay'), undefined, 'named by another group\'s Rollout');
      const deployment = { ...deploy('web-active') };
      assert.equal(selectorLeftToRollouts(deployment, named, argo, 'rollout-relay'), undefined, 'only Services');
      assert.deepEqual(leaveOutFields(service('web-active'), [], new Map(), undefined).leftOut, []);
    });

    it('creates a named Service without primary\'s rollouts-pod-template-hash (Argo Rollouts in the target sets its own); the rest of the selector is sent', () => {
      const withHash: KubeObject = { ...service('web-active'), spec: { selector: { app: 'web', 'rollouts-pod-template-hash': 'abc123' }, ports: [{ port: 80 }] } };
      const reason = rolloutHashLeftToRollouts(withHash, named, true);
      assert.equal(reason, 'rollout shop/web activeService');
      const out = leaveOutFields(withHash, [], new Map(), undefined, reason);
      assert.deepEqual((out.object.spec as { selector?: unknown }).selector, { app: 'web' });
      assert.deepEqual(out.leftOut, [{ object: 'Service shop/web-active', pointer: '/spec/selector/rollouts-pod-template-hash', reason: 'rollout shop/web activeService' }]);
      assert.equal(rolloutHashLeftToRollouts(withHash, named, false), undefined, 'an existing Service: selectorLeftToRollouts decides');
      assert.equal(rolloutHashLeftToRollouts({ ...withHash, metadata: { ...withHash.metadata, name: 'other' } }, named, true), undefined, 'a Service no Rollout names');
      assert.deepEqual(leaveOutFields(service('web-active'), [], new Map(), undefined, reason).leftOut, [], 'no hash in the selector: nothing left out');
      const both = leaveOutFields(withHash, [], new Map(), 'rollout shop/web activeService', reason);
      assert.deepEqual(both.leftOut.map((f) => f.pointer), ['/spec/selector'], 'the whole selector left out wins');
    });
  });
});
