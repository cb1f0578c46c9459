import assert from 'node:assert/strict';
import { applyOrderKey, sortForApply, sortForDelete, type KubeObject } from '../../../src/bundle/index.js';
import { expectCode } from '../../helpers/bundle-fixtures.js';

const o = (kind: string, name: string, extra: Partial<KubeObject['metadata']> = {}, apiVersion = 'v1'): KubeObject => ({ apiVersion, kind, metadata: { name, ...extra } });

describe('bundle apply order (design §4)', () => {
  it('orders Namespaces, CRDs, cluster RBAC, ConfigMaps/Secrets, Services, workloads, then the rest', () => {
    const input = [
      o('Ingress', 'web', {}, 'networking.k8s.io/v1'),
      o('Rollout', 'web', {}, 'argoproj.io/v1alpha1'),
      o('Deployment', 'api', {}, 'apps/v1'),
      o('Service', 'web'),
      o('Secret', 'tls'),
      o('ConfigMap', 'cfg'),
      o('ClusterRoleBinding', 'crb', {}, 'rbac.authorization.k8s.io/v1'),
      o('ClusterRole', 'cr', {}, 'rbac.authorization.k8s.io/v1'),
      o('CustomResourceDefinition', 'rollouts.argoproj.io', {}, 'apiextensions.k8s.io/v1'),
      o('Namespace', 'shop'),
      o('Widget', 'w', {}, 'example.com/v1'),
    ];
    assert.deepEqual(
      sortForApply(input).map((x) => x.kind),
      ['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Service', 'Deployment', 'Rollout', 'Ingress', 'Widget'],
    );
  });

  it('respects argocd.argoproj.io/sync-wave before kind (negative waves first)', () => {
    const input = [o('Namespace', 'late', { annotations: { 'argocd.argoproj.io/sync-wave': '5' } }), o('Job', 'migrate', { annotations: { 'argocd.argoproj.io/sync-wave': '-1' } }, 'batch/v1'), o('ConfigMap', 'c')];
    assert.deepEqual(sortForApply(input).map((x) => x.metadata.name), ['migrate', 'c', 'late']);
    assert.equal(applyOrderKey(input[1]!).wave, -1);
  });

  it('is total and stable: ties broken by namespace, name and API group; delete order is the reverse', () => {
    const a = o('ConfigMap', 'a', { namespace: 'y' });
    const b = o('ConfigMap', 'a', { namespace: 'x' });
    const c = o('ConfigMap', 'b', { namespace: 'x' });
    assert.deepEqual(sortForApply([a, c, b]), [b, c, a]);
    assert.deepEqual(sortForDelete([a, c, b]), [a, c, b]);
  });

  it('refuses a sync-wave that is not an integer (MALFORMED)', async () => {
    await expectCode(() => applyOrderKey(o('ConfigMap', 'c', { annotations: { 'argocd.argoproj.io/sync-wave': 'soon' } })), 'MALFORMED');
  });
});
