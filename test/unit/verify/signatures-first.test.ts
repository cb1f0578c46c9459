import { parseTrustPolicy } from '../../../src/policy/index.js';
import { IN_TOTO_PAYLOAD_TYPE, pae, serializeEnvelope } from '../../../src/signing/index.js';
import { verifyBundleBytes } from '../../../src/verify/index.js';
import { expectCode, sampleBundle, TEST_KEYS, testSigner } from '../../helpers/bundle-fixtures.js';

/** An envelope over arbitrary payload bytes, signed by the named test key. */
async function envelopeOver(payload: Buffer, key: string): Promise<string> {
  const s = testSigner(key);
  const sig = await s.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload));
  return serializeEnvelope({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: s.keyId, sig: sig.toString('base64') }] });
}

const restricted = parseTrustPolicy(`apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nkeys:\n  - name: ed\n    publicKey: ${TEST_KEYS}/test-ed25519.pub\n    sources: [shanghai]\n`);

describe('verify: signatures before payload', () => {
  it('an unparseable statement signed by a source-restricted trusted key is MALFORMED (not SOURCE_NOT_ALLOWED)', async () => {
    for (const payload of ['not json {', '{"_type":"x"}', '[1,2,3]']) {
      await expectCode(async () => verifyBundleBytes(sampleBundle().bytes, await envelopeOver(Buffer.from(payload), 'test-ed25519'), { policy: restricted, target: 'shenzhen' }), 'MALFORMED');
    }
  });
  it('the same payload signed by an untrusted key is UNKNOWN_KEY: nothing is parsed before a trusted signature', async () => {
    await expectCode(async () => verifyBundleBytes(sampleBundle().bytes, await envelopeOver(Buffer.from('not json {'), 'test-ecdsa'), { policy: restricted, target: 'shenzhen' }), 'UNKNOWN_KEY');
  });
});
