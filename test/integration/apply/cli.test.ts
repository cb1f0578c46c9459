import assert from 'node:assert/strict';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { join } from 'node:path';
import { runCli } from '../../unit/cli/run-cli.js';
import { freshNamespace, kubeConfig, sandbox } from '../support/sandbox.js';
import { Release, configMap, rv } from './support.js';

const release = new Release();

describe('apply/status CLI on the real sandbox', () => {
  it('applies through `rollout-relay apply --context dr` and shows it with `status --json`', async () => {
    const ns = await freshNamespace('rr-cli', ['dr']);
    const b = await release.bundle(ns, 'web', 3, [configMap(ns, 'settings', { a: '1' })]);
    const r = await runCli(['apply', '--bundle', b.path, '--policy', release.policyPath, '--context', 'dr', '--kubeconfig', sandbox().kubeconfig, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { result: string; digest: string; sequence: number };
    assert.equal(report.result, 'completed');
    assert.equal(report.digest, `sha256:${b.digest}`);
    const s = await runCli(['status', '--context', 'dr', '--kubeconfig', sandbox().kubeconfig, '-n', ns, 'web', '--json']);
    assert.equal(s.code, 0, s.stderr);
    const rows = JSON.parse(s.stdout) as { state: string; sequence: number; bundleDigest: string; keyIds: string[] }[];
    assert.deepEqual(rows.map((x) => [x.state, x.sequence, x.bundleDigest]), [['completed', 3, `sha256:${b.digest}`]]);
    // The status carries the id of the key whose signature the target verified, as `keys id` prints it.
    const id = await runCli(['keys', 'id', join(release.dir, 'release.pub')]);
    assert.equal(id.code, 0, id.stderr);
    assert.deepEqual(rows[0]!.keyIds, [id.stdout.split(' ')[0]]);
    const t = await runCli(['status', '--context', 'dr', '--kubeconfig', sandbox().kubeconfig, '-n', ns]);
    assert.match(t.stdout, /NAMESPACE\s+NAME\s+STATUS/);
    assert.match(t.stdout, /web\s+completed/);
  });

  it('refuses a replayed older bundle with ROLLBACK and writes nothing', async () => {
    const ns = await freshNamespace('rr-replay', ['dr']);
    const old = await release.bundle(ns, 'web', 1, [configMap(ns, 'settings', { v: 'old' })]);
    const cur = await release.bundle(ns, 'web', 2, [configMap(ns, 'settings', { v: 'new' })]);
    await release.apply(cur.path);
    const before = await rv(configMap(ns, 'settings', {}));
    const r = await runCli(['apply', '--bundle', old.path, '--policy', release.policyPath, '--context', 'dr', '--kubeconfig', sandbox().kubeconfig]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error ROLLBACK: /m);
    assert.equal(await rv(configMap(ns, 'settings', {})), before);
  });

  it('reaches the target through an Argo CD cluster Secret read from the primary (bearer token, CA verified)', async () => {
    const ns = await freshNamespace('rr-argo', ['dr']);
    const argocd = await freshNamespace('rr-argocd', ['primary']);
    // A real ServiceAccount token in DR, allowed to manage the test namespace.
    const dr = kubeConfig('dr');
    await dr.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'relay' } } });
    await dr.makeApiClient(RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name: 'relay-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'ServiceAccount', name: 'relay', namespace: ns }] },
    });
    const token = await dr.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: 'relay', namespace: ns, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    const cluster = dr.getCurrentCluster()!;
    await kubeConfig('primary').makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: argocd,
      body: {
        metadata: { name: 'cluster-dr', labels: { 'argocd.argoproj.io/secret-type': 'cluster' } },
        stringData: { name: 'shenzhen', server: cluster.server, config: JSON.stringify({ bearerToken: token.status?.token, tlsClientConfig: { caData: cluster.caData, insecure: false } }) },
      },
    });
    const b = await release.bundle(ns, 'web', 1, [configMap(ns, 'via-argocd', { a: '1' })]);
    const r = await runCli(['apply', '--bundle', b.path, '--policy', release.policyPath, '--kubeconfig', sandbox().kubeconfig, '--cluster-secret', `${argocd}/cluster-dr`, '--secret-context', 'primary']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^completed sha256:/);
    assert.ok(await rv(configMap(ns, 'via-argocd', {})));
    assert.ok(!r.stdout.includes(token.status!.token!) && !r.stderr.includes(token.status!.token!), 'the token is never printed');
  });
});
