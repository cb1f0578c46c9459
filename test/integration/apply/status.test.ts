import assert from 'node:assert/strict';
import { isRelayError } from '../../../src/errors.js';
import { StatusWriter, StatusSequenceStore } from '../../../src/status/index.js';
import { freshNamespace, kubeConfig } from '../support/sandbox.js';

describe('status ConfigMap: optimistic concurrency on the real DR cluster', () => {
  it('two concurrent writers: the newer sequence always wins, the older gets STATUS_CONFLICT', async () => {
    const ns = await freshNamespace('rr-status', ['dr']);
    for (let round = 0; round < 4; round++) {
      const app = `${ns}/app${round}`;
      const older = new StatusWriter(kubeConfig('dr'), app);
      const newer = new StatusWriter(kubeConfig('dr'), app);
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 6; i++) {
        writes.push(older.update(10, { state: 'applying', message: `old ${i}` }).catch((e: unknown) => e));
        writes.push(newer.update(11, { state: i === 5 ? 'completed' : 'applying', message: `new ${i}` }).catch((e: unknown) => e));
      }
      const results = await Promise.all(writes);
      for (const r of results) if (r instanceof Error) assert.ok(isRelayError(r, 'STATUS_CONFLICT'), String(r));
      const final = await older.read();
      assert.equal(final?.record.sequence, 11);
      assert.match(final!.record.message, /^new /);
      await assert.rejects(older.update(10, { state: 'failed' }), (e: unknown) => isRelayError(e, 'STATUS_CONFLICT'));
      assert.equal((await newer.read())?.record.sequence, 11);
    }
  });

  it('serves as the policy SequenceStateStore', async () => {
    const ns = await freshNamespace('rr-seq', ['dr']);
    const store = new StatusSequenceStore(kubeConfig('dr'));
    assert.equal(await store.get(`${ns}/web`, 'dr'), undefined);
    await store.put(`${ns}/web`, 'dr', 5);
    assert.equal(await store.get(`${ns}/web`, 'dr'), 5);
  });
});
