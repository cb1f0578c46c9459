import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/bundle/types.js';
import { drRolloutForFullPromotion } from '../../../src/promote/dr-rollout.js';

const guard = { templates: [{ templateName: 'rollout-relay-rpo-guard', clusterScope: true }], args: [{ name: 'application', value: 'web' }] };

function rollout(strategy: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web', namespace: 'shop' },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'web:2' }] } }, strategy },
  } as KubeObject;
}

const strategyOf = (o: KubeObject) => (o as unknown as { spec: { strategy: Record<string, Record<string, unknown>> } }).spec.strategy;

describe('promote/dr-rollout: the DR form of a Rollout promoted in full', () => {
  it('drops analysis, experiment and plugin steps and background analysis; keeps weights and pauses in order', () => {
    const input = rollout({
      canary: {
        analysis: { templates: [{ templateName: 'error-rate' }] },
        steps: [
          { analysis: guard },
          { setWeight: 20 },
          { experiment: { templates: [{ name: 'baseline', specRef: 'stable' }] } },
          { pause: { duration: '1m' } },
          { plugin: { name: 'argoproj-labs/gates', config: {} } },
          { setWeight: 50 },
          { pause: {} },
        ],
        maxSurge: 1,
      },
    });
    const before = structuredClone(input);
    const out = drRolloutForFullPromotion(input);
    assert.deepEqual(strategyOf(out), { canary: { steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }, { setWeight: 50 }, { pause: {} }], maxSurge: 1 } });
    assert.deepEqual(input, before, 'the bundled object is not changed');
    assert.deepEqual((out as unknown as { spec: { template: unknown } }).spec.template, (input as unknown as { spec: { template: unknown } }).spec.template, 'the pod template (and so its hash) is untouched');
  });

  it('a canary made only of analysis steps ends with no steps (Argo Rollouts then promotes at once)', () => {
    const out = drRolloutForFullPromotion(rollout({ canary: { steps: [{ analysis: guard }, { analysis: guard }] } }));
    assert.deepEqual(strategyOf(out), { canary: {} });
  });

  it('drops blue-green pre- and post-promotion analysis, keeps the rest', () => {
    const out = drRolloutForFullPromotion(rollout({
      blueGreen: { activeService: 'web', previewService: 'web-preview', autoPromotionEnabled: false, prePromotionAnalysis: guard, postPromotionAnalysis: guard },
    }));
    assert.deepEqual(strategyOf(out), { blueGreen: { activeService: 'web', previewService: 'web-preview', autoPromotionEnabled: false } });
  });

  it('leaves everything else as it is (same object): other kinds, other groups, Rollouts without a strategy', () => {
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { strategy: { canary: { steps: [{ analysis: guard }] } } } } as unknown as KubeObject;
    assert.equal(drRolloutForFullPromotion(deployment), deployment);
    const foreign = { apiVersion: 'example.com/v1', kind: 'Rollout', metadata: { name: 'web' }, spec: { strategy: { canary: { steps: [{ analysis: guard }] } } } } as unknown as KubeObject;
    assert.equal(drRolloutForFullPromotion(foreign), foreign);
    const workloadRef = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web' }, spec: { workloadRef: { kind: 'Deployment', name: 'web' } } } as unknown as KubeObject;
    assert.equal(drRolloutForFullPromotion(workloadRef), workloadRef);
  });
});
