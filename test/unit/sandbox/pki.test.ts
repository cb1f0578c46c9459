import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createClusterPki } from '../../../src/sandbox/pki.js';

describe('sandbox PKI', () => {
  const pki = createClusterPki('testcluster', '10.96.0.1');
  const ca = new X509Certificate(pki.ca.certPem);

  it('makes a self-signed CA', () => {
    assert.equal(ca.ca, true);
    assert.ok(ca.verify(ca.publicKey));
    assert.match(ca.subject, /CN=rollout-relay-sandbox-testcluster-ca/);
  });

  it('issues an apiserver serving certificate for loopback and the in-cluster names', () => {
    const cert = new X509Certificate(pki.apiserver.certPem);
    assert.ok(cert.verify(ca.publicKey));
    assert.ok(cert.checkIP('127.0.0.1'));
    assert.ok(cert.checkIP('10.96.0.1'));
    assert.ok(cert.checkHost('kubernetes.default.svc'));
    assert.equal(cert.checkHost('example.com'), undefined);
    assert.ok(cert.checkPrivateKey(createPrivateKey(pki.apiserver.keyPem)));
  });

  it('issues client certificates whose subject carries user and groups', () => {
    const admin = new X509Certificate(pki.clients.admin!.certPem);
    assert.ok(admin.verify(ca.publicKey));
    assert.match(admin.subject, /O=system:masters/);
    assert.match(admin.subject, /CN=sandbox-admin/);
    assert.equal(admin.ca, false);
    assert.match(new X509Certificate(pki.clients['kube-controller-manager']!.certPem).subject, /CN=system:kube-controller-manager/);
  });

  it('gives every certificate a distinct serial and key', () => {
    const certs = [pki.ca, pki.apiserver, ...Object.values(pki.clients)].map((c) => new X509Certificate(c.certPem));
    assert.equal(new Set(certs.map((c) => c.serialNumber)).size, certs.length);
    assert.equal(new Set(certs.map((c) => c.fingerprint256)).size, certs.length);
  });
});
