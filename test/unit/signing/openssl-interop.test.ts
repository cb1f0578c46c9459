import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { policyFromPublicKeys } from '../../../src/policy/index.js';
import {
  buildStatement,
  keyIdOf,
  keySigner,
  loadPrivateKey,
  loadPublicKey,
  pae,
  serializeEnvelope,
  serializeStatement,
  signBundleDigest,
  IN_TOTO_PAYLOAD_TYPE,
  type SigningAlgorithm,
} from '../../../src/signing/index.js';
import { verifyBundleBytes } from '../../../src/verify/index.js';
import { expectCode, sampleBundle, tempDir, testSigner } from '../../helpers/bundle-fixtures.js';

const run = promisify(execFile);
const openssl = (args: string[]) => run('openssl', args);

/** openssl arguments per scheme, fixed (no shell). RSA-PSS pins salt length 32, as rollout-relay does. */
const SCHEMES: { alg: SigningAlgorithm; testKey: string; genpkey: string[]; sign: (key: string, data: string, sig: string) => string[]; verify: (pub: string, data: string, sig: string) => string[] }[] = [
  {
    alg: 'ecdsa-p256',
    testKey: 'test-ecdsa',
    genpkey: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    sign: (k, d, s) => ['dgst', '-sha256', '-sign', k, '-out', s, d],
    verify: (p, d, s) => ['dgst', '-sha256', '-verify', p, '-signature', s, d],
  },
  {
    alg: 'ed25519',
    testKey: 'test-ed25519',
    genpkey: ['-algorithm', 'ED25519'],
    sign: (k, d, s) => ['pkeyutl', '-sign', '-inkey', k, '-rawin', '-in', d, '-out', s],
    verify: (p, d, s) => ['pkeyutl', '-verify', '-pubin', '-inkey', p, '-rawin', '-in', d, '-sigfile', s],
  },
  {
    alg: 'rsa-pss-3072',
    testKey: 'test-rsa-pss',
    genpkey: ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:3072'],
    sign: (k, d, s) => ['dgst', '-sha256', '-sign', k, '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-out', s, d],
    verify: (p, d, s) => ['dgst', '-sha256', '-verify', p, '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-signature', s, d],
  },
];

describe('signing interop with openssl (real openssl binary)', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => void };
  before(() => (dir = tempDir()));
  after(() => dir.cleanup());

  for (const s of SCHEMES) {
    describe(s.alg, () => {
      it('a rollout-relay signature over the PAE verifies with openssl', async () => {
        const b = sampleBundle();
        const env = await signBundleDigest('a.bundle.tar', b.digest, b.index, [testSigner(s.testKey)]);
        const paeFile = join(dir.path, `${s.alg}.pae`);
        const sigFile = join(dir.path, `${s.alg}.sig`);
        writeFileSync(paeFile, pae(env.payloadType, Buffer.from(env.payload, 'base64')));
        writeFileSync(sigFile, Buffer.from(env.signatures[0]!.sig, 'base64'));
        const pub = join(dir.path, `${s.alg}.pub`);
        writeFileSync(pub, readFileSync(new URL(`../../../keys/test/${s.testKey}.pub`, import.meta.url)));
        const { stdout } = await openssl(s.verify(pub, paeFile, sigFile));
        assert.match(stdout, /Verified OK|Signature Verified Successfully/);
        // and a flipped PAE byte is refused by openssl too
        const bad = readFileSync(paeFile);
        bad[10] = bad[10]! ^ 1;
        writeFileSync(paeFile, bad);
        await assert.rejects(openssl(s.verify(pub, paeFile, sigFile)));
      });

      it('an openssl signature with an openssl genpkey key verifies in rollout-relay; key ids agree', async () => {
        const key = join(dir.path, `${s.alg}-ossl.key`);
        const pub = join(dir.path, `${s.alg}-ossl.pub`);
        await openssl(['genpkey', ...s.genpkey, '-out', key]);
        await openssl(['pkey', '-in', key, '-pubout', '-out', pub]);
        // The key id hashes the SPKI in the form openssl writes by default; for a key under the
        // RSASSA-PSS OID that is its rsaEncryption form (signing/key-identity.ts), made here by openssl.
        const der = s.alg === 'rsa-pss-3072'
          ? (await run('openssl', ['rsa', '-pubin', '-in', pub, '-RSAPublicKey_out', '-outform', 'DER'], { encoding: 'buffer' })).stdout
          : (await run('openssl', ['pkey', '-pubin', '-in', pub, '-outform', 'DER'], { encoding: 'buffer' })).stdout;
        let canonical = der;
        if (s.alg === 'rsa-pss-3072') {
          writeFileSync(join(dir.path, 'pkcs1.der'), der);
          canonical = (await run('openssl', ['rsa', '-RSAPublicKey_in', '-inform', 'DER', '-in', join(dir.path, 'pkcs1.der'), '-pubout', '-outform', 'DER'], { encoding: 'buffer' })).stdout;
        }
        const publicKey = loadPublicKey(readFileSync(pub), pub);
        assert.equal(keyIdOf(publicKey), createHash('sha256').update(canonical).digest('hex'));
        assert.equal(keySigner(loadPrivateKey(readFileSync(key), key)).algorithm, s.alg);

        const b = sampleBundle();
        const payload = serializeStatement(buildStatement('a.bundle.tar', b.digest, b.index));
        const paeFile = join(dir.path, `${s.alg}-ossl.pae`);
        const sigFile = join(dir.path, `${s.alg}-ossl.sig`);
        writeFileSync(paeFile, pae(IN_TOTO_PAYLOAD_TYPE, payload));
        await openssl(s.sign(key, paeFile, sigFile));
        const envelope = serializeEnvelope({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: keyIdOf(publicKey), sig: readFileSync(sigFile).toString('base64') }] });
        const policy = policyFromPublicKeys([{ pem: readFileSync(pub), origin: pub }]);
        const v = await verifyBundleBytes(b.bytes, envelope, { policy, target: 'shenzhen' });
        assert.deepEqual(v.keyIds, [keyIdOf(publicKey)]);
        assert.equal(v.digest, b.digest);
      });
    });
  }

  describe('rsa-pss salt length', () => it('refuses an RSA-PSS signature made with openssl default (maximum) salt length: BAD_SIGNATURE', async () => {
    const key = join(dir.path, 'rsa-pss-3072-ossl.key');
    const pub = join(dir.path, 'rsa-pss-3072-ossl.pub');
    const b = sampleBundle();
    const payload = serializeStatement(buildStatement('a.bundle.tar', b.digest, b.index));
    const paeFile = join(dir.path, 'max.pae');
    const sigFile = join(dir.path, 'max.sig');
    writeFileSync(paeFile, pae(IN_TOTO_PAYLOAD_TYPE, payload));
    await openssl(['dgst', '-sha256', '-sign', key, '-sigopt', 'rsa_padding_mode:pss', '-out', sigFile, paeFile]);
    const publicKey = loadPublicKey(readFileSync(pub), pub);
    const envelope = serializeEnvelope({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: keyIdOf(publicKey), sig: readFileSync(sigFile).toString('base64') }] });
    await expectCode(() => verifyBundleBytes(b.bytes, envelope, { policy: policyFromPublicKeys([{ pem: readFileSync(pub), origin: pub }]) }), 'BAD_SIGNATURE');
  }));
});
