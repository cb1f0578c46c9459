import assert from 'node:assert/strict';
import { isRelayError } from '../../../src/errors.js';
import { buildParameters, isInSync, pluginRequestFromJSON, type TargetStatus } from '../../../src/plugin/params.js';

function status(over: Partial<TargetStatus> = {}): TargetStatus {
  return {
    target: 'shenzhen', server: 'https://dr:6443', namespace: 'shop', name: 'checkout', hotUpdateStatus: 'completed',
    completed: { revision: '3', podTemplateHash: 'abc', commit: 'c0ffee', bundleDigest: 'sha256:aa', sequence: 7, keyIds: ['1f2e', '3d4c'] },
    ...over,
  };
}

describe('plugin: request parsing and parameters', () => {
  it('parses Argo CD\'s request body and its filter', () => {
    assert.deepEqual(pluginRequestFromJSON({ applicationSetName: 'dr', input: { parameters: { namespace: 'shop', application: 'checkout' } } }),
      { applicationSetName: 'dr', filter: { namespace: 'shop', application: 'checkout' } });
    assert.deepEqual(pluginRequestFromJSON({ applicationSetName: 'dr' }), { applicationSetName: 'dr', filter: {} });
  });

  it('MALFORMED: unknown or badly formed parameters never widen the answer', () => {
    for (const body of [
      [], { input: [] }, { input: { parameters: { namespaces: 'shop' } } }, { input: { parameters: { namespace: 'Shop!' } } },
      { input: { parameters: { application: 'checkout' } } }, { applicationSetName: 3 },
    ]) {
      assert.throws(() => pluginRequestFromJSON(body), (e) => isRelayError(e, 'MALFORMED'), JSON.stringify(body));
    }
  });

  it('publishes the completed bundle\'s commit, digest, revision, sequence and verifying key ids per target', () => {
    const [p] = buildParameters([status()], () => ({ revision: '3', podTemplateHash: 'abc' }));
    assert.deepEqual(p, {
      cluster: 'shenzhen', server: 'https://dr:6443', namespace: 'shop', application: 'checkout', revision: '3', commit: 'c0ffee',
      bundleDigest: 'sha256:aa', sequence: 7, keyIds: '1f2e,3d4c', hotUpdateStatus: 'completed', inSync: true, cacheAgeSeconds: 0,
    });
  });

  it('a failed newer promotion keeps the last completed commit and is not in sync', () => {
    const [p] = buildParameters([status({ hotUpdateStatus: 'rolled-back' })], () => ({ revision: '4', podTemplateHash: 'def' }));
    assert.equal(p!.commit, 'c0ffee');
    assert.equal(p!.hotUpdateStatus, 'rolled-back');
    assert.equal(p!.inSync, false);
  });

  it('a target where nothing completed gets no entry (an empty targetRevision means branch head)', () => {
    const { completed: _, ...never } = status({ hotUpdateStatus: 'failed' });
    assert.deepEqual(buildParameters([never], () => undefined), []);
  });

  it('inSync needs completed, the same revision and the same pod-template-hash when both are known', () => {
    assert.equal(isInSync(status(), { revision: '3', podTemplateHash: 'abc' }), true);
    assert.equal(isInSync(status(), { revision: '3', podTemplateHash: '' }), true);
    assert.equal(isInSync(status(), { revision: '4', podTemplateHash: 'abc' }), false);
    assert.equal(isInSync(status(), { revision: '3', podTemplateHash: 'zzz' }), false);
    assert.equal(isInSync(status(), undefined), false);
    assert.equal(isInSync(status({ hotUpdateStatus: 'applying' }), { revision: '3', podTemplateHash: 'abc' }), false);
  });

  it('sorts entries so equal inputs give equal answers', () => {
    const out = buildParameters([status({ target: 'b' }), status({ target: 'a', name: 'z' }), status({ target: 'a', name: 'c' })], () => undefined);
    assert.deepEqual(out.map((p) => `${p.cluster}/${p.application}`), ['a/c', 'a/z', 'b/checkout']);
  });
});
