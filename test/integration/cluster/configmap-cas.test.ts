import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { ConfigMapCas, type ConfigMapCasOptions } from '../../../src/cluster/configmap-cas.js';
import { isRelayError } from '../../../src/errors.js';
import { freshNamespace, kubeConfig } from '../support/sandbox.js';

/** A counter ConfigMap: the smallest value whose lost updates would show. */
function counter(ns: string, maxAttempts = 50): ConfigMapCasOptions<number> {
  return {
    namespace: ns,
    name: 'counter',
    describe: 'test counter',
    labels: { 'rollout-relay.io/test': 'true' },
    annotations: { 'rollout-relay.io/application': `${ns}/counter` },
    fromData: (d) => Number(d?.n ?? '0'),
    toData: (n) => ({ n: String(n) }),
    maxAttempts,
    backoffMs: 10,
  };
}

describe('ConfigMapCas: compare-and-swap on the real DR cluster', () => {
  it('concurrent increments from separate clients lose none (409s are re-read and retried)', async () => {
    const ns = await freshNamespace('rr-cas', ['dr']);
    const writers = Array.from({ length: 6 }, () => new ConfigMapCas(kubeConfig('dr'), counter(ns)));
    const results = await Promise.all(writers.map((w) => w.update((n) => ({ write: (n ?? 0) + 1 }))));
    assert.deepEqual([...results].sort(), [1, 2, 3, 4, 5, 6], 'each writer stored a distinct value');
    const stored = await writers[0]!.read();
    assert.equal(stored?.value, 6);
    const cm = await kubeConfig('dr').makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'counter', namespace: ns });
    assert.equal(cm.metadata?.labels?.['rollout-relay.io/test'], 'true');
    assert.equal(cm.metadata?.annotations?.['rollout-relay.io/application'], `${ns}/counter`);
  });

  it('keep writes nothing; a throwing decision stops the update; a missing ConfigMap reads as undefined', async () => {
    const ns = await freshNamespace('rr-cas', ['dr']);
    const cas = new ConfigMapCas(kubeConfig('dr'), counter(ns));
    assert.equal(await cas.read(), undefined);
    assert.equal(await cas.update((n) => ({ keep: n ?? -1 })), -1);
    assert.equal(await cas.read(), undefined, 'keep created nothing');
    await cas.update(() => ({ write: 3 }));
    const before = await cas.read();
    assert.equal(await cas.update((n) => ({ keep: n! })), 3);
    assert.equal((await cas.read())?.resourceVersion, before?.resourceVersion, 'keep did not write');
    await assert.rejects(cas.update(() => { throw new Error('stop'); }), /stop/);
  });

  it('STATUS_CONFLICT once every attempt has lost the race', async () => {
    const ns = await freshNamespace('rr-cas', ['dr']);
    const cas = new ConfigMapCas(kubeConfig('dr'), counter(ns, 3));
    const rival = new ConfigMapCas(kubeConfig('dr'), counter(ns));
    await cas.update(() => ({ write: 0 }));
    let decisions = 0;
    // The rival writes between each read and write of `cas`, so every attempt meets a 409.
    await assert.rejects(
      cas.update(async (n) => {
        decisions++;
        await rival.update((r) => ({ write: (r ?? 0) + 1 }));
        return { write: (n ?? 0) + 100 };
      }),
      (e: unknown) => isRelayError(e, 'STATUS_CONFLICT'),
    );
    assert.equal(decisions, 3, 'one decision per attempt');
    assert.equal((await rival.read())?.value, 3, 'only the rival\'s writes landed');
  });
});
