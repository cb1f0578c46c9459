import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createBundle } from '../../../src/bundle/index.js';
import { MemorySequenceStore, OutOfScopeError, parseTrustPolicy, type TrustPolicy } from '../../../src/policy/index.js';
import { serializeEnvelope, signBundleDigest } from '../../../src/signing/index.js';
import { verifyBundleBytes } from '../../../src/verify/index.js';
import { expectCode, sampleMeta, testPolicy, testSigner, TEST_KEYS } from '../../helpers/bundle-fixtures.js';

const source = { cluster: 'shanghai', namespace: 'scope-shop', kind: 'Deployment', name: 'app', revision: '1' };

/** The bundle of issue 14: the app, plus a ConfigMap in kube-system and a ClusterRoleBinding to cluster-admin. */
function issueObjects(): unknown[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'scope-shop' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'scope-shop' }, data: { a: '1' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sneaky', namespace: 'kube-system' }, data: { a: '1' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'app-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: 'scope-shop' }],
    },
  ];
}

async function signed(objects: unknown[]): Promise<{ bytes: Buffer; envelope: string }> {
  const bundle = createBundle(objects, sampleMeta({ source, sequence: 5 }));
  const env = await signBundleDigest('app.bundle.tar', bundle.digest, bundle.index, [testSigner('test-ed25519')]);
  return { bytes: bundle.bytes, envelope: serializeEnvelope(env) };
}

function policy(scope?: string): TrustPolicy {
  return parseTrustPolicy(`apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\n${scope ? `scope: ${scope}\n` : ''}keys:\n  - name: ed\n    publicKey: ${join(TEST_KEYS, 'test-ed25519.pub')}\n`);
}

describe('verify: every object inside the trust policy scope', () => {
  for (const loadObjects of [false, true]) {
    it(`OUT_OF_SCOPE names both offending objects of the issue's bundle and records nothing (${loadObjects ? 'objects loaded' : 'one file at a time'})`, async () => {
      const { bytes, envelope } = await signed(issueObjects());
      const state = new MemorySequenceStore();
      const err = await expectCode(() => verifyBundleBytes(bytes, envelope, { policy: policy(), target: 'shenzhen', stateStore: state, loadObjects }), 'OUT_OF_SCOPE');
      assert.ok(err instanceof OutOfScopeError);
      assert.deepEqual(err.violations.map((v) => v.object).sort(), ['ClusterRoleBinding app-admin', 'ConfigMap kube-system/sneaky']);
      assert.match(err.message, /^2 object\(s\) of scope-shop\/app are outside the trust policy's scope; nothing was written/);
      assert.equal(state.entries.size, 0, 'the sequence is not recorded');
    });
  }

  it('the same bundle passes once the scope allows both', async () => {
    const { bytes, envelope } = await signed(issueObjects());
    const v = await verifyBundleBytes(bytes, envelope, {
      policy: policy('{namespaces: [scope-shop, kube-system], clusterResources: [{group: rbac.authorization.k8s.io, kind: ClusterRoleBinding}]}'), loadObjects: false,
    });
    assert.equal(v.scopeCheck, 'passed');
    assert.ok(v.scope);
  });

  it('a tampered bundle says DIGEST_MISMATCH, not OUT_OF_SCOPE', async () => {
    const { bytes, envelope } = await signed(issueObjects());
    const at = bytes.indexOf(Buffer.from('name: sneaky'));
    bytes[at + 6] = 'S'.charCodeAt(0);
    for (const loadObjects of [false, true]) await expectCode(() => verifyBundleBytes(bytes, envelope, { policy: policy(), loadObjects }), 'DIGEST_MISMATCH');
  });

  it('returns namespaced objects without a namespace in the application namespace, as apply writes them', async () => {
    const { bytes, envelope } = await signed([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'loose' }, data: { a: '1' } }]);
    const v = await verifyBundleBytes(bytes, envelope, { policy: policy() });
    assert.equal(v.objects[0]!.metadata.namespace, 'scope-shop');
  });

  it('a namespace-less object of a kind nothing resolves offline is refused unless the scope lists the kind', async () => {
    const loose = { apiVersion: 'example.io/v1', kind: 'Gadget', metadata: { name: 'g' }, spec: {} };
    const { bytes, envelope } = await signed([loose]);
    const err = await expectCode(() => verifyBundleBytes(bytes, envelope, { policy: policy(), loadObjects: false }), 'OUT_OF_SCOPE');
    assert.match(err.message, /Gadget g: kind example\.io\/Gadget has no namespace and cannot be resolved offline/);
    await verifyBundleBytes(bytes, envelope, { policy: policy('{clusterResources: [{group: example.io, kind: Gadget}]}'), loadObjects: false });
    // A resolver (apply passes the target's discovery) decides instead.
    await verifyBundleBytes(bytes, envelope, { policy: policy(), resolveKind: () => Promise.resolve('Namespaced') });
  });

  it('bundle verify --key (no policy file) does not check scope, and says so', async () => {
    const { bytes, envelope } = await signed(issueObjects());
    const v = await verifyBundleBytes(bytes, envelope, { policy: testPolicy(['test-ed25519']), loadObjects: false });
    assert.equal(v.scopeCheck, 'skipped');
    assert.equal(v.scope, undefined);
  });
});
