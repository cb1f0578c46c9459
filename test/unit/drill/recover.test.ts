import assert from 'node:assert/strict';
import { newMarker } from '../../../src/drill/cut-marker.js';
import { notBackError, recoverySummary, waitComplete, type Recovery } from '../../../src/drill/recover.js';
import type { WorkloadRef } from '../../../src/promote/types.js';

const web: WorkloadRef = { kind: 'Rollout', namespace: 'shop', name: 'web' };
const api: WorkloadRef = { kind: 'Deployment', namespace: 'pay', name: 'api' };
const none: Recovery = { sandbox: undefined, nodes: [], workloads: [] };
const some: Recovery = { sandbox: 'primary', nodes: ['n1', 'n2'], workloads: [{ ref: web, replicas: 2, at: '2026-11-29T01:00:00.000Z', marker: newMarker() }] };

/** A clock that advances only when the wait pauses: the deadline is reached by the loop itself, never by real time. */
function steppedClock() {
  let now = 1_000;
  return { clock: () => now, pause: (ms: number) => Promise.resolve(void (now += ms)) };
}

describe('drill: recovery of the cuts killed drills left behind', () => {
  it('summarises what was undone, and nothing as empty', () => {
    assert.equal(recoverySummary(none), '');
    assert.equal(recoverySummary(some), 'restarted the API server of primary; uncordoned node(s) n1, n2; restored Rollout shop/web to 2 replicas');
  });

  it('waitComplete returns at once when all are complete, else what is not complete at the deadline (read errors count as not complete)', async () => {
    const c = steppedClock();
    const reads: string[] = [];
    const done = await waitComplete([web, api], async (ref) => (reads.push(ref.name), { complete: true, reason: '' }), c.clock() + 10_000, { ...c, intervalMs: 250 });
    assert.deepEqual(done, []);
    assert.deepEqual(reads, ['web', 'api']);

    const left = await waitComplete([web, api], async (ref) => {
      if (ref.name === 'api') throw new Error('connection refused');
      return { complete: false, reason: '0/2 pods available' };
    }, c.clock() + 1_000, { ...c, intervalMs: 250 });
    assert.deepEqual(left, [{ ref: web, reason: '0/2 pods available' }, { ref: api, reason: 'connection refused' }]);
  });

  it('waitComplete waits for a workload that becomes complete before the deadline', async () => {
    const c = steppedClock();
    let n = 0;
    const left = await waitComplete([web], async () => ({ complete: ++n >= 3, reason: 'pods pending' }), c.clock() + 10_000, { ...c, intervalMs: 250 });
    assert.deepEqual(left, []);
    assert.equal(n, 3);
  });

  it('notBackError is DEADLINE_EXCEEDED naming what was undone, what is not complete and what to do; never a rollout or a promotion', () => {
    const e = notBackError(some, [{ ref: web, reason: '0/2 pods available' }], 180_000, 'run the drill again once they are complete; the drill did not start');
    assert.equal(e.code, 'DEADLINE_EXCEEDED');
    assert.equal(e.message, 'undid what an interrupted drill left in primary (restarted the API server of primary; uncordoned node(s) n1, n2; restored Rollout shop/web to 2 replicas), but this workload is not complete 180 s later: Rollout shop/web (0/2 pods available); check their pods and primary\'s nodes (kubectl get pods -n shop -o wide; kubectl get nodes), then run the drill again once they are complete; the drill did not start');
    assert.doesNotMatch(e.message, /rolling out|promotion/);
    const two = notBackError(none, [{ ref: web, reason: 'a' }, { ref: api, reason: 'b' }], 5_000, 'x');
    assert.match(two.message, /^found no cut left behind by a drill in primary, but these workloads are not complete 5 s later: Rollout shop\/web \(a\), Deployment pay\/api \(b\); .*kubectl get pods -n shop -o wide; kubectl get pods -n pay -o wide/);
  });
});
