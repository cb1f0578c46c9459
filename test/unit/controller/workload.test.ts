import assert from 'node:assert/strict';
import { applicationOf, targetNeeds, workloadRef } from '../../../src/controller/workload.js';
import { isRelayError } from '../../../src/errors.js';

describe('controller/workload', () => {
  it('names the application after app.kubernetes.io/instance, else the workload', () => {
    assert.equal(applicationOf({ kind: 'Rollout', metadata: { namespace: 'shop', name: 'checkout-ro', labels: { 'app.kubernetes.io/instance': 'checkout' } } }), 'shop/checkout');
    assert.equal(applicationOf({ kind: 'Deployment', metadata: { namespace: 'shop', name: 'cart' } }), 'shop/cart');
    assert.throws(() => applicationOf({ kind: 'Rollout', metadata: { namespace: 'shop', name: 'x', labels: { 'app.kubernetes.io/instance': 'Bad_Name' } } }), (e) => isRelayError(e, 'CONFIG_INVALID') && /shop\/x/.test(e.message));
    assert.deepEqual(workloadRef({ kind: 'Rollout', metadata: { namespace: 'shop', name: 'a' } }), { kind: 'Rollout', namespace: 'shop', name: 'a' });
    assert.throws(() => workloadRef({ kind: 'StatefulSet', metadata: { namespace: 'shop', name: 'a' } }), (e) => isRelayError(e, 'CONFIG_INVALID'));
  });

  it('decides per target from DR status alone', () => {
    assert.equal(targetNeeds(undefined, '3', 'h3'), true, 'first promotion');
    assert.equal(targetNeeds({ state: 'completed', revision: '2' }, '3', 'h3'), true, 'behind');
    assert.equal(targetNeeds({ state: 'completed', revision: '3' }, '3', 'h3'), false, 'in sync');
    assert.equal(targetNeeds({ state: 'completed', revision: '3', podTemplateHash: 'old' }, '3', 'h3'), true, 'same revision, other template');
    for (const s of ['verifying', 'applying', 'post-checks', 'pending'] as const) assert.equal(targetNeeds({ state: s, revision: '3' }, '3', 'h3'), true, `${s}: re-run`);
    assert.equal(targetNeeds({ state: 'paused', revision: '2' }, '3', 'h3'), false, 'paused until resume, even for a newer revision');
    assert.equal(targetNeeds({ state: 'failed', revision: '3' }, '3', 'h3'), false, 'no retry loop on a failed revision');
    assert.equal(targetNeeds({ state: 'rolled-back', revision: '3' }, '3', 'h3'), false);
    assert.equal(targetNeeds({ state: 'rolled-back', revision: '3' }, '4', 'h4'), true);
  });
});
