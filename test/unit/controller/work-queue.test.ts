import assert from 'node:assert/strict';
import { PromotionQueue, compareRevisions, type QueueItem } from '../../../src/controller/work-queue.js';

const item = (application: string, revision: string, extra: Partial<QueueItem> = {}): QueueItem => ({
  workload: { kind: 'Rollout', namespace: application.split('/')[0]!, name: application.split('/')[1]! },
  application, revision, podTemplateHash: `h${revision}`, reason: 'watch', detectedAt: 1000, ...extra,
});

describe('controller/work-queue', () => {
  it('de-duplicates the same (application, revision, hash) while waiting, running and after it ran', () => {
    const q = new PromotionQueue();
    assert.equal(q.add(item('shop/a', '2')), 'queued');
    assert.equal(q.add(item('shop/a', '2')), 'merged');
    assert.equal(q.depth, 1);
    const run = q.take()!;
    assert.equal(q.add(item('shop/a', '2')), 'duplicate', 'running');
    q.finish(run, true);
    assert.equal(q.add(item('shop/a', '2')), 'duplicate', 'already promoted');
    assert.equal(q.take(), undefined);
  });

  it('a newer revision supersedes a waiting older one; an older one after a newer is stale', () => {
    const q = new PromotionQueue();
    q.add(item('shop/a', '3'));
    assert.equal(q.add(item('shop/a', '4')), 'superseded');
    assert.equal(q.add(item('shop/a', '3')), 'stale');
    const run = q.take()!;
    assert.equal(run.revision, '4');
    q.finish(run, true);
    assert.equal(q.add(item('shop/a', '2', { force: true })), 'stale', 'even forced');
  });

  it('runs one promotion per application at a time, others in parallel, FIFO over applications', () => {
    const q = new PromotionQueue();
    q.add(item('shop/a', '1'));
    q.add(item('shop/b', '1'));
    const a1 = q.take()!;
    assert.equal(q.add(item('shop/a', '2')), 'queued', 'waits behind the running one');
    const b1 = q.take()!;
    assert.deepEqual([a1.application, b1.application], ['shop/a', 'shop/b']);
    assert.equal(q.take(), undefined, 'shop/a is still running');
    q.finish(a1, true);
    assert.equal(q.take()!.revision, '2');
    assert.equal(q.running, 2);
  });

  it('forced items (resume, retry) bypass the memory of a finished revision and merge target sets', () => {
    const q = new PromotionQueue();
    q.add(item('shop/a', '5'));
    q.finish(q.take()!, true);
    assert.equal(q.add(item('shop/a', '5', { force: true, targets: ['shenzhen'] })), 'queued');
    assert.equal(q.add(item('shop/a', '5', { force: true, targets: ['beijing'] })), 'merged');
    assert.deepEqual(q.take()!.targets, ['beijing', 'shenzhen']);
    q.add(item('shop/b', '1', { targets: ['x'] }));
    q.add(item('shop/b', '1'));
    assert.equal(q.take()!.targets, undefined, 'all targets wins');
  });

  it('clear() forgets everything (leadership lost)', () => {
    const q = new PromotionQueue();
    q.add(item('shop/a', '9'));
    q.clear();
    assert.equal(q.depth, 0);
    assert.equal(q.add(item('shop/a', '1')), 'queued', 'no memory of revision 9');
  });

  it('compares revisions numerically', () => {
    assert.ok(compareRevisions('10', '9') > 0);
    assert.equal(compareRevisions('x', '9'), 0);
  });
});
