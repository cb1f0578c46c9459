import assert from 'node:assert/strict';
import type { KubernetesObject, V1ConfigMap, V1Deployment } from '@kubernetes/client-node';
import type { TargetDifferences } from '../../../src/bundle/index.js';
import { isRelayError } from '../../../src/errors.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { StatusWriter } from '../../../src/status/index.js';
import { freshNamespace, kubeConfig } from '../support/sandbox.js';
import { Release, configMap, deployment, live, objectApi } from './support.js';

const release = new Release();
const differences: TargetDifferences[] = [{
  target: 'shenzhen',
  overrides: [{ name: 'dr-database', select: { kind: 'ConfigMap', name: 'settings' }, mergePatch: { data: { db: 'db.shenzhen.internal' } } }],
  ignoreFields: [{ group: 'apps', kind: 'Deployment', pointers: ['/spec/template/metadata/annotations'] }],
}];

describe('apply: signed overrides and HPA-owned replicas through apply and rollback (real sandbox)', function () {
  this.timeout(180_000);

  it('apply uses the bundle\'s overrides for its target; a failed next bundle rolls back with them, never taking spec.replicas from the DR HPA', async () => {
    const ns = await freshNamespace('rr-apply-ovr', ['dr']);
    await objectApi().create({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: ns },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 3, maxReplicas: 3 },
    } as KubernetesObject);
    const v1 = [configMap(ns, 'settings', { v: '1', db: 'db.primary.internal' }), deployment(ns, 'web', { replicas: 2, image: 'registry.example/web:1' })];
    const first = await release.apply((await release.bundle(ns, 'web', 1, v1, '1', { differences })).path);
    assert.equal(first.report.result, 'completed');
    assert.deepEqual((await live<V1ConfigMap>('v1', 'ConfigMap', 'settings', ns)).data, { v: '1', db: 'db.shenzhen.internal' });
    assert.deepEqual(first.verified.differences?.applied, [{ name: 'dr-database', type: 'mergePatch', objects: [`ConfigMap ${ns}/settings`] }]);
    await waitFor('the DR HPA scales web to 3', async () => (await live<V1Deployment>('apps/v1', 'Deployment', 'web', ns)).spec?.replicas === 3, { timeoutMs: 120_000, intervalMs: 500 });

    const v2 = [configMap(ns, 'settings', { v: '2', db: 'db.primary.internal' }), deployment(ns, 'web', { replicas: 2, image: 'registry.example/web:2', nodeSelector: { 'rollout-relay.io/no-such-node': 'true' } })];
    await assert.rejects(release.apply((await release.bundle(ns, 'web', 2, v2, '2', { differences })).path, { timeoutMs: 6000 }), (err: unknown) => {
      assert.ok(isRelayError(err, 'ROLLED_BACK'), String(err));
      return true;
    });
    const status = await new StatusWriter(kubeConfig('dr'), `${ns}/web`).read();
    assert.equal(status?.record.state, 'rolled-back');
    assert.deepEqual((await live<V1ConfigMap>('v1', 'ConfigMap', 'settings', ns)).data, { v: '1', db: 'db.shenzhen.internal' }, 'the rollback re-applied v1 with its override');
    const web = await live<V1Deployment>('apps/v1', 'Deployment', 'web', ns);
    assert.equal(web.spec?.template.spec?.containers[0]?.image, 'registry.example/web:1');
    assert.equal(web.spec?.replicas, 3, 'the forced rollback did not take spec.replicas from the HPA');
    const ours = (web.metadata?.managedFields ?? []).filter((m) => m.manager === 'rollout-relay');
    assert.ok(ours.length > 0 && ours.every((m) => !JSON.stringify(m.fieldsV1 ?? {}).includes('"f:replicas"')), 'rollout-relay owns no spec.replicas');
  });
});
