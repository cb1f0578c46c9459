import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySequenceStore, parseTrustPolicy, type TrustPolicy } from '../../../src/policy/index.js';
import { parseEnvelope, serializeEnvelope, signBundleDigest } from '../../../src/signing/index.js';
import { signBundleFile, verifyBundleBytes, verifyBundleFile } from '../../../src/verify/index.js';
import { writeBundleFile } from '../../../src/bundle/index.js';
import { expectCode, sampleBundle, sampleMeta, sampleObjects, signedSample, tempDir, testPolicy, testSigner, TEST_KEYS } from '../../helpers/bundle-fixtures.js';
import { rawTar } from '../../helpers/raw-tar.js';
import { buildIndex, fileEntry, serializeIndex } from '../../../src/bundle/index.js';

function policy(keys: { name: string; file: string; extra?: string }[], threshold = 1, extra = ''): TrustPolicy {
  const list = keys.map((k) => `  - name: ${k.name}\n    publicKey: ${join(TEST_KEYS, `${k.file}.pub`)}\n${k.extra ?? ''}`).join('');
  return parseTrustPolicy(`apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nthreshold: ${threshold}\n${extra}keys:\n${list}`);
}

const THREE = [
  { name: 'ec', file: 'test-ecdsa' },
  { name: 'ed', file: 'test-ed25519' },
  { name: 'rsa', file: 'test-rsa-pss' },
];

/** Replaces one signature's bytes with a valid-looking but wrong signature. */
function corruptSignature(envelope: string, index: number): string {
  const env = parseEnvelope(envelope);
  const sig = Buffer.from(env.signatures[index]!.sig, 'base64');
  sig[sig.length - 2] = sig[sig.length - 2]! ^ 0x01;
  env.signatures[index]!.sig = sig.toString('base64');
  return serializeEnvelope(env);
}

describe('verify: bundle + signature + policy', () => {
  it('accepts a good bundle and reports keys, threshold and skipped checks', async () => {
    const { bundle, envelope } = await signedSample(['test-ed25519']);
    const v = await verifyBundleBytes(bundle.bytes, envelope, { policy: testPolicy(['test-ed25519']) });
    assert.equal(v.digest, bundle.digest);
    assert.deepEqual(v.objects, bundle.objects);
    assert.equal(v.keyIds.length, 1);
    assert.equal(v.sequenceCheck, 'skipped');
    assert.equal(v.targetCheck, 'skipped');
  });

  it('DIGEST_MISMATCH: a bundle that is not the signed one', async () => {
    const { envelope } = await signedSample(['test-ed25519']);
    const other = sampleBundle({ sequence: 8 });
    await expectCode(() => verifyBundleBytes(other.bytes, envelope, { policy: testPolicy(['test-ed25519']) }), 'DIGEST_MISMATCH');
    const { bundle } = await signedSample(['test-ed25519']);
    const flipped = Buffer.from(bundle.bytes);
    flipped[3000] = flipped[3000]! ^ 0x20;
    await expectCode(() => verifyBundleBytes(flipped, envelope, { policy: testPolicy(['test-ed25519']) }), 'DIGEST_MISMATCH');
  });

  it('BAD_SIGNATURE: the signature does not verify under the named trusted key', async () => {
    const { bundle, envelope } = await signedSample(['test-ed25519']);
    await expectCode(() => verifyBundleBytes(bundle.bytes, corruptSignature(envelope, 0), { policy: testPolicy(['test-ed25519']) }), 'BAD_SIGNATURE');
  });

  it('UNKNOWN_KEY: signed by a key that is not trusted', async () => {
    const { bundle, envelope } = await signedSample(['test-ecdsa']);
    await expectCode(() => verifyBundleBytes(bundle.bytes, envelope, { policy: testPolicy(['test-ed25519']) }), 'UNKNOWN_KEY');
  });

  it('2-of-3 threshold: two good signatures and one bad are accepted; one good and one bad are refused', async () => {
    const p = policy(THREE, 2);
    const { bundle, envelope } = await signedSample(['test-ecdsa', 'test-ed25519', 'test-rsa-pss']);
    const oneBad = corruptSignature(envelope, 2);
    const v = await verifyBundleBytes(bundle.bytes, oneBad, { policy: p });
    assert.deepEqual(v.keyNames.sort(), ['ec', 'ed']);
    assert.deepEqual(v.ignoredSignatures.map((s) => s.reason), ['signature does not verify']);
    const twoBad = corruptSignature(oneBad, 1);
    await expectCode(() => verifyBundleBytes(bundle.bytes, twoBad, { policy: p }), 'BAD_SIGNATURE');
  });

  it('THRESHOLD_NOT_MET: fewer distinct trusted keys than required (duplicates count once)', async () => {
    const p = policy(THREE, 2);
    const { bundle, envelope } = await signedSample(['test-ecdsa']);
    await expectCode(() => verifyBundleBytes(bundle.bytes, envelope, { policy: p }), 'THRESHOLD_NOT_MET');
    const env = parseEnvelope(envelope);
    const doubled = serializeEnvelope({ ...env, signatures: [env.signatures[0]!, env.signatures[0]!] });
    await expectCode(() => verifyBundleBytes(bundle.bytes, doubled, { policy: p }), 'THRESHOLD_NOT_MET');
  });

  it('key rotation: the old key revoked in the policy is refused; the new key is accepted', async () => {
    const rotated = policy([{ name: 'old', file: 'test-ed25519-old', extra: '    revoked: true\n' }, { name: 'new', file: 'test-ed25519' }]);
    const old = await signedSample(['test-ed25519-old']);
    const e = await expectCode(() => verifyBundleBytes(old.bundle.bytes, old.envelope, { policy: rotated }), 'UNKNOWN_KEY');
    assert.match(e.message, /revoked/);
    const fresh = await signedSample(['test-ed25519']);
    assert.deepEqual((await verifyBundleBytes(fresh.bundle.bytes, fresh.envelope, { policy: rotated })).keyNames, ['new']);
    // before revocation, during the overlap, both verify
    const overlap = policy([{ name: 'old', file: 'test-ed25519-old' }, { name: 'new', file: 'test-ed25519' }]);
    await verifyBundleBytes(old.bundle.bytes, old.envelope, { policy: overlap });
  });

  it('EXPIRED: past expiresAt', async () => {
    const { bundle, envelope } = await signedSample(['test-ed25519']);
    await expectCode(() => verifyBundleBytes(bundle.bytes, envelope, { policy: testPolicy(['test-ed25519']), now: new Date('2100-01-01T00:00:00Z') }), 'EXPIRED');
  });

  it('TARGET_NOT_ALLOWED: by the bundle targets and by the key targets', async () => {
    const { bundle, envelope } = await signedSample(['test-ed25519']);
    await expectCode(() => verifyBundleBytes(bundle.bytes, envelope, { policy: testPolicy(['test-ed25519']), target: 'hongkong' }), 'TARGET_NOT_ALLOWED');
    const any = await signedSample(['test-ed25519'], { targets: [] });
    const restricted = policy([{ name: 'ed', file: 'test-ed25519', extra: '    targets: [shenzhen]\n' }]);
    await verifyBundleBytes(any.bundle.bytes, any.envelope, { policy: restricted, target: 'shenzhen' });
    await expectCode(() => verifyBundleBytes(any.bundle.bytes, any.envelope, { policy: restricted, target: 'hongkong' }), 'TARGET_NOT_ALLOWED');
  });

  it('SOURCE_NOT_ALLOWED: the key may not sign bundles from this source cluster', async () => {
    const { bundle, envelope } = await signedSample(['test-ed25519']);
    const p = policy([{ name: 'ed', file: 'test-ed25519', extra: '    sources: [beijing]\n' }]);
    await expectCode(() => verifyBundleBytes(bundle.bytes, envelope, { policy: p, target: 'shenzhen' }), 'SOURCE_NOT_ALLOWED');
  });

  it('ROLLBACK: replaying the same sequence or an older one on a target; newer ones pass', async () => {
    const store = new MemorySequenceStore();
    const p = testPolicy(['test-ed25519']);
    const s7 = await signedSample(['test-ed25519']);
    const v = await verifyBundleBytes(s7.bundle.bytes, s7.envelope, { policy: p, target: 'shenzhen', stateStore: store });
    assert.equal(v.sequenceCheck, 'passed');
    assert.equal(await store.get('shop/web', 'shenzhen'), 7);
    await expectCode(() => verifyBundleBytes(s7.bundle.bytes, s7.envelope, { policy: p, target: 'shenzhen', stateStore: store }), 'ROLLBACK');
    const s6 = await signedSample(['test-ed25519'], { sequence: 6 });
    await expectCode(() => verifyBundleBytes(s6.bundle.bytes, s6.envelope, { policy: p, target: 'shenzhen', stateStore: store }), 'ROLLBACK');
    const s8 = await signedSample(['test-ed25519'], { sequence: 8 });
    const v8 = await verifyBundleBytes(s8.bundle.bytes, s8.envelope, { policy: p, target: 'shenzhen', stateStore: store, commitSequence: false });
    assert.equal(v8.previousSequence, 7);
    assert.equal(await store.get('shop/web', 'shenzhen'), 7, 'commitSequence: false leaves the store alone');
    await expectCode(() => verifyBundleBytes(s8.bundle.bytes, s8.envelope, { policy: p, stateStore: store }), 'USAGE');
  });

  it('refuses a signed but hostile tar with its structural code (UNSAFE_ENTRY), not a pass', async () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n';
    const good = { name: 'manifests/00001-configmap-_-c.yaml', data: cm };
    const index = buildIndex(sampleMeta(), [fileEntry({ path: good.name, data: Buffer.from(cm) })]);
    const bytes = rawTar([{ name: 'index.json', data: serializeIndex(index) }, { name: good.name, type: '2', linkname: '/etc/shadow' }, good]);
    const { createHash } = await import('node:crypto');
    const env = await signBundleDigest('evil.tar', createHash('sha256').update(bytes).digest('hex'), index, [testSigner('test-ed25519')]);
    await expectCode(() => verifyBundleBytes(bytes, serializeEnvelope(env), { policy: testPolicy(['test-ed25519']) }), 'UNSAFE_ENTRY');
  });

  it('MALFORMED: index.json that disagrees with the signed predicate', async () => {
    const b = sampleBundle();
    const other = sampleBundle({ sequence: 99 });
    const env = await signBundleDigest('x', b.digest, other.index, [testSigner('test-ed25519')]);
    await expectCode(() => verifyBundleBytes(b.bytes, serializeEnvelope(env), { policy: testPolicy(['test-ed25519']) }), 'MALFORMED');
  });

  it('TOO_LARGE: bundle above the policy maxBundleBytes', async () => {
    const { bundle, envelope } = await signedSample(['test-ed25519']);
    const p = policy([{ name: 'ed', file: 'test-ed25519' }], 1, 'maxBundleBytes: 2048\n');
    await expectCode(() => verifyBundleBytes(bundle.bytes, envelope, { policy: p }), 'TOO_LARGE');
  });

  describe('files', () => {
    let dir: { path: string; cleanup: () => void };
    beforeEach(() => (dir = tempDir()));
    afterEach(() => dir.cleanup());

    it('signBundleFile + verifyBundleFile with the default <bundle>.sig.json and an inline envelope', async () => {
      const path = join(dir.path, 'a.bundle.tar');
      await writeBundleFile(path, sampleObjects(), sampleMeta());
      const signed = await signBundleFile({ bundlePath: path, signers: [testSigner('test-ecdsa')] });
      assert.equal(signed.signaturePath, `${path}.sig.json`);
      const v = await verifyBundleFile({ bundlePath: path, policy: testPolicy(['test-ecdsa']), target: 'shenzhen' });
      assert.equal(v.objects.length, 4);
      const inline = await verifyBundleFile({ bundlePath: path, envelope: readFileSync(`${path}.sig.json`), policy: testPolicy(['test-ecdsa']), loadObjects: false });
      assert.deepEqual(inline.objects, []);
      writeFileSync(`${path}.sig.json`, '{}');
      await expectCode(() => verifyBundleFile({ bundlePath: path, policy: testPolicy(['test-ecdsa']) }), 'MALFORMED');
    });

    it('never signs a damaged bundle', async () => {
      const path = join(dir.path, 'bad.tar');
      writeFileSync(path, rawTar([{ name: '../x', data: 'x' }]));
      await expectCode(() => signBundleFile({ bundlePath: path, signers: [testSigner('test-ecdsa')] }), 'UNSAFE_ENTRY');
    });
  });
});
