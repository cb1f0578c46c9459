import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { transportFor } from '../../../src/cluster/api-transport.js';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { loadRelayConfig } from '../../../src/config/load.js';
import { isRelayError } from '../../../src/errors.js';
import { configTargetClients, sourceKubeConfig } from '../../../src/promote/targets.js';
import { kubeconfigText, listen, pki, tlsOptions } from '../../helpers/api-test-servers.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
}

/**
 * An API server (real TLS, client certificates required) that answers only the Argo CD cluster
 * Secret `argocd/cluster-beijing` (pointing back at itself) and never answers anything else: a
 * request to it ends only by the client's own request timeout.
 */
async function frozenApiServer(): Promise<{ url: string; close(): void }> {
  let url = '';
  const server = createHttpsServer(tlsOptions, (req, res) => {
    if (req.url === '/api/v1/namespaces/argocd/secrets/cluster-beijing') {
      const data = {
        name: 'beijing', server: url,
        config: JSON.stringify({ tlsClientConfig: { caData: b64(pki.ca.certPem), certData: b64(pki.clients.admin!.certPem), keyData: b64(pki.clients.admin!.keyPem) } }),
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        apiVersion: 'v1', kind: 'Secret',
        metadata: { name: 'cluster-beijing', namespace: 'argocd', labels: { 'argocd.argoproj.io/secret-type': 'cluster' } },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
      }));
    }
    // Anything else: accepted, never answered.
  });
  url = await listen(server);
  return { url, close: () => server.close() };
}

function configWith(apiServer: string, timeouts: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'rr-targets-'));
  copyFileSync(resolve('keys/test/test-ecdsa.key'), join(dir, 'release.key'));
  copyFileSync(resolve('keys/test/test-ecdsa.pub'), join(dir, 'release.pub'));
  writeFileSync(join(dir, 'trust-policy.yaml'), stringify({ apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1, keys: [{ name: 'r1', publicKey: 'release.pub' }] }));
  writeFileSync(join(dir, 'kubeconfig'), kubeconfigText({ primary: apiServer, dr: apiServer }));
  writeFileSync(join(dir, 'relay.yaml'), stringify({
    apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig',
    source: { cluster: 'shanghai', context: 'primary', kubeconfig: 'kubeconfig' },
    signing: { keys: ['release.key'] }, trustPolicy: 'trust-policy.yaml',
    targets: [{ name: 'shenzhen', context: 'dr', kubeconfig: 'kubeconfig' }, { name: 'beijing', clusterSecret: 'argocd/cluster-beijing' }],
    timeouts,
  }));
  return loadRelayConfig(join(dir, 'relay.yaml'));
}

describe('promote/targets: timeouts.apiRequest bounds every client made for a config', function () {
  this.timeout(30_000);
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).reverse().forEach((c) => c()));

  it('a configured 1 s request timeout cancels a request to a frozen primary and to each frozen target (context and Argo CD Secret)', async () => {
    const server = await frozenApiServer();
    closers.push(server.close);
    const config = configWith(server.url, { apiRequest: '1s' });
    const primary = sourceKubeConfig(config);
    const clientFor = configTargetClients(primary);
    const [shenzhen, beijing] = await Promise.all(config.targets.map((t) => clientFor(t)));
    const clients: [string, KubeConfig][] = [['primary', primary], ['shenzhen', shenzhen!.kubeConfig], ['beijing', beijing!.kubeConfig]];
    for (const [, kc] of clients) closers.push(() => transportFor(kc).close());
    for (const [name, kc] of clients) {
      const err = await failure(UntypedObjectApi.forKubeConfig(kc).getPath('/api/v1/namespaces/shop/configmaps/x'));
      assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'), `${name}: ${String(err)}`);
      assert.match(err.message, /^GET \/api\/v1\/namespaces\/shop\/configmaps\/x got no answer from https:\/\/127\.0\.0\.1:\d+ within the 1 s request timeout/, name);
    }
    // client-node's generated APIs made from the same KubeConfig are held to the same bound.
    const err = await failure(primary.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'x', namespace: 'shop' }));
    assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'), String(err));
    assert.match(err.message, /within the 1 s request timeout/);
  });

  it('without timeouts.apiRequest every client keeps the 60 s default', async () => {
    const server = await frozenApiServer();
    closers.push(server.close);
    const config = configWith(server.url, {});
    const primary = sourceKubeConfig(config);
    const target = await configTargetClients(primary)(config.targets[1]!);
    assert.equal(transportFor(primary).timeouts.requestTimeoutMs, 60_000);
    assert.equal(transportFor(target.kubeConfig).timeouts.requestTimeoutMs, 60_000);
  });
});
