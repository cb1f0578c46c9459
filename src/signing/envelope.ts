import type { KeyObject } from 'node:crypto';
import type { BundleIndex } from '../bundle/types.js';
import { RelayError } from '../errors.js';
import { decodeBase64Strict, IN_TOTO_PAYLOAD_TYPE, pae, type Envelope } from './dsse.js';
import type { SigningAlgorithm } from './keys.js';
import { verifyBytes, type Signer } from './signer.js';
import { buildStatement, serializeStatement } from './statement.js';

/** Signs an in-toto statement for a bundle with every signer (distinct keys) into one DSSE envelope. */
export async function signBundleDigest(bundleName: string, digestHex: string, index: BundleIndex, signers: readonly Signer[]): Promise<Envelope> {
  if (signers.length === 0) throw new RelayError('USAGE', 'at least one signing key is needed');
  const ids = new Set(signers.map((s) => s.keyId));
  if (ids.size !== signers.length) throw new RelayError('USAGE', 'the same key was given twice; a threshold counts distinct keys');
  const payload = serializeStatement(buildStatement(bundleName, digestHex, index));
  const bytes = pae(IN_TOTO_PAYLOAD_TYPE, payload);
  const signatures = [];
  for (const s of signers) signatures.push({ keyid: s.keyId, sig: (await s.sign(bytes)).toString('base64') });
  return { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures };
}

/** A public key a verifier may count. */
export interface VerificationKey {
  name: string;
  /** Canonical key id (see signing/key-identity.ts); what the policy counts. */
  keyId: string;
  /** Other ids a signature may name this key by (the id of the encoding it was given in). */
  aliasKeyIds?: readonly string[];
  algorithm: SigningAlgorithm;
  /** The canonically encoded key. */
  publicKey: KeyObject;
}

export interface SignatureCheck {
  /** Position in envelope.signatures. */
  index: number;
  /** The keyid the signature names (canonical id of the key that verified it when it named none). */
  keyid: string;
  /** valid: verifies under the key named by keyid (or, with no keyid, some key); bad: named key, wrong signature. */
  result: 'valid' | 'bad' | 'unknown-key';
  key?: VerificationKey;
}

/**
 * Checks every signature of an envelope against the given keys over the DSSE PAE. Never decides
 * trust: the policy counts the results (threshold, revocation, sources, targets).
 */
export function checkEnvelopeSignatures(env: Envelope, keys: readonly VerificationKey[]): { payload: Buffer; checks: SignatureCheck[] } {
  const payload = decodeBase64Strict(env.payload, 'payload');
  const bytes = pae(env.payloadType, payload);
  const byId = new Map<string, VerificationKey>();
  for (const k of keys) for (const id of [...(k.aliasKeyIds ?? []), k.keyId]) byId.set(id, k);
  const checks = env.signatures.map((s, index): SignatureCheck => {
    const sig = decodeBase64Strict(s.sig, `signature ${index + 1}`);
    const keyid = s.keyid ?? '';
    if (keyid === '') {
      const key = keys.find((k) => verifyBytes(k.algorithm, k.publicKey, bytes, sig));
      return key ? { index, keyid: key.keyId, result: 'valid', key } : { index, keyid, result: 'unknown-key' };
    }
    const key = byId.get(keyid);
    if (!key) return { index, keyid, result: 'unknown-key' };
    return { index, keyid, result: verifyBytes(key.algorithm, key.publicKey, bytes, sig) ? 'valid' : 'bad', key };
  });
  return { payload, checks };
}
