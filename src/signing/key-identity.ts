import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { RelayError } from '../errors.js';

/**
 * One key is one key in every encoding. The same public key can be written as several valid SPKI
 * DERs (an EC point compressed, uncompressed or hybrid; curve parameters named or explicit; an RSA
 * key under rsaEncryption or under id-RSASSA-PSS with or without parameters). Hashing the DER as
 * written would give each its own id, so one signer could meet a threshold of 2, or a revoked key
 * could come back under another encoding. Every id is therefore taken over one canonical encoding:
 * the one `openssl` and most KMSs write by default, so ids of keys in that form never change:
 *
 * - EC P-256: named curve (prime256v1), uncompressed point;
 * - RSA: rsaEncryption with NULL parameters (a PSS restriction is a usage rule, not another key;
 *   rollout-relay checks it on load and always verifies with PSS, SHA-256, salt 32);
 * - Ed25519: the only encoding there is (RFC 8410: no parameters).
 */
export interface KeyIdentity {
  /** The key re-encoded canonically; verify with this one. */
  publicKey: KeyObject;
  /** Lower-case hex SHA-256 of the canonical SPKI DER. */
  keyId: string;
  /**
   * Ids the same key had before ids were canonical: the SHA-256 of the SPKI DER exactly as given,
   * when that differs (e.g. an RSA-PSS key written by `keys generate` of an earlier version).
   * Signatures naming the key by such an id still count, under `keyId`.
   */
  aliasKeyIds: string[];
}

const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Reads one DER TLV at `pos`: tag, and the content's [start, end). Definite lengths only. */
function tlv(der: Buffer, pos: number): { tag: number; start: number; end: number } {
  const tag = der[pos];
  let len = der[pos + 1];
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > der.length) throw new Error('truncated DER');
  return { tag, start, end };
}

/** The RSAPublicKey (PKCS#1) inside an SPKI, whatever its algorithm identifier says. */
function rsaPublicKeyOf(spki: Buffer): Buffer {
  const outer = tlv(spki, 0);
  const algorithm = tlv(spki, outer.start);
  const bits = tlv(spki, algorithm.end);
  if (outer.tag !== 0x30 || algorithm.tag !== 0x30 || bits.tag !== 0x03 || spki[bits.start] !== 0) throw new Error('not an SPKI');
  return spki.subarray(bits.start + 1, bits.end);
}

/** The public key re-encoded in the canonical form described above. Throws KEY_INVALID. */
export function canonicalPublicKey(key: KeyObject): KeyObject {
  const publicKey = key.type === 'public' ? key : createPublicKey(key);
  try {
    switch (publicKey.asymmetricKeyType) {
      case 'ec':
        // JWK has only (crv, x, y): importing it yields the named curve and an uncompressed point.
        return createPublicKey({ key: publicKey.export({ format: 'jwk' }) as JsonWebKey, format: 'jwk' });
      case 'rsa':
      case 'rsa-pss':
        return createPublicKey({ key: rsaPublicKeyOf(publicKey.export({ type: 'spki', format: 'der' })), format: 'der', type: 'pkcs1' });
      case 'ed25519':
        return publicKey;
      default:
        throw new Error(`${publicKey.asymmetricKeyType ?? 'unknown'} keys are not supported`);
    }
  } catch (err) {
    throw new RelayError('KEY_INVALID', `cannot re-encode the public key canonically (${(err as Error).message}); use ECDSA P-256, Ed25519 or RSA-PSS 3072`, { cause: err });
  }
}

/** Canonical key, its id, and the id of the encoding it was given in when that differs. */
export function keyIdentity(key: KeyObject): KeyIdentity {
  const given = key.type === 'public' ? key : createPublicKey(key);
  const publicKey = canonicalPublicKey(given);
  const keyId = sha256Hex(publicKey.export({ type: 'spki', format: 'der' }));
  const asGiven = sha256Hex(given.export({ type: 'spki', format: 'der' }));
  return { publicKey, keyId, aliasKeyIds: asGiven === keyId ? [] : [asGiven] };
}

/** Key id: lower-case hex SHA-256 of the canonical SubjectPublicKeyInfo DER (see KeyIdentity). */
export function keyIdOf(key: KeyObject): string {
  return keyIdentity(key).keyId;
}
