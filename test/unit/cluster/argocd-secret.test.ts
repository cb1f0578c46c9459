import assert from 'node:assert/strict';
import { parseArgoCdClusterSecret } from '../../../src/cluster/argocd-secret.js';
import { kubeConfigFromArgoCd, parseSecretRef } from '../../../src/cluster/kubeconfig.js';
import { isRelayError } from '../../../src/errors.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>, labels: Record<string, string> = { 'argocd.argoproj.io/secret-type': 'cluster' }) => ({
  metadata: { name: 'shenzhen', namespace: 'argocd', labels },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});

describe('cluster/argocd-secret', () => {
  it('reads name, server, bearer token and TLS client config; TLS verification stays on', () => {
    const c = parseArgoCdClusterSecret(secret({
      name: 'shenzhen', server: 'https://10.0.0.1:6443',
      config: JSON.stringify({ bearerToken: 'tok', tlsClientConfig: { caData: b64('CA'), serverName: 'api.shenzhen' } }),
    }));
    assert.equal(c.name, 'shenzhen');
    assert.equal(c.bearerToken, 'tok');
    assert.equal(c.tls.insecure, false);
    assert.equal(c.tls.serverName, 'api.shenzhen');
    const kc = kubeConfigFromArgoCd(c);
    assert.equal(kc.getCurrentCluster()?.server, 'https://10.0.0.1:6443');
    assert.equal(kc.getCurrentCluster()?.skipTLSVerify, false);
    assert.equal(kc.getCurrentCluster()?.caData, b64('CA'));
    assert.equal(kc.getCurrentCluster()?.tlsServerName, 'api.shenzhen');
    assert.equal(kc.getCurrentUser()?.token, 'tok');
  });

  it('honours client certificates and an explicit insecure: true', () => {
    const c = parseArgoCdClusterSecret(secret({ server: 'https://h:6443', config: JSON.stringify({ tlsClientConfig: { certData: 'Y2VydA==', keyData: 'a2V5', insecure: true } }) }));
    assert.equal(c.name, 'h:6443');
    const kc = kubeConfigFromArgoCd(c);
    assert.equal(kc.getCurrentCluster()?.skipTLSVerify, true);
    assert.equal(kc.getCurrentUser()?.certData, 'Y2VydA==');
    assert.equal(kc.getCurrentUser()?.keyData, 'a2V5');
  });

  it('refuses non-cluster Secrets, missing server or credentials, bad JSON and unsupported auth with CONFIG_INVALID, without echoing values', () => {
    const cases = [
      secret({ server: 'https://h', config: '{"bearerToken":"t"}' }, {}),
      secret({ config: '{"bearerToken":"t"}' }),
      secret({ server: 'https://h', config: '{}' }),
      secret({ server: 'https://h', config: '{"bearerToken":"sekrit"' }),
      secret({ server: 'https://h', config: JSON.stringify({ execProviderConfig: { command: 'x' } }) }),
      secret({ server: 'https://h', config: JSON.stringify({ tlsClientConfig: { certData: 'x' } }) }),
      secret({ server: 'https://h', config: JSON.stringify({ bearerToken: 't', tlsClientConfig: { insecure: 'yes' } }) }),
    ];
    for (const s of cases) {
      assert.throws(() => parseArgoCdClusterSecret(s), (e) => isRelayError(e, 'CONFIG_INVALID') && !e.message.includes('sekrit'));
    }
  });

  it('parses NAMESPACE/NAME secret references (USAGE otherwise)', () => {
    assert.deepEqual(parseSecretRef('argocd/cluster-shenzhen'), { namespace: 'argocd', name: 'cluster-shenzhen' });
    assert.throws(() => parseSecretRef('nope'), (e) => isRelayError(e, 'USAGE'));
  });
});
