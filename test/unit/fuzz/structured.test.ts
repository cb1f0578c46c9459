import assert from 'node:assert/strict';
import { fuzzStructured, STRUCTURED_KINDS } from '../../fuzz/structured.js';

describe('fuzz: structure-aware mutations (small count; npm run fuzz runs 2,000+)', function () {
  this.timeout(300_000);
  it('hostile fields, envelope shapes, alternate key encodings and tar shapes: 0 accepted, 0 crashes', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    console.log(`      fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
    const r = await fuzzStructured(seed, 250);
    assert.deepEqual(r.crashes, []);
    assert.deepEqual(r.accepted, []);
    assert.equal(r.mutations, 250);
    for (const kind of STRUCTURED_KINDS) assert.ok((r.byKind[kind] ?? 0) > 5, `${kind} exercised`);
    assert.ok(r.codes.POLICY_INVALID! > 0, 'policies listing one key in two encodings were refused');
  });
});
