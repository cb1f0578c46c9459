import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/bundle/index.js';
import { hpaScaleTargets, leaveOutFields, removeAt } from '../../../src/overrides/index.js';

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
});
