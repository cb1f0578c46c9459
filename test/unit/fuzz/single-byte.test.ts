import assert from 'node:assert/strict';
import { fuzzSingleByte } from '../../fuzz/mutate.js';

describe('fuzz: single-byte mutations of a signed bundle and its envelope (small count; npm run fuzz runs 10,000+)', function () {
  this.timeout(120_000);
  it('refuses every mutation with a RelayError: 0 accepted, 0 crashes', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    console.log(`      fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
    const r = await fuzzSingleByte(seed, 300);
    assert.deepEqual(r.crashes, []);
    assert.deepEqual(r.accepted, []);
    assert.equal(r.mutations, 300);
    assert.ok(r.bundleMutations > 50 && r.envelopeMutations > 50);
  });
});
