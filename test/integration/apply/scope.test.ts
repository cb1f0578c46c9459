import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { isRelayError } from '../../../src/errors.js';
import { loadTrustPolicy } from '../../../src/policy/index.js';
import { StatusWriter } from '../../../src/status/index.js';
import { runCli } from '../../unit/cli/run-cli.js';
import { freshNamespace, kubeConfig, sandbox } from '../support/sandbox.js';
import { Release, configMap, deployment, live, objectApi, rv } from './support.js';

const release = new Release(); // the default scope: the application's namespace only

const clusterRoleBinding = (name: string, namespace: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
  subjects: [{ kind: 'ServiceAccount', name: 'app', namespace }],
});

describe('scope: a signing key deploys only what its trust policy allows (real DR cluster)', () => {
  it("refuses the issue's bundle (ConfigMap in kube-system + ClusterRoleBinding to cluster-admin) with OUT_OF_SCOPE and writes nothing; a scope made from an AppProject lets it apply", async () => {
    const ns = await freshNamespace('scope-shop', ['dr']);
    const suffix = randomBytes(3).toString('hex');
    const sneaky = configMap('kube-system', `rr-sneaky-${suffix}`, { a: '1' });
    const crb = clusterRoleBinding(`rr-app-admin-${suffix}`, ns);
    const objects = [configMap(ns, 'settings', { a: '1' }), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: ns } }, sneaky, crb];
    const b = await release.bundle(ns, 'app', 1, objects);
    const kubeconfig = sandbox().kubeconfig;
    try {
      const r = await runCli(['apply', '--bundle', b.path, '--policy', release.policyPath, '--context', 'dr', '--kubeconfig', kubeconfig, '--json']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^error OUT_OF_SCOPE: 2 object\\(s\\) of ${ns}/app are outside the trust policy's scope; nothing was written`, 'm'));
      const report = JSON.parse(r.stdout) as { error: string; problems: { object: string; message: string }[] };
      assert.equal(report.error, 'OUT_OF_SCOPE');
      assert.deepEqual(report.problems.map((p) => p.object).sort(), [`ClusterRoleBinding ${crb.metadata.name}`, `ConfigMap kube-system/${sneaky.metadata.name}`]);
      assert.match(report.problems.find((p) => p.object.startsWith('ConfigMap'))!.message, /namespace kube-system is not the application's namespace/);
      for (const o of objects) assert.equal(await rv(o as never), undefined, `${o.kind} ${o.metadata.name} must not exist`);
      assert.equal(await new StatusWriter(kubeConfig('dr'), `${ns}/app`).read(), undefined, 'no status either');

      // The team's Argo CD AppProject (in primary, where Argo CD runs) already says what the app may touch.
      const argocd = await freshNamespace('rr-argocd', ['primary']);
      await UntypedObjectApi.forKubeConfig(kubeConfig('primary')).create({
        apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: 'shop', namespace: argocd },
        spec: {
          destinations: [{ name: 'shenzhen', namespace: ns }, { name: 'shenzhen', namespace: 'kube-system' }, { name: 'beijing', namespace: '*' }],
          clusterResourceWhitelist: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' }],
          namespaceResourceBlacklist: [{ group: '', kind: 'ResourceQuota' }],
        },
      });
      const snippet = await runCli(['policy', 'scope', '--from-appproject', `${argocd}/shop`, '--destination-cluster', 'shenzhen', '--context', 'primary', '--kubeconfig', kubeconfig]);
      assert.equal(snippet.code, 0, snippet.stderr);
      assert.deepEqual(parseYaml(snippet.stdout), {
        scope: {
          namespaces: [ns, 'kube-system'], clusterResources: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' }], namespaceResourceDeny: [{ group: '', kind: 'ResourceQuota' }],
        },
      });
      const whole = await runCli(['policy', 'scope', '--from-appproject', `${argocd}/shop`, '--destination-cluster', 'shenzhen', '--context', 'primary', '--kubeconfig', kubeconfig, '--policy', release.policyPath]);
      assert.equal(whole.code, 0, whole.stderr);
      const fromProject = join(release.dir, 'from-appproject.yaml');
      writeFileSync(fromProject, whole.stdout);
      const ok = await runCli(['apply', '--bundle', b.path, '--policy', fromProject, '--context', 'dr', '--kubeconfig', kubeconfig]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^completed sha256:/);
      for (const o of objects) assert.ok(await rv(o as never), `${o.kind} ${o.metadata.name} applied`);
    } finally {
      await objectApi().delete(crb).catch(() => undefined);
      await objectApi().delete(sneaky).catch(() => undefined);
    }
  });

  it('refuses a prune that would delete outside the scope (nothing written); --no-prune applies and leaves it alone', async () => {
    const ns = await freshNamespace('rr-scope-prune', ['dr']);
    const other = await freshNamespace('rr-scope-other', ['dr']);
    const twoNamespaces = loadTrustPolicy(release.writePolicy(`two-${ns}.yaml`, `{namespaces: [${ns}, ${other}]}`));
    const elsewhere = configMap(other, 'elsewhere', { v: '1' });
    await release.apply((await release.bundle(ns, 'web', 1, [configMap(ns, 'keep', { v: '1' }), elsewhere])).path, { policy: twoNamespaces });
    // The next bundle drops it, and the policy has since been narrowed to the default scope.
    const b2 = await release.bundle(ns, 'web', 2, [configMap(ns, 'keep', { v: '2' })]);
    await assert.rejects(release.apply(b2.path), (err: unknown) => {
      assert.ok(isRelayError(err, 'OUT_OF_SCOPE'), String(err));
      assert.match((err as Error).message, new RegExp(`^pruning .* would delete 1 object\\(s\\) outside the trust policy's scope; nothing was written .*\\n  ConfigMap ${other}/elsewhere: namespace ${other} is not the application's namespace`));
      return true;
    });
    assert.equal((await live<V1ConfigMap>('v1', 'ConfigMap', 'keep', ns)).data?.v, '1', 'nothing written');
    assert.ok(await rv(elsewhere));
    assert.equal((await new StatusWriter(kubeConfig('dr'), `${ns}/web`).read())?.record.sequence, 1);
    const r = await release.apply(b2.path, { prune: false });
    assert.equal(r.report.result, 'completed');
    assert.deepEqual(r.report.pruned, []);
    assert.equal((await live<V1ConfigMap>('v1', 'ConfigMap', 'keep', ns)).data?.v, '2');
    assert.ok(await rv(elsewhere), 'outside the scope: left alone');
  });

  it('a rollback restores only inside the scope: objects now outside it are left as they are', async () => {
    const ns = await freshNamespace('rr-scope-rb', ['dr']);
    const other = await freshNamespace('rr-scope-rb-other', ['dr']);
    const twoNamespaces = loadTrustPolicy(release.writePolicy(`two-${ns}.yaml`, `{namespaces: [${ns}, ${other}]}`));
    await release.apply((await release.bundle(ns, 'web', 1, [configMap(ns, 'settings', { v: '1' }), configMap(other, 'elsewhere', { v: '1' })])).path, { policy: twoNamespaces });
    // Someone edits the object outside the (since narrowed) scope; the next bundle fails its health check.
    await objectApi().patch({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'elsewhere', namespace: other }, data: { v: 'by hand' } }, undefined, undefined, 'kubectl-edit', true, 'application/apply-patch+yaml');
    const b2 = await release.bundle(ns, 'web', 2, [configMap(ns, 'settings', { v: '2' }), deployment(ns, 'web', { replicas: 1, nodeSelector: { 'rollout-relay.io/no-such-node': 'true' } })]);
    await assert.rejects(release.apply(b2.path, { prune: false, timeoutMs: 4000 }), (err: unknown) => {
      assert.ok(isRelayError(err, 'ROLLED_BACK'), String(err));
      return true;
    });
    assert.equal((await live<V1ConfigMap>('v1', 'ConfigMap', 'settings', ns)).data?.v, '1', 'restored inside the scope');
    assert.equal(await rv(deployment(ns, 'web')), undefined, 'what the failed bundle added is gone');
    assert.equal((await live<V1ConfigMap>('v1', 'ConfigMap', 'elsewhere', other)).data?.v, 'by hand', 'outside the scope: not restored');
  });

  it("writes namespaced objects without a namespace into the application's namespace, custom kinds resolved by the target's discovery", async () => {
    const ns = await freshNamespace('rr-scope-loose', ['dr']);
    const objects = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `loose-${ns}` }, data: { a: '1' } },
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: `loose-${ns}` }, spec: { project: 'default' } },
    ];
    const r = await release.apply((await release.bundle(ns, 'web', 1, objects)).path);
    assert.equal(r.report.result, 'completed');
    assert.deepEqual(r.report.applied.map((a) => a.object).sort(), [`Application ${ns}/loose-${ns}`, `ConfigMap ${ns}/loose-${ns}`]);
    assert.ok(await rv({ ...objects[0]!, metadata: { name: `loose-${ns}`, namespace: ns } }));
    assert.ok(await rv({ ...objects[1]!, metadata: { name: `loose-${ns}`, namespace: ns } }));
    assert.equal(await rv({ ...objects[0]!, metadata: { name: `loose-${ns}`, namespace: 'default' } }), undefined, 'not in the context\'s default namespace');
  });
});
