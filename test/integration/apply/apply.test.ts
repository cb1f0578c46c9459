import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { CoreV1Api, AppsV1Api, PatchStrategy, setHeaderOptions, type KubernetesObject, type V1ConfigMap, type V1Deployment } from '@kubernetes/client-node';
import { isRelayError } from '../../../src/errors.js';
import { ApplyError } from '../../../src/apply/index.js';
import { StatusWriter } from '../../../src/status/index.js';
import { observeRequests } from '../../../src/cluster/api-transport.js';
import { freshNamespace, kubeConfig } from '../support/sandbox.js';
import { Release, configMap, deployment, live, objectApi, rv, service } from './support.js';

const release = new Release();
/** For the tests that need a CRD, cluster RBAC or a second namespace: the scope says so explicitly. */
const wide = new Release([
  '{namespaces: ["rr-*"], clusterResources: [{group: apiextensions.k8s.io, kind: CustomResourceDefinition}, {group: rbac.authorization.k8s.io, kind: ClusterRole},',
  '{group: "", kind: Namespace}]}',
].join(' '));

async function podUids(namespace: string, app: string): Promise<string[]> {
  const pods = await kubeConfig('dr').makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: `app=${app}` });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.uid!).sort();
}

describe('apply: verified, ordered, all-or-nothing server-side apply on the real DR cluster', () => {
  it('applies a CRD + custom resource + new Namespace + RBAC + ConfigMap + Service + Deployment in one go and becomes healthy', async () => {
    const suffix = randomBytes(3).toString('hex');
    const ns = `rr-all-${suffix}`;
    const group = `g${suffix}.rollout-relay.io`;
    const objects = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'rollout-relay.io/test': 'true' } } },
      {
        apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `widgets.${group}` },
        spec: {
          group, scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
        },
      },
      { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace: ns }, spec: { size: 3 } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `rr-reader-${suffix}` }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: ns } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'web-reader', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `rr-reader-${suffix}` }, subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: ns }],
      },
      configMap(ns, 'settings', { color: 'blue' }),
      service(ns, 'web'),
      deployment(ns, 'web', { replicas: 2 }),
    ];
    const b = await wide.bundle(ns, 'web', 1, objects);
    const requests: string[] = [];
    const stopObserving = observeRequests((req) => requests.push(`${req.method} ${req.path}`));
    try {
      const r = await wide.apply(b.path).finally(stopObserving);
      assert.equal(r.report.result, 'completed');
      // The status is first written once the bundle created its namespace: no create into a missing namespace
      // (which the API server answers 404 only after waiting ~50 ms for its namespace cache).
      const namespaceWritten = requests.findIndex((q) => q.startsWith(`PATCH /api/v1/namespaces/${ns}?`) && !q.includes('dryRun'));
      const statusCreates = requests.map((q, i) => [q, i] as const).filter(([q]) => q.startsWith(`POST /api/v1/namespaces/${ns}/configmaps`) && !q.includes('dryRun'));
      assert.ok(namespaceWritten >= 0, 'the namespace was applied');
      assert.equal(statusCreates.length, 1, `one status create: ${statusCreates.map(([q]) => q).join(', ')}`);
      assert.ok(statusCreates[0]![1] > namespaceWritten, 'the status create comes after the namespace');
      assert.equal(r.report.applied.length, objects.length);
      assert.ok(r.report.deferred.length >= 6, 'objects in the new namespace / of the new CRD were preflighted before it existed');
      const d = await live<V1Deployment>('apps/v1', 'Deployment', 'web', ns);
      assert.equal(d.status?.availableReplicas, 2);
      const w = await live<KubernetesObject & { spec: { size: number } }>(`${group}/v1`, 'Widget', 'w1', ns);
      assert.equal(w.spec.size, 3);
      const status = await new StatusWriter(kubeConfig('dr'), `${ns}/web`).read();
      assert.equal(status?.record.state, 'completed');
      assert.equal(status?.record.bundleDigest, `sha256:${b.digest}`);
      assert.equal(status?.record.inventory.length, objects.length);
      const cm = await kubeConfig('dr').makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'rollout-relay-status-web', namespace: ns });
      assert.equal(cm.metadata?.labels?.['app.kubernetes.io/managed-by'], 'rollout-relay');
      assert.equal(cm.data?.hot_update_status, 'completed');
    } finally {
      const api = objectApi();
      await api.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }).catch(() => undefined);
      await api.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `widgets.${group}` } }).catch(() => undefined);
      await api.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `rr-reader-${suffix}` } }).catch(() => undefined);
    }
  });

  it('one invalid object anywhere → PREFLIGHT_FAILED naming it with the API server message, zero objects written', async () => {
    const ns = await freshNamespace('rr-invalid', ['dr']);
    const newNs = `rr-new-${randomBytes(3).toString('hex')}`;
    const bad = deployment(newNs, 'broken');
    (bad.spec as { replicas: unknown }).replicas = -3; // only the API server's validation rejects this
    const objects = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: newNs } },
      configMap(ns, 'a', { k: 'v' }), service(ns, 'web'), deployment(ns, 'web'), configMap(newNs, 'b', { k: 'v' }), bad,
    ];
    const b = await wide.bundle(ns, 'web', 1, objects);
    await assert.rejects(wide.apply(b.path), (err: unknown) => {
      assert.ok(isRelayError(err, 'PREFLIGHT_FAILED'), String(err));
      assert.ok(err instanceof ApplyError);
      assert.equal(err.problems.length, 1);
      assert.match(err.problems[0]!.object, new RegExp(`Deployment ${newNs}/broken`));
      assert.match(err.message, /spec\.replicas/);
      return true;
    });
    for (const o of objects) assert.equal(await rv(o), undefined, `${o.kind} ${o.metadata.name} must not exist`);
    assert.equal(await new StatusWriter(kubeConfig('dr'), `${ns}/web`).read(), undefined, 'no status written either');
  });

  it("refuses PREFLIGHT_FAILED, zero writes, when the application's namespace is neither in DR nor in the bundle", async () => {
    const ns = await freshNamespace('rr-appns', ['dr']);
    const missing = `rr-missing-${randomBytes(3).toString('hex')}`;
    const objects = [configMap(ns, 'a', { k: 'v' }), service(ns, 'web')];
    const b = await wide.bundle(missing, 'web', 1, objects);
    await assert.rejects(wide.apply(b.path), (err: unknown) => {
      assert.ok(isRelayError(err, 'PREFLIGHT_FAILED'), String(err));
      assert.match((err as Error).message, new RegExp(`namespace ${missing} .*status ConfigMap.*Nothing was written`));
      return true;
    });
    for (const o of objects) assert.equal(await rv(o), undefined, `${o.kind} ${o.metadata.name} must not exist`);
  });

  it('a tampered or unsigned bundle → verification code, zero writes', async () => {
    const ns = await freshNamespace('rr-tamper', ['dr']);
    const objects = [configMap(ns, 'a', { k: 'v' })];
    const b = await release.bundle(ns, 'web', 1, objects);
    const bytes = readFileSync(b.path);
    const at = bytes.indexOf(Buffer.from('k: v'));
    assert.ok(at > 0, 'the manifest text is in the tar');
    bytes[at + 3] = 'w'.charCodeAt(0); // same size, different content
    writeFileSync(b.path, bytes);
    await assert.rejects(release.apply(b.path), (err: unknown) => isRelayError(err, 'DIGEST_MISMATCH') || isRelayError(err, 'FILE_DIGEST_MISMATCH'));
    const other = new Release(); // signed by a key the policy does not trust
    const b2 = await other.bundle(ns, 'web', 2, objects);
    await assert.rejects(release.apply(b2.path), (err: unknown) => isRelayError(err, 'UNKNOWN_KEY') || isRelayError(err, 'THRESHOLD_NOT_MET'));
    assert.equal(await rv(objects[0]!), undefined);
    assert.equal(await new StatusWriter(kubeConfig('dr'), `${ns}/web`).read(), undefined);
  });

  it('refuses NOT_OWNED for an existing object rollout-relay did not create, unless adoption is configured', async () => {
    const ns = await freshNamespace('rr-owned', ['dr']);
    await kubeConfig('dr').makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'theirs' }, data: { k: 'theirs' } } });
    const b = await release.bundle(ns, 'web', 1, [configMap(ns, 'theirs', { k: 'ours' }), configMap(ns, 'mine', { k: 'v' })]);
    await assert.rejects(release.apply(b.path), (err: unknown) => {
      assert.ok(isRelayError(err, 'NOT_OWNED'), String(err));
      assert.match((err as Error).message, /ConfigMap .*theirs/);
      return true;
    });
    assert.equal(await rv(configMap(ns, 'mine', {})), undefined, 'nothing written');
    const r = await release.apply(b.path, { adopt: true, force: true });
    assert.equal(r.report.result, 'completed');
    const cm = await live<V1ConfigMap>('v1', 'ConfigMap', 'theirs', ns);
    assert.equal(cm.data?.k, 'ours');
  });

  it('reports a conflict with another field manager by field (APPLY_CONFLICT); --force-conflicts takes it over', async () => {
    const ns = await freshNamespace('rr-conflict', ['dr']);
    const cm = configMap(ns, 'shared', { owner: 'relay' });
    const b1 = await release.bundle(ns, 'web', 1, [cm]);
    await release.apply(b1.path);
    // Someone else takes the field with their own manager.
    await objectApi().patch({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: ns }, data: { owner: 'human' } }, undefined, undefined, 'kubectl-edit', true, 'application/apply-patch+yaml');
    const b2 = await release.bundle(ns, 'web', 2, [configMap(ns, 'shared', { owner: 'relay-2' })]);
    await assert.rejects(release.apply(b2.path), (err: unknown) => {
      assert.ok(isRelayError(err, 'APPLY_CONFLICT'), String(err));
      assert.deepEqual((err as ApplyError).problems[0]!.fields, [{ field: '.data.owner', manager: 'kubectl-edit' }]);
      return true;
    });
    const r = await release.apply(b2.path, { force: true });
    assert.equal(r.report.result, 'completed');
    assert.equal((await live<V1ConfigMap>('v1', 'ConfigMap', 'shared', ns)).data?.owner, 'relay-2');
  });

  it('prunes exactly the dropped objects; a second identical apply writes nothing', async () => {
    const ns = await freshNamespace('rr-prune', ['dr']);
    const keep = [configMap(ns, 'keep', { k: '1' }), service(ns, 'web'), deployment(ns, 'web', { replicas: 1 })];
    const dropped = [configMap(ns, 'drop-1', { k: '1' }), configMap(ns, 'drop-2', { k: '2' })];
    // An object we never created, in the same namespace: must survive the prune.
    await kubeConfig('dr').makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'bystander' }, data: { k: 'x' } } });
    await release.apply((await release.bundle(ns, 'web', 1, [...keep, ...dropped])).path);
    const b2 = await release.bundle(ns, 'web', 2, keep);
    const r = await release.apply(b2.path);
    assert.deepEqual(r.report.pruned.sort(), [`ConfigMap ${ns}/drop-1`, `ConfigMap ${ns}/drop-2`]);
    for (const o of dropped) assert.equal(await rv(o), undefined);
    for (const o of keep) assert.ok(await rv(o));
    assert.ok(await rv(configMap(ns, 'bystander', {})));

    const before = await Promise.all([...keep, configMap(ns, 'rollout-relay-status-web', {})].map(rv));
    const again = await release.apply(b2.path);
    assert.equal(again.sequenceCheck, 'reapply');
    assert.equal(again.report.result, 'unchanged');
    const after = await Promise.all([...keep, configMap(ns, 'rollout-relay-status-web', {})].map(rv));
    assert.deepEqual(after, before, 'resourceVersions unchanged, status included');
  });

  it('re-applying the same bundle after someone edited an object puts the signed value back (drift is never skipped)', async () => {
    const ns = await freshNamespace('rr-drift', ['dr']);
    const objects = [configMap(ns, 'settings', { mode: 'signed' }), configMap(ns, 'other', { k: '1' }), service(ns, 'web')];
    const b = await release.bundle(ns, 'web', 1, objects);
    await release.apply(b.path);
    // A hand edit with another field manager, after the apply completed.
    await new Promise((r) => setTimeout(r, 1100));
    await kubeConfig('dr').makeApiClient(CoreV1Api).patchNamespacedConfigMap(
      { name: 'settings', namespace: ns, fieldManager: 'kubectl-edit', body: { data: { mode: 'edited', extra: 'x' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const untouched = await rv(objects[1]!);
    const again = await release.apply(b.path, { force: true });
    assert.equal(again.sequenceCheck, 'reapply');
    assert.equal(again.report.result, 'completed');
    const cm = await live<V1ConfigMap>('v1', 'ConfigMap', 'settings', ns);
    assert.equal(cm.data?.mode, 'signed');
    assert.deepEqual(again.report.applied.filter((a) => a.action !== 'unchanged').map((a) => a.object), [`ConfigMap ${ns}/settings`]);
    assert.equal(await rv(objects[1]!), untouched, 'objects nobody touched are not written');
  });

  it('a Deployment that never becomes ready → deadline → automatic rollback, status rolled-back, previous pods untouched and healthy', async () => {
    const ns = await freshNamespace('rr-rollback', ['dr']);
    const v1 = [configMap(ns, 'settings', { v: '1' }), deployment(ns, 'web', { replicas: 2, image: 'registry.example/web:1' })];
    await release.apply((await release.bundle(ns, 'web', 1, v1)).path);
    const podsBefore = await podUids(ns, 'web');
    assert.equal(podsBefore.length, 2);

    const v2 = [
      configMap(ns, 'settings', { v: '2' }), configMap(ns, 'added-by-v2', { v: '2' }),
      deployment(ns, 'web', { replicas: 2, image: 'registry.example/web:2', nodeSelector: { 'rollout-relay.io/no-such-node': 'true' } }),
    ];
    const b2 = await release.bundle(ns, 'web', 2, v2);
    await assert.rejects(release.apply(b2.path, { timeoutMs: 6000 }), (err: unknown) => {
      assert.ok(isRelayError(err, 'ROLLED_BACK'), String(err));
      assert.ok(isRelayError((err as Error).cause, 'HEALTH_TIMEOUT'));
      return true;
    });
    const status = await new StatusWriter(kubeConfig('dr'), `${ns}/web`).read();
    assert.equal(status?.record.state, 'rolled-back');
    assert.equal(status?.record.sequence, 2);
    assert.match(status!.record.message, /HEALTH_TIMEOUT/);
    assert.equal((await live<V1ConfigMap>('v1', 'ConfigMap', 'settings', ns)).data?.v, '1');
    assert.equal(await rv(configMap(ns, 'added-by-v2', {})), undefined, 'what v2 added is gone');
    const apps = kubeConfig('dr').makeApiClient(AppsV1Api);
    let d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    for (let i = 0; i < 40 && !(d.status?.observedGeneration === d.metadata?.generation && d.status?.updatedReplicas === 2 && d.status?.replicas === 2 && d.status?.availableReplicas === 2); i++) {
      await new Promise((r) => setTimeout(r, 250));
      d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    }
    assert.equal(d.spec?.template.spec?.containers[0]?.image, 'registry.example/web:1');
    assert.equal(d.status?.availableReplicas, 2);
    assert.deepEqual(await podUids(ns, 'web'), podsBefore, 'the previous pods were never replaced');
  });
});
