import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { renderKubeconfig } from '../../../src/sandbox/kubeconfig.js';

describe('sandbox kubeconfig', () => {
  it('renders one context per cluster that client-node loads, with embedded credentials', () => {
    const client = { certPem: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n', keyPem: 'key' };
    const text = renderKubeconfig(
      [
        { context: 'primary', cluster: 'shanghai', server: 'https://127.0.0.1:6443', caPem: 'ca-primary', client },
        { context: 'dr', server: 'https://127.0.0.1:7443', caPem: 'ca-dr', client },
      ],
      'dr',
    );
    const kc = new KubeConfig();
    kc.loadFromString(text);
    assert.equal(kc.getCurrentContext(), 'dr');
    assert.deepEqual(kc.getContexts().map((c) => c.name), ['primary', 'dr']);
    assert.equal(kc.getContextObject('primary')!.cluster, 'shanghai');
    assert.equal(kc.getContextObject('dr')!.cluster, 'dr');
    const cluster = kc.getCluster('shanghai')!;
    assert.equal(cluster.server, 'https://127.0.0.1:6443');
    assert.equal(Buffer.from(cluster.caData!, 'base64').toString(), 'ca-primary');
    assert.equal(cluster.skipTLSVerify, false);
    assert.equal(Buffer.from(kc.getUser('dr')!.keyData!, 'base64').toString(), 'key');
  });
});
