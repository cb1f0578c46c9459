import { constants, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { algorithmOf, keyIdOf, RSA_PSS_SALT_LENGTH, type SigningAlgorithm } from './keys.js';

/** One-method role: signs bytes (the DSSE PAE). A KMS or HSM signer implements the same interface. */
export interface Signer {
  readonly keyId: string;
  readonly algorithm: SigningAlgorithm;
  sign(data: Buffer): Promise<Buffer>;
}

/** Signs with node:crypto. ECDSA signatures are ASN.1 DER, as Sigstore and cosign write them. */
export function signBytes(algorithm: SigningAlgorithm, key: KeyObject, data: Buffer): Buffer {
  switch (algorithm) {
    case 'ecdsa-p256':
      return sign('sha256', data, { key, dsaEncoding: 'der' });
    case 'ed25519':
      return sign(null, data, key);
    case 'rsa-pss-3072':
      return sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: RSA_PSS_SALT_LENGTH });
  }
}

/** True when `signature` is valid; false for any invalid or unparseable signature (never throws). */
export function verifyBytes(algorithm: SigningAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    switch (algorithm) {
      case 'ecdsa-p256':
        return verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
      case 'ed25519':
        return verify(null, data, key, signature);
      case 'rsa-pss-3072':
        return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: RSA_PSS_SALT_LENGTH }, signature);
    }
  } catch {
    return false;
  }
}

/** A Signer over a private key held in memory. */
export function keySigner(privateKey: KeyObject): Signer {
  const algorithm = algorithmOf(privateKey);
  const keyId = keyIdOf(createPublicKey(privateKey));
  return {
    keyId,
    algorithm,
    sign: (data) => Promise.resolve(signBytes(algorithm, privateKey, data)),
  };
}
