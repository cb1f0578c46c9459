import assert from 'node:assert/strict';
import type { KubeObject, TargetDifferences } from '../../../src/bundle/index.js';
import { verifyBundleBytes } from '../../../src/verify/index.js';
import { expectCode, signedSample, testPolicy } from '../../helpers/bundle-fixtures.js';

const shenzhen: TargetDifferences = {
  target: 'shenzhen',
  overrides: [{ name: 'db', select: { kind: 'ConfigMap' }, mergePatch: { data: { db: 'dr-db.internal' } } }],
  ignoreFields: [{ group: 'apps', kind: 'Deployment', pointers: ['/spec/replicas'] }],
};
const policy = () => testPolicy(['test-ed25519']);
const configMapOf = (objects: KubeObject[]) => objects.find((o) => o.kind === 'ConfigMap') as KubeObject & { data: Record<string, string> };

describe('verify: signed per-target overrides', () => {
  it('applies the target\'s overrides to the verified objects and reports them with the file digest', async () => {
    const { bundle, envelope } = await signedSample(['test-ed25519'], { differences: [shenzhen] });
    const v = await verifyBundleBytes(bundle.bytes, envelope, { policy: policy(), target: 'shenzhen' });
    assert.equal(configMapOf(v.objects).data.db, 'dr-db.internal');
    const file = bundle.index.files.find((f) => f.path === 'overrides/shenzhen.json')!;
    assert.equal(v.differences?.digest, `sha256:${file.sha256}`);
    assert.deepEqual(v.differences?.applied, [{ name: 'db', type: 'mergePatch', objects: ['ConfigMap shop/web-config'] }]);
    assert.deepEqual(v.differences?.ignoreFields, shenzhen.ignoreFields);
    // Without a target nothing is patched (and nothing claims it was).
    const plain = await verifyBundleBytes(bundle.bytes, envelope, { policy: policy() });
    assert.equal(configMapOf(plain.objects).data.db, undefined);
    assert.equal(plain.differences, undefined);
  });

  it('streaming verification (objects not kept) applies the overrides before the scope check too', async () => {
    const { bundle, envelope } = await signedSample(['test-ed25519'], { differences: [{ ...shenzhen, overrides: [{ name: 'typo', select: { kind: 'Ingres' }, mergePatch: { a: 1 } }] }] });
    const err = await expectCode(() => verifyBundleBytes(bundle.bytes, envelope, { policy: policy(), target: 'shenzhen', loadObjects: false }), 'PREFLIGHT_FAILED');
    assert.match(err.message, /override "typo": its selector matches no object/);
  });

  it('tampering with an overrides file inside a signed bundle is DIGEST_MISMATCH', async () => {
    const { bundle, envelope } = await signedSample(['test-ed25519'], { differences: [shenzhen] });
    const at = bundle.bytes.indexOf('dr-db.internal');
    assert.ok(at > 0);
    const tampered = Buffer.from(bundle.bytes);
    tampered.write('ev-db.internal', at);
    await expectCode(() => verifyBundleBytes(tampered, envelope, { policy: policy(), target: 'shenzhen' }), 'DIGEST_MISMATCH');
  });

  it('a signed override that does not apply is PREFLIGHT_FAILED naming it, before anything is returned to apply', async () => {
    const bad: TargetDifferences = { target: 'shenzhen', overrides: [{ name: 'host', select: { kind: 'Deployment' }, jsonPatch: [{ op: 'replace', path: '/spec/rules/0/host', value: 'x' }] }], ignoreFields: [] };
    const { bundle, envelope } = await signedSample(['test-ed25519'], { differences: [bad] });
    const err = await expectCode(() => verifyBundleBytes(bundle.bytes, envelope, { policy: policy(), target: 'shenzhen' }), 'PREFLIGHT_FAILED');
    assert.match(err.message, /override "host" does not apply to apps\/Deployment shop\/web/);
  });
});
