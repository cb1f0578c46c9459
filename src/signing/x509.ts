import { createPublicKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { RelayError } from '../errors.js';
import { algorithmOf, RSA_PSS_SALT_LENGTH, type SigningAlgorithm } from './keys.js';
import { signBytes } from './signer.js';

const { asn1 } = forge;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

const seq = (...items: forge.asn1.Asn1[]) => asn1.create(U, T.SEQUENCE, true, items);
const oid = (o: string) => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
const ctx = (n: number, ...items: forge.asn1.Asn1[]) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, n, true, items);
const der = (a: forge.asn1.Asn1) => Buffer.from(asn1.toDer(a).getBytes(), 'binary');
const fromDer = (b: Buffer) => asn1.fromDer(forge.util.createBuffer(b.toString('binary')));
const integer = (b: Buffer) => asn1.create(U, T.INTEGER, false, b.toString('binary'));
const octets = (b: Buffer) => asn1.create(U, T.OCTETSTRING, false, b.toString('binary'));

const SHA256 = '2.16.840.1.101.3.4.2.1';

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 (UTCTime's two-digit year wraps). */
function x509Time(d: Date): forge.asn1.Asn1 {
  return d.getUTCFullYear() < 2050
    ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

function signatureAlgorithm(alg: SigningAlgorithm): forge.asn1.Asn1 {
  switch (alg) {
    case 'ecdsa-p256':
      return seq(oid('1.2.840.10045.4.3.2'));
    case 'ed25519':
      return seq(oid('1.3.101.112'));
    case 'rsa-pss-3072':
      return seq(
        oid('1.2.840.113549.1.1.10'),
        seq(
          ctx(0, seq(oid(SHA256))),
          ctx(1, seq(oid('1.2.840.113549.1.1.8'), seq(oid(SHA256)))),
          ctx(2, integer(Buffer.from([RSA_PSS_SALT_LENGTH]))),
        ),
      );
  }
}

function commonName(cn: string): forge.asn1.Asn1 {
  return seq(asn1.create(U, T.SET, true, [seq(oid('2.5.4.3'), asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(cn)))]));
}

export interface CertificateOptions {
  commonName: string;
  /** Default: 365. */
  days?: number;
  /** Default: now. */
  now?: Date;
}

/**
 * A self-signed X.509 v3 certificate for a signing key (any of the three schemes). node-forge builds
 * the ASN.1 (its certificate API only knows RSA); node:crypto makes the signature.
 */
export function createSelfSignedCertificate(privateKey: KeyObject, options: CertificateOptions): string {
  const alg = algorithmOf(privateKey);
  const now = options.now ?? new Date();
  const notAfter = new Date(now.getTime() + (options.days ?? 365) * 86_400_000);
  const spkiDer = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const name = commonName(options.commonName);
  const skid = forge.md.sha1.create().update(spkiDer.toString('binary')).digest().getBytes();
  const ext = (id: string, critical: boolean, value: forge.asn1.Asn1) =>
    seq(oid(id), ...(critical ? [asn1.create(U, T.BOOLEAN, false, '\xff')] : []), octets(der(value)));
  const tbs = seq(
    ctx(0, integer(Buffer.from([2]))),
    integer(serial),
    signatureAlgorithm(alg),
    name,
    seq(x509Time(now), x509Time(notAfter)),
    name,
    fromDer(spkiDer),
    ctx(
      3,
      seq(
        ext('2.5.29.19', true, seq()), // basicConstraints: not a CA
        ext('2.5.29.15', true, asn1.create(U, T.BITSTRING, false, '\x07\x80')), // keyUsage: digitalSignature
        ext('2.5.29.14', false, octets(Buffer.from(skid, 'binary'))), // subjectKeyIdentifier
      ),
    ),
  );
  const signature = signBytes(alg, privateKey, der(tbs));
  const cert = seq(tbs, signatureAlgorithm(alg), asn1.create(U, T.BITSTRING, false, '\x00' + signature.toString('binary')));
  const b64 = der(cert).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`;
}

/**
 * The public key of a certificate after checking it: valid at `now`, and signed by `issuer` (a CA
 * certificate) or, without one, by itself. Throws KEY_INVALID with what to do.
 */
export function certificatePublicKey(pem: string | Buffer, where: string, options: { issuer?: string | Buffer; now?: Date } = {}): { publicKey: KeyObject; certificate: X509Certificate } {
  const now = options.now ?? new Date();
  const parse = (p: string | Buffer, what: string) => {
    try {
      return new X509Certificate(p);
    } catch (err) {
      throw new RelayError('KEY_INVALID', `${what}: not a PEM X.509 certificate (${(err as Error).message})`, { cause: err });
    }
  };
  const cert = parse(pem, where);
  const checkTime = (c: X509Certificate, what: string) => {
    if (now < new Date(c.validFrom)) throw new RelayError('KEY_INVALID', `${what}: certificate is not valid before ${c.validFrom}`);
    if (now > new Date(c.validTo)) throw new RelayError('KEY_INVALID', `${what}: certificate expired on ${c.validTo}; issue a new one and update the policy`);
  };
  checkTime(cert, where);
  if (options.issuer !== undefined) {
    const ca = parse(options.issuer, `${where} issuer`);
    checkTime(ca, `${where} issuer`);
    if (!ca.ca) throw new RelayError('KEY_INVALID', `${where}: the issuer certificate is not a CA`);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new RelayError('KEY_INVALID', `${where}: certificate was not issued by the given issuer`);
  } else if (!cert.verify(cert.publicKey)) {
    throw new RelayError('KEY_INVALID', `${where}: certificate is not self-signed and no issuer was given; add issuer: to the policy key`);
  }
  algorithmOf(cert.publicKey);
  return { publicKey: cert.publicKey, certificate: cert };
}
