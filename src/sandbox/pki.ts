import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A PEM certificate and its PKCS#8 private key. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

export interface ClientIdentity {
  commonName: string;
  organizations?: string[];
}

export interface ClusterPki {
  ca: CertifiedKey;
  apiserver: CertifiedKey;
  /** Signs and verifies ServiceAccount tokens. */
  serviceAccountKeyPem: string;
  serviceAccountPubPem: string;
  clients: Record<string, CertifiedKey>;
}

const VALIDITY_DAYS = 365;

// Keys come from node:crypto (fast, native); node-forge only builds and signs the X.509 structures.
function newRsaKey(): { keyPem: string; pubPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pubPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function baseCertificate(pubPem: string, subject: forge.pki.CertificateField[], issuer: forge.pki.CertificateField[]): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pubPem);
  // Positive, random serial (leading byte < 0x80 keeps it positive in DER).
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + VALIDITY_DAYS * 86_400_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  return cert;
}

function sign(cert: forge.pki.Certificate, signerKeyPem: string): string {
  cert.sign(forge.pki.privateKeyFromPem(signerKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function subjectOf(commonName: string, organizations: string[] = []): forge.pki.CertificateField[] {
  return [...organizations.map((value) => ({ shortName: 'O', value })), { shortName: 'CN', value: commonName }];
}

export function createCa(commonName: string): CertifiedKey {
  const { keyPem, pubPem } = newRsaKey();
  const subject = subjectOf(commonName);
  const cert = baseCertificate(pubPem, subject, subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { certPem: sign(cert, keyPem), keyPem };
}

export function issueServingCert(ca: CertifiedKey, commonName: string, dnsNames: string[], ips: string[]): CertifiedKey {
  const { keyPem, pubPem } = newRsaKey();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = baseCertificate(pubPem, subjectOf(commonName), caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))],
    },
  ]);
  return { certPem: sign(cert, ca.keyPem), keyPem };
}

export function issueClientCert(ca: CertifiedKey, id: ClientIdentity): CertifiedKey {
  const { keyPem, pubPem } = newRsaKey();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = baseCertificate(pubPem, subjectOf(id.commonName, id.organizations), caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  return { certPem: sign(cert, ca.keyPem), keyPem };
}

/**
 * Everything one sandbox cluster needs for TLS, client-certificate authentication and
 * ServiceAccount tokens. Component identities use the names RBAC's bootstrap policy knows.
 */
export function createClusterPki(clusterName: string, serviceIp: string): ClusterPki {
  const ca = createCa(`rollout-relay-sandbox-${clusterName}-ca`);
  const apiserver = issueServingCert(
    ca,
    'kube-apiserver',
    ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ['127.0.0.1', serviceIp],
  );
  const sa = newRsaKey();
  const clients: Record<string, CertifiedKey> = {
    admin: issueClientCert(ca, { commonName: 'sandbox-admin', organizations: ['system:masters'] }),
    'kube-controller-manager': issueClientCert(ca, { commonName: 'system:kube-controller-manager' }),
    'kube-scheduler': issueClientCert(ca, { commonName: 'system:kube-scheduler' }),
    // kwok plays every kubelet; argo-rollouts gets its own identity bound to a ClusterRole at install.
    kwok: issueClientCert(ca, { commonName: 'kwok-controller', organizations: ['system:masters'] }),
    'argo-rollouts': issueClientCert(ca, { commonName: 'argo-rollouts-controller' }),
  };
  return { ca, apiserver, serviceAccountKeyPem: sa.keyPem, serviceAccountPubPem: sa.pubPem, clients };
}
