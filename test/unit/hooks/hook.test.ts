import assert from 'node:assert/strict';
import { timeLeft } from '../../../src/hooks/hook.js';

describe('hooks: timeLeft, the one "is my time up" rule of every hook', () => {
  it('is the time to the deadline while the run is live', () => {
    const left = timeLeft({ deadline: Date.now() + 60_000, signal: new AbortController().signal });
    assert.ok(left > 0 && left <= 60_000, String(left));
  });

  it('is 0 once the deadline has passed', () => {
    assert.equal(timeLeft({ deadline: Date.now() - 1, signal: new AbortController().signal }), 0);
  });

  it('is 0 once the run is aborted, however far the deadline', () => {
    const ctrl = new AbortController();
    ctrl.abort();
    assert.equal(timeLeft({ deadline: Date.now() + 60_000, signal: ctrl.signal }), 0);
  });
});
