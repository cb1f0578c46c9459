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

  it('promotes a completed Rollout from primary to DR through a signed, verified bundle', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    await runDemo({ dir: sandbox().dir, out });
    const text = chunks.join('');
    assert.match(text, /primary \(shanghai\): rollout demo\/checkout revision \d+ complete/);
    assert.match(text, /event RolloutCompleted: "Rollout completed update to revision \d+/);
    assert.match(text, /bundle: 4 objects .* sha256:[0-9a-f]{64}/);
    assert.match(text, /dr \(shenzhen\): verified by demo-release-signer; completed: 4 objects applied/);
    assert.match(text, /status ConfigMap demo\/rollout-relay-status-checkout: hot_update_status=completed/);
    assert.match(text, /phase=Healthy, 3\/3 available, image registry.example\/checkout:1.5.0/);
    assert.match(text, /pod-template-hash: primary (\w+), dr \1: identical/);
  });
});
