import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { RelayError } from '../errors.js';

/** The signature schemes of design §3. ECDSA P-256 is the default. */
export const SIGNING_ALGORITHMS = ['ecdsa-p256', 'ed25519', 'rsa-pss-3072'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
export const DEFAULT_ALGORITHM: SigningAlgorithm = 'ecdsa-p256';

/** RSA-PSS parameters: SHA-256, MGF1-SHA-256, salt length = digest length (32), as PS256/Sigstore use. */
export const RSA_PSS_SALT_LENGTH = 32;
export const RSA_MIN_BITS = 3072;

/**
 * The scheme a key is used with, or KEY_INVALID. Accepts keys from `openssl genpkey` too: EC P-256,
 * Ed25519, and RSA (rsaEncryption or RSASSA-PSS, unrestricted or restricted to SHA-256) of ≥ 3072 bits.
 */
export function algorithmOf(key: KeyObject): SigningAlgorithm {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (d.namedCurve === 'prime256v1') return 'ecdsa-p256';
      throw new RelayError('KEY_INVALID', `EC key on curve ${d.namedCurve ?? 'unknown'} is not supported; use P-256 (prime256v1)`);
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
    case 'rsa-pss': {
      if ((d.modulusLength ?? 0) < RSA_MIN_BITS) {
        throw new RelayError('KEY_INVALID', `RSA key has ${d.modulusLength ?? 0} bits; RSA-PSS keys need at least ${RSA_MIN_BITS}`);
      }
      if (d.hashAlgorithm !== undefined && (d.hashAlgorithm !== 'sha256' || (d.mgf1HashAlgorithm ?? 'sha256') !== 'sha256')) {
        throw new RelayError('KEY_INVALID', `RSA-PSS key is restricted to ${d.hashAlgorithm}; rollout-relay signs with SHA-256`);
      }
      if (d.saltLength !== undefined && d.saltLength > RSA_PSS_SALT_LENGTH) {
        throw new RelayError('KEY_INVALID', `RSA-PSS key requires salt length ≥ ${d.saltLength}; rollout-relay uses ${RSA_PSS_SALT_LENGTH}`);
      }
      return 'rsa-pss-3072';
    }
    default:
      throw new RelayError('KEY_INVALID', `${key.asymmetricKeyType ?? 'unknown'} keys are not supported; use ECDSA P-256, Ed25519 or RSA-PSS 3072`);
  }
}

export { canonicalPublicKey, keyIdentity, keyIdOf, type KeyIdentity } from './key-identity.js';

/**
 * A public key from SPKI PEM (or a private key PEM, whose public half is used), as written; its
 * scheme is checked. Use `keyIdentity` for its id and the canonical key to verify with.
 */
export function loadPublicKey(pem: string | Buffer, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new RelayError('KEY_INVALID', `${where}: not a PEM public key (${(err as Error).message})`, { cause: err });
  }
  algorithmOf(key);
  return key;
}

/** A private key from PKCS#8 PEM (also the traditional EC/RSA PEM forms openssl writes). */
export function loadPrivateKey(pem: string | Buffer, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new RelayError('KEY_INVALID', `${where}: not an unencrypted PEM private key (${(err as Error).message})`, { cause: err });
  }
  algorithmOf(key);
  return key;
}

export function generateSigningKeyPair(algorithm: SigningAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (algorithm) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
    case 'rsa-pss-3072':
      // A key restricted to the one scheme it is used with (id-RSASSA-PSS with parameters).
      return generateKeyPairSync('rsa-pss', {
        modulusLength: 3072,
        hashAlgorithm: 'sha256',
        mgf1HashAlgorithm: 'sha256',
        // @types/node declares this as a string; Node takes the number of bytes.
        saltLength: RSA_PSS_SALT_LENGTH as unknown as string,
      });
  }
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
