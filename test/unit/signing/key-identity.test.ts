import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseTrustPolicy, policyFromPublicKeys } from '../../../src/policy/index.js';
import { keyIdentity, keyIdOf, keySigner, loadPrivateKey, loadPublicKey, pae, serializeEnvelope, signBundleDigest, signBytes, IN_TOTO_PAYLOAD_TYPE } from '../../../src/signing/index.js';
import { verifyBundleBytes } from '../../../src/verify/index.js';
import { runCli } from '../cli/run-cli.js';
import { expectCode, sampleBundle, tempDir, testKeyPem, testSigner, TEST_KEYS } from '../../helpers/bundle-fixtures.js';

const run = promisify(execFile);
const openssl = async (args: string[]) => (await run('openssl', args, { encoding: 'buffer' })).stdout;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pem = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;

/** Ids of the committed test keys in the form `keys generate` and openssl write by default. */
const EC_ID = '0ed5832b3fa7d61c33cc973855912c6a725e867cdb68f3fd7b4dd6256ad13248';
const ED_ID = '45cc48b3b875fb13e7a105409dff718364fb5f48e8357759d587fee3b51b12d0';
/** test-rsa-pss: canonical (rsaEncryption) id, and the id of its id-RSASSA-PSS file as written before. */
const RSA_ID = 'bae3e867e027b63681665b91c49ce8e9ad18dede53b78a03853877d01f1dd553';
const RSA_PSS_FILE_ID = '0adce4ad220c75b3870bd66dd080e371187f819fc66ac6d324b2fc30e32962dd';

/** DER TLV with a definite length (enough for hand-built SPKIs). */
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const RSASSA_PSS_OID = Buffer.from('06092a864886f70d01010a', 'hex');
/** An SPKI whose BIT STRING holds `rsaPublicKey` under id-RSASSA-PSS with the given parameters (or none). */
const pssSpki = (rsaPublicKey: Buffer, params?: Buffer) =>
  tlv(0x30, Buffer.concat([tlv(0x30, Buffer.concat([RSASSA_PSS_OID, ...(params ? [params] : [])])), tlv(0x03, Buffer.concat([Buffer.from([0]), rsaPublicKey]))]));

describe('canonical key identity: one key is one key in every encoding', function () {
  this.timeout(180_000);
  let dir: { path: string; cleanup: () => void };
  const variants: Record<string, { file: string; alg: 'ec' | 'rsa' }> = {};
  const f = (name: string) => join(dir.path, name);

  before(async () => {
    dir = tempDir();
    const ecKey = join(TEST_KEYS, 'test-ecdsa.key');
    // Every encoding openssl writes for the same P-256 key.
    for (const form of ['uncompressed', 'compressed', 'hybrid']) {
      for (const params of ['named_curve', 'explicit']) {
        const name = `ec-${form}-${params}.pub`;
        await openssl(['ec', '-in', ecKey, '-pubout', '-conv_form', form, '-param_enc', params, '-out', f(name)]);
        variants[name] = { file: f(name), alg: 'ec' };
      }
    }
    // The same RSA key: id-RSASSA-PSS with SHA-256 parameters (the committed file), rsaEncryption,
    // PKCS#1 RSAPublicKey, and id-RSASSA-PSS without parameters (what `openssl genpkey -algorithm RSA-PSS` writes).
    const pssDer = await openssl(['pkey', '-pubin', '-in', join(TEST_KEYS, 'test-rsa-pss.pub'), '-outform', 'DER']);
    writeFileSync(f('rsa-pss-params.der'), pssDer);
    const bitString = (await openssl(['asn1parse', '-inform', 'DER', '-in', f('rsa-pss-params.der')])).toString().split('\n').find((l) => l.includes('BIT STRING') && l.includes('d=1'))!;
    await openssl(['asn1parse', '-inform', 'DER', '-in', f('rsa-pss-params.der'), '-strparse', bitString.split(':')[0]!.trim(), '-out', f('rsa.pkcs1.der'), '-noout']);
    const rsaPublicKey = readFileSync(f('rsa.pkcs1.der'));
    await openssl(['rsa', '-RSAPublicKey_in', '-inform', 'DER', '-in', f('rsa.pkcs1.der'), '-pubout', '-out', f('rsa-rsaEncryption.pub')]);
    writeFileSync(f('rsa-pkcs1.pub'), pem('RSA PUBLIC KEY', rsaPublicKey));
    writeFileSync(f('rsa-pss-noparams.pub'), pem('PUBLIC KEY', pssSpki(rsaPublicKey)));
    // openssl itself must read the hand-built encoding, or the test proves nothing.
    await openssl(['pkey', '-pubin', '-in', f('rsa-pss-noparams.pub'), '-noout']);
    writeFileSync(f('rsa-pss-params.pub'), testKeyPem('test-rsa-pss', 'pub'));
    for (const name of ['rsa-pss-params.pub', 'rsa-rsaEncryption.pub', 'rsa-pkcs1.pub', 'rsa-pss-noparams.pub']) variants[name] = { file: f(name), alg: 'rsa' };
  });
  after(() => dir.cleanup());

  it('every EC P-256 encoding (compressed, hybrid, explicit parameters) has the id of the default form', async () => {
    const ecNames = Object.keys(variants).filter((n) => variants[n]!.alg === 'ec');
    assert.equal(ecNames.length, 6);
    const written = new Set<string>();
    for (const name of ecNames) {
      const file = variants[name]!.file;
      written.add(sha256(await openssl(['pkey', '-pubin', '-in', file, '-outform', 'DER'])));
      assert.equal(keyIdOf(loadPublicKey(readFileSync(file), name)), EC_ID, name);
      // openssl's own conversion to named curve + uncompressed point gives the same bytes we hash.
      const canonical = await openssl(['ec', '-pubin', '-in', file, '-param_enc', 'named_curve', '-conv_form', 'uncompressed', '-pubout', '-outform', 'DER']);
      assert.equal(sha256(canonical), EC_ID, name);
    }
    assert.ok(written.size >= 5, 'the encodings really differ byte-wise');
  });

  it('every RSA encoding (rsaEncryption, PKCS#1, RSASSA-PSS with and without parameters) has one id', async () => {
    const opensslRsaEncryption = sha256(await openssl(['pkey', '-pubin', '-in', f('rsa-rsaEncryption.pub'), '-outform', 'DER']));
    assert.equal(opensslRsaEncryption, RSA_ID, 'the canonical id is the hash of the rsaEncryption SPKI openssl writes');
    for (const name of Object.keys(variants).filter((n) => variants[n]!.alg === 'rsa')) {
      const key = loadPublicKey(readFileSync(variants[name]!.file), name);
      assert.equal(keyIdOf(key), RSA_ID, name);
    }
    const legacy = keyIdentity(loadPublicKey(testKeyPem('test-rsa-pss', 'pub'), 'p'));
    assert.deepEqual(legacy.aliasKeyIds, [RSA_PSS_FILE_ID], 'the id it had as written is kept as an alias');
    assert.deepEqual(keyIdentity(loadPublicKey(readFileSync(f('rsa-rsaEncryption.pub')), 'r')).aliasKeyIds, []);
  });

  it('Ed25519 has one encoding; a variant with parameters is not a key (KEY_INVALID)', async () => {
    const der = createPublicKey(testKeyPem('test-ed25519', 'pub')).export({ type: 'spki', format: 'der' });
    assert.equal(keyIdOf(loadPublicKey(testKeyPem('test-ed25519', 'pub'), 'ed')), ED_ID);
    assert.equal(sha256(der), ED_ID);
    const withNull = Buffer.concat([Buffer.from('302c300706032b65700500', 'hex'), der.subarray(12)]);
    await expectCode(() => loadPublicKey(pem('PUBLIC KEY', withNull), 'ed-null'), 'KEY_INVALID');
  });

  it('private keys in other encodings sign under the canonical key id', async () => {
    await openssl(['ec', '-in', join(TEST_KEYS, 'test-ecdsa.key'), '-param_enc', 'explicit', '-conv_form', 'compressed', '-out', f('ec-explicit.key')]);
    const signer = keySigner(loadPrivateKey(readFileSync(f('ec-explicit.key')), 'ec-explicit.key'));
    assert.equal(signer.keyId, EC_ID);
    assert.equal(testSigner('test-rsa-pss').keyId, RSA_ID);
  });

  it('a policy listing one key twice in two encodings is refused (POLICY_INVALID), also to re-admit a revoked key', async () => {
    const inline = (file: string) => readFileSync(file, 'utf8').trimEnd().replace(/^/gm, '      ') + '\n';
    for (const [a, b] of [['ec-uncompressed-named_curve.pub', 'ec-compressed-named_curve.pub'], ['ec-uncompressed-named_curve.pub', 'ec-hybrid-explicit.pub'], ['rsa-pss-params.pub', 'rsa-rsaEncryption.pub'], ['rsa-rsaEncryption.pub', 'rsa-pss-noparams.pub']]) {
      for (const revoked of [false, true]) {
        const text = `apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nthreshold: 1\nkeys:\n  - name: one\n    revoked: ${revoked}\n    publicKey: |\n${inline(variants[a!]!.file)}  - name: two\n    publicKey: |\n${inline(variants[b!]!.file)}  - name: ed\n    publicKey: |\n${testKeyPem('test-ed25519', 'pub').replace(/^/gm, '      ')}`;
        const err = await expectCode(() => parseTrustPolicy(text), 'POLICY_INVALID');
        assert.match(err.message, /same key/);
      }
    }
  });

  it('--key de-duplicates by canonical id: two encodings of one key cannot meet a threshold of 2', async () => {
    const pems = ['ec-uncompressed-named_curve.pub', 'ec-compressed-explicit.pub'].map((n) => ({ pem: readFileSync(variants[n]!.file), origin: n }));
    assert.equal(policyFromPublicKeys(pems).keys.length, 1);
    await expectCode(() => policyFromPublicKeys(pems, 2), 'USAGE');
  });

  it('a key given in another encoding verifies signatures made under the canonical id', async () => {
    const { bundle, envelope } = await (async () => {
      const b = sampleBundle();
      return { bundle: b, envelope: serializeEnvelope(await signBundleDigest('app.bundle.tar', b.digest, b.index, [testSigner('test-ecdsa')])) };
    })();
    const policy = policyFromPublicKeys([{ pem: readFileSync(variants['ec-hybrid-explicit.pub']!.file), origin: 'hybrid' }]);
    const v = await verifyBundleBytes(bundle.bytes, envelope, { policy, target: 'shenzhen' });
    assert.deepEqual(v.keyIds, [EC_ID]);
  });

  it('one signer naming itself by its canonical id and by its old id counts once', async () => {
    const b = sampleBundle();
    const env = JSON.parse(serializeEnvelope(await signBundleDigest('app.bundle.tar', b.digest, b.index, [testSigner('test-rsa-pss')]))) as { payload: string; signatures: { keyid: string; sig: string }[] };
    const payload = Buffer.from(env.payload, 'base64');
    const second = signBytes('rsa-pss-3072', loadPrivateKey(testKeyPem('test-rsa-pss', 'key'), 'k'), pae(IN_TOTO_PAYLOAD_TYPE, payload)).toString('base64');
    env.signatures.push({ keyid: RSA_PSS_FILE_ID, sig: second });
    const policy = policyFromPublicKeys(['test-rsa-pss', 'test-ed25519'].map((n) => ({ pem: testKeyPem(n, 'pub'), origin: n })), 2);
    await expectCode(() => verifyBundleBytes(b.bytes, JSON.stringify(env), { policy, target: 'shenzhen' }), 'THRESHOLD_NOT_MET');
  });

  it('an envelope made before ids were canonical (keyid = the id of the file as written) still verifies', async () => {
    const b = sampleBundle();
    const env = JSON.parse(serializeEnvelope(await signBundleDigest('app.bundle.tar', b.digest, b.index, [testSigner('test-rsa-pss')]))) as { signatures: { keyid: string }[] };
    assert.equal(env.signatures[0]!.keyid, RSA_ID, 'new envelopes name the canonical id');
    env.signatures[0]!.keyid = RSA_PSS_FILE_ID;
    const policy = parseTrustPolicy(`apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nkeys:\n  - name: rsa\n    keyId: ${RSA_PSS_FILE_ID}\n    publicKey: ${join(TEST_KEYS, 'test-rsa-pss.pub')}\n`);
    assert.equal(policy.keys[0]!.keyId, RSA_ID, 'a policy pinning the old id still loads');
    const v = await verifyBundleBytes(b.bytes, JSON.stringify(env), { policy, target: 'shenzhen' });
    assert.deepEqual(v.keyIds, [RSA_ID]);
  });

  it('keys id prints the canonical id for any encoding', async () => {
    for (const [name, id] of [['ec-compressed-explicit.pub', EC_ID], ['rsa-pss-noparams.pub', RSA_ID]] as const) {
      const r = await runCli(['keys', 'id', variants[name]!.file]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split(' ')[0], id);
    }
  });
});
