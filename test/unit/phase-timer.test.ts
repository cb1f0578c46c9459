import assert from 'node:assert/strict';
import { timePhase } from '../../src/phase-timer.js';

describe('timePhase: one phase timer for the applier and the promotion pipeline', () => {
  it('returns the result and records the phase (whole ms), telling the observer', async () => {
    const durations: Record<string, number> = {};
    const seen: [string, number][] = [];
    assert.equal(await timePhase(durations, 'apply', async () => 42, (p, ms) => seen.push([p, ms])), 42);
    assert.ok(Number.isInteger(durations.apply) && durations.apply! >= 0);
    assert.deepEqual(seen, [['apply', durations.apply]]);
  });

  it('records a phase that throws, and rethrows', async () => {
    const durations: Record<string, number> = {};
    await assert.rejects(timePhase(durations, 'verify', async () => { throw new Error('bad'); }), /bad/);
    assert.ok('verify' in durations);
  });
});
