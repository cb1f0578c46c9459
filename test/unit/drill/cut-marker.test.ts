import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { spawnSync } from 'node:child_process';
import { assertLeftBehind, newMarker, parseMarker } from '../../../src/drill/cut-marker.js';
import { RelayError } from '../../../src/errors.js';

describe('drill: the record a Kubernetes cut keeps on the objects it changes', () => {
  it('round-trips through an annotation value, with extra fields, and ignores what is not a marker', () => {
    const m = newMarker(new Date('2026-11-29T01:00:00Z'));
    assert.equal(m.id, `${hostname()}/${process.pid}/2026-11-29T01:00:00.000Z`);
    assert.deepEqual(parseMarker<{ replicas: number }>(JSON.stringify({ ...m, replicas: 3 })), { ...m, replicas: 3 });
    for (const bad of [undefined, '', 'true', 'not json', '{"id":"x"}', JSON.stringify({ ...m, pid: '1' })]) assert.equal(parseMarker(bad), undefined, String(bad));
  });

  it('refuses (DRILL_IN_PROGRESS) to undo what a running drill on this host did; a finished drill or our own counts as left behind', () => {
    const alive = { ...newMarker(), pid: process.ppid };
    assert.throws(() => assertLeftBehind(alive, 'node n1 of primary'), (e: unknown) => e instanceof RelayError && e.code === 'DRILL_IN_PROGRESS' && /another drill \(pid \d+\) has cut node n1 of primary since .*; wait for it to finish/.test(e.message));
    // A pid that existed and has exited: its process is gone.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    assert.doesNotThrow(() => assertLeftBehind({ ...newMarker(), pid: gone }, 'x'));
    assert.doesNotThrow(() => assertLeftBehind(newMarker(), 'x'));
    assert.doesNotThrow(() => assertLeftBehind({ ...alive, host: `not-${hostname()}` }, 'x'));
  });
});
