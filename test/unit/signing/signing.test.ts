import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import {
  algorithmOf,
  checkEnvelopeSignatures,
  createSelfSignedCertificate,
  certificatePublicKey,
  decodeBase64Strict,
  generateSigningKeyPair,
  keyIdOf,
  keySigner,
  loadPrivateKey,
  loadPublicKey,
  pae,
  parseEnvelope,
  parseStatement,
  serializeEnvelope,
  signBundleDigest,
  toSigstoreBundle,
  BUNDLE_PREDICATE_TYPE,
  STATEMENT_TYPE,
  SIGNING_ALGORITHMS,
} from '../../../src/signing/index.js';
import { vector } from '../../fixtures/dsse/generate.js';
import { expectCode, sampleBundle, testKeyPem, testSigner } from '../../helpers/bundle-fixtures.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/dsse/${name}`, import.meta.url));

describe('signing: DSSE, in-toto, keys', () => {
  it('PAE matches the DSSE specification example byte for byte', () => {
    assert.equal(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    assert.equal(pae('t', Buffer.alloc(0)).toString(), 'DSSEv1 1 t 0 ');
    // lengths are byte lengths, not character counts
    assert.equal(pae('ü', Buffer.from('é')).toString(), 'DSSEv1 2 ü 2 é');
  });

  it('reproduces the checked-in test vector exactly (bundle bytes and Ed25519 envelope)', async () => {
    const v = await vector();
    assert.ok(v.bundle.equals(fixture('sample.bundle.tar')), 'bundle bytes changed: canonical form, index or tar layout drifted');
    assert.equal(v.envelope, fixture('sample.bundle.tar.sig.json').toString('utf8'));
  });

  it('the statement is in-toto v1 with subject = bundle sha256 and predicate = index metadata', async () => {
    const b = sampleBundle();
    const env = await signBundleDigest('x.bundle.tar', b.digest, b.index, [testSigner('test-ecdsa')]);
    const st = parseStatement(Buffer.from(env.payload, 'base64'));
    assert.equal(st._type, STATEMENT_TYPE);
    assert.equal(st.predicateType, BUNDLE_PREDICATE_TYPE);
    assert.deepEqual(st.subject, [{ name: 'x.bundle.tar', digest: { sha256: b.digest } }]);
    assert.equal(st.predicate.sequence, 7);
    assert.equal((st.predicate as Record<string, unknown>).files, undefined);
    assert.equal(env.payloadType, 'application/vnd.in-toto+json');
    // ECDSA signatures are ASN.1 DER: SEQUENCE { INTEGER r, INTEGER s }
    assert.equal(Buffer.from(env.signatures[0]!.sig, 'base64')[0], 0x30);
  });

  it('signs and checks with every scheme; a signature under the wrong key id is "bad"', async () => {
    for (const alg of SIGNING_ALGORITHMS) {
      const { privateKey, publicKey } = alg === 'rsa-pss-3072' ? { privateKey: loadPrivateKey(testKeyPem('test-rsa-pss', 'key'), 'k'), publicKey: loadPublicKey(testKeyPem('test-rsa-pss', 'pub'), 'p') } : generateSigningKeyPair(alg);
      const signer = keySigner(privateKey);
      assert.equal(signer.algorithm, alg);
      assert.equal(signer.keyId, keyIdOf(publicKey));
      const b = sampleBundle();
      const env = await signBundleDigest('x', b.digest, b.index, [signer]);
      const key = { name: alg, keyId: signer.keyId, algorithm: alg, publicKey };
      assert.equal(checkEnvelopeSignatures(env, [key]).checks[0]!.result, 'valid');
      const other = generateSigningKeyPair('ed25519').publicKey;
      assert.equal(checkEnvelopeSignatures(env, [{ ...key, publicKey: other, algorithm: 'ed25519' }]).checks[0]!.result, 'bad');
      assert.equal(checkEnvelopeSignatures(env, []).checks[0]!.result, 'unknown-key');
      // no keyid: every trusted key is tried
      const anon = { ...env, signatures: [{ sig: env.signatures[0]!.sig }] };
      assert.equal(checkEnvelopeSignatures(anon, [key]).checks[0]!.result, 'valid');
    }
  });

  it('refuses unsupported keys with KEY_INVALID (P-384, RSA-2048, garbage)', async () => {
    await expectCode(() => algorithmOf(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey), 'KEY_INVALID');
    await expectCode(() => algorithmOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey), 'KEY_INVALID');
    await expectCode(() => loadPublicKey('not a key', 'x'), 'KEY_INVALID');
    await expectCode(() => loadPrivateKey(testKeyPem('test-ecdsa', 'pub'), 'x'), 'KEY_INVALID');
  });

  it('refuses the same signer twice (a threshold counts distinct keys)', async () => {
    const b = sampleBundle();
    await expectCode(() => signBundleDigest('x', b.digest, b.index, [testSigner('test-ecdsa'), testSigner('test-ecdsa')]), 'USAGE');
  });

  it('parses envelopes strictly (MALFORMED / UNSUPPORTED_FORMAT / TOO_LARGE)', async () => {
    const good = fixture('sample.bundle.tar.sig.json').toString();
    const env = parseEnvelope(good);
    assert.equal(serializeEnvelope(env), good);
    await expectCode(() => parseEnvelope('{'), 'MALFORMED');
    await expectCode(() => parseEnvelope(JSON.stringify({ ...env, extra: 1 })), 'MALFORMED');
    await expectCode(() => parseEnvelope(JSON.stringify({ ...env, signatures: [] })), 'MALFORMED');
    await expectCode(() => parseEnvelope(JSON.stringify({ ...env, payloadType: 'text/plain' })), 'UNSUPPORTED_FORMAT');
    await expectCode(() => parseEnvelope(JSON.stringify({ ...env, payload: env.payload.replace(/=*$/, '') + ' ' })), 'MALFORMED');
    await expectCode(() => parseEnvelope(JSON.stringify({ ...env, signatures: [{ keyid: 'ABC', sig: env.signatures[0]!.sig }] })), 'MALFORMED');
    await expectCode(() => parseEnvelope(Buffer.alloc(5 * 1024 * 1024, 0x20)), 'TOO_LARGE');
  });

  it('decodes only canonical standard base64', async () => {
    assert.equal(decodeBase64Strict('QQ==', 'x').toString(), 'A');
    for (const bad of ['QR==', 'QQ', 'Q Q==', 'QQ==\n', '-_==', 'QQ=']) await expectCode(() => decodeBase64Strict(bad, 'x'), 'MALFORMED');
  });

  it('makes self-signed X.509 certificates for every scheme that node and the policy accept', async () => {
    for (const alg of SIGNING_ALGORITHMS) {
      const { privateKey, publicKey } = alg === 'rsa-pss-3072' ? { privateKey: loadPrivateKey(testKeyPem('test-rsa-pss', 'key'), 'k'), publicKey: loadPublicKey(testKeyPem('test-rsa-pss', 'pub'), 'p') } : generateSigningKeyPair(alg);
      const pem = createSelfSignedCertificate(privateKey, { commonName: `signer-${alg}`, days: 2 });
      const cert = new X509Certificate(pem);
      assert.ok(cert.verify(publicKey), `${alg}: self-signature`);
      assert.equal(cert.subject, `CN=signer-${alg}`);
      assert.equal(keyIdOf(certificatePublicKey(pem, alg).publicKey), keyIdOf(publicKey));
      await expectCode(() => certificatePublicKey(pem, alg, { now: new Date(Date.now() + 3 * 86_400_000) }), 'KEY_INVALID');
    }
    await expectCode(() => certificatePublicKey('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'x'), 'KEY_INVALID');
  });

  describe('Sigstore bundle v0.3 accepted by @sigstore/verify', () => {
    const trustedRoot = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };
    for (const name of ['test-ecdsa', 'test-ed25519', 'test-rsa-pss']) {
      it(`${name}: verifies, and a changed payload is rejected`, async () => {
        const b = sampleBundle();
        const signer = testSigner(name);
        const env = await signBundleDigest('x', b.digest, b.index, [signer]);
        const json = toSigstoreBundle(env);
        assert.equal(json.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
        const publicKey = loadPublicKey(testKeyPem(name, 'pub'), name);
        const material = toTrustMaterial(trustedRoot as never, (hint: string) => {
          assert.equal(hint, signer.keyId);
          return { publicKey, validFor: () => true };
        });
        const verifier = new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
        verifier.verify(toSignedEntity(bundleFromJSON(json)));
        const tampered = structuredClone(json);
        const payload = JSON.parse(Buffer.from(tampered.dsseEnvelope.payload, 'base64').toString()) as { predicate: { sequence: number } };
        payload.predicate.sequence = 999;
        tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
        assert.throws(() => verifier.verify(toSignedEntity(bundleFromJSON(tampered))), /signature/i);
      });
    }
  });
});
