import { RelayError } from '../errors.js';
import type { Envelope } from './dsse.js';

export const SIGSTORE_BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** Sigstore bundle v0.3 (JSON form) with a public-key hint, carrying one signature of a DSSE envelope. */
export interface SigstoreBundle {
  mediaType: typeof SIGSTORE_BUNDLE_V03;
  verificationMaterial: { publicKey: { hint: string }; tlogEntries: []; timestampVerificationData: { rfc3161Timestamps: [] } };
  dsseEnvelope: { payload: string; payloadType: string; signatures: [{ sig: string; keyid: string }] };
}

/**
 * The Sigstore bundle for one signature of an envelope (a Sigstore bundle holds exactly one). It has
 * no transparency-log entry or timestamp: verify it with the public key and thresholds of 0, as
 * `@sigstore/verify` allows for keyed signing.
 */
export function toSigstoreBundle(env: Envelope, signatureIndex = 0): SigstoreBundle {
  const s = env.signatures[signatureIndex];
  if (!s) throw new RelayError('USAGE', `the envelope has no signature ${signatureIndex + 1}`);
  const keyid = s.keyid ?? '';
  return {
    mediaType: SIGSTORE_BUNDLE_V03,
    verificationMaterial: { publicKey: { hint: keyid }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    dsseEnvelope: { payload: env.payload, payloadType: env.payloadType, signatures: [{ sig: s.sig, keyid }] },
  };
}
