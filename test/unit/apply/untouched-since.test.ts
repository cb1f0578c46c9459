import assert from 'node:assert/strict';
import { untouchedSince } from '../../../src/apply/plan.js';

describe('apply: untouchedSince (the identical re-apply shortcut)', () => {
  const since = new Date('2026-11-25T10:00:10Z');
  const ours = { manager: 'rollout-relay', operation: 'Apply', time: '2026-11-25T10:00:11Z' };

  it('skips an object only our apply has written', () => {
    assert.equal(untouchedSince([ours], since, 'rollout-relay'), true);
  });

  it('ignores status subresource writes (controllers report status all the time)', () => {
    assert.equal(untouchedSince([ours, { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', time: '2026-11-25T10:05:00Z' }], since, 'rollout-relay'), true);
  });

  it('accepts other managers that wrote well before our apply started', () => {
    assert.equal(untouchedSince([ours, { manager: 'kubectl-edit', operation: 'Update', time: '2026-11-25T09:00:00Z' }], since, 'rollout-relay'), true);
  });

  it('takes the full path when another manager wrote since (or within the second before) our apply', () => {
    assert.equal(untouchedSince([ours, { manager: 'kubectl-edit', operation: 'Update', time: '2026-11-25T10:30:00Z' }], since, 'rollout-relay'), false);
    assert.equal(untouchedSince([ours, { manager: 'kubectl-edit', operation: 'Update', time: '2026-11-25T10:00:09.500Z' }], since, 'rollout-relay'), false);
  });

  it('takes the full path without our own apply record, without times, or without any record', () => {
    assert.equal(untouchedSince([{ manager: 'someone', operation: 'Apply', time: '2026-11-25T09:00:00Z' }], since, 'rollout-relay'), false);
    assert.equal(untouchedSince([ours, { manager: 'x', operation: 'Update' }], since, 'rollout-relay'), false);
    assert.equal(untouchedSince([], since, 'rollout-relay'), false);
    assert.equal(untouchedSince(undefined, since, 'rollout-relay'), false);
  });

  it('does not count an Update by our own manager name as our apply', () => {
    assert.equal(untouchedSince([{ manager: 'rollout-relay', operation: 'Update', time: '2026-11-25T10:00:11Z' }], since, 'rollout-relay'), false);
  });
});
