/**
 * Signatures (design §3): DSSE envelopes over an in-toto Statement v1 whose subject is the bundle's
 * SHA-256. node:crypto does all hashing and signing (ECDSA P-256 DER, Ed25519, RSA-PSS 3072/SHA-256/
 * salt 32); node-forge only builds X.509 ASN.1. Trust decisions (threshold, revocation, clusters)
 * live in src/policy; this module only reports which signature verifies under which key.
 */
export {
  algorithmOf,
  canonicalPublicKey,
  generateSigningKeyPair,
  keyIdentity,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
  privateKeyPem,
  publicKeyPem,
  DEFAULT_ALGORITHM,
  RSA_PSS_SALT_LENGTH,
  SIGNING_ALGORITHMS,
  type KeyIdentity,
  type SigningAlgorithm,
} from './keys.js';
export { keySigner, signBytes, verifyBytes, type Signer } from './signer.js';
export { decodeBase64Strict, pae, parseEnvelope, serializeEnvelope, IN_TOTO_PAYLOAD_TYPE, MAX_ENVELOPE_BYTES, type Envelope, type EnvelopeSignature } from './dsse.js';
export { buildStatement, parseStatement, serializeStatement, BUNDLE_PREDICATE_TYPE, STATEMENT_TYPE, type BundleStatement } from './statement.js';
export { checkEnvelopeSignatures, signBundleDigest, type SignatureCheck, type VerificationKey } from './envelope.js';
export { certificatePublicKey, createSelfSignedCertificate, type CertificateOptions } from './x509.js';
export { toSigstoreBundle, SIGSTORE_BUNDLE_V03, type SigstoreBundle } from './sigstore.js';
