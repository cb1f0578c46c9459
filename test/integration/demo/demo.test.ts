import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { CoreV1Api } from '@kubernetes/client-node';
import { runDemo } from '../../../src/demo/run.js';
import { kubeConfig, sandbox } from '../support/sandbox.js';

describe('demo: the main job on the real sandbox', () => {
  after(async () => {
    for (const context of ['primary', 'dr'] as const) {
      await kubeConfig(context).makeApiClient(CoreV1Api).deleteNamespace({ name: 'demo' }).catch(() => undefined);
    }
  });

  it('tells the story with the controller: image update in primary → controller → DR runs the same pod-template-hash, with a timeline', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    await runDemo({ dir: sandbox().dir, out });
    const text = chunks.join('');
    assert.match(text, /controller: watching demo in primary \(shanghai\)/);
    assert.match(text, /catch-up: DR was behind primary's stable revision .*: DR completed/);
    assert.match(text, /primary: Argo Rollouts completed revision \d+ .*Event RolloutCompleted: "Rollout completed update to revision \d+/);
    assert.match(text, /controller: detected revision \d+ complete \((watch|event|notify)\); promoting to shenzhen/);
    assert.match(text, /controller: exported, bundled and signed: \d+ objects, sequence \d+, sha256:[0-9a-f]{64}/);
    assert.match(text, /phases \(ms\): export \d+, .*apply \d+/);
    assert.match(text, /dr \(shenzhen\): verified against the trust policy, applied, healthy: completed/);
    assert.match(text, /status ConfigMap demo\/rollout-relay-status-checkout: hot_update_status=completed/);
    assert.match(text, /phase=Healthy, 3\/3 available, image registry.example\/checkout:1\.\d+\.0/);
    assert.match(text, /pod-template-hash: primary (\w+), dr \1: identical/);
    assert.match(text, /primary complete → DR completed: [\d.]+ s \(SLA 100 s\): within SLA/);
  });
});
