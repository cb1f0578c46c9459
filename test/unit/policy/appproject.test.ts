import assert from 'node:assert/strict';
import { scopeFromAppProject } from '../../../src/policy/index.js';
import { expectCode } from '../../helpers/bundle-fixtures.js';

const project = (spec: Record<string, unknown>) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: 'shop', namespace: 'argocd' }, spec });

describe('scope from an Argo CD AppProject', () => {
  it('maps destinations and the four resource lists one to one', () => {
    const r = scopeFromAppProject(project({
      sourceRepos: ['*'],
      destinations: [
        { server: 'https://kubernetes.default.svc', namespace: 'shop' },
        { name: 'shenzhen', namespace: 'shop-*' },
        { name: 'shenzhen', namespace: '!shop-secret' },
        { name: 'shenzhen', namespace: 'shop' },
      ],
      clusterResourceWhitelist: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }, { group: '', kind: 'Namespace' }],
      clusterResourceBlacklist: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' }],
      namespaceResourceBlacklist: [{ group: '', kind: 'ResourceQuota' }, { group: '', kind: 'LimitRange' }],
    }));
    assert.deepEqual(r, {
      scope: {
        namespaces: ['shop', 'shop-*', '!shop-secret'],
        clusterResources: [{ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }, { group: '', kind: 'Namespace' }],
        clusterResourceDeny: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' }],
        namespaceResourceDeny: [{ group: '', kind: 'ResourceQuota' }, { group: '', kind: 'LimitRange' }],
      },
      warnings: [],
    });
  });

  it('keeps only the destinations of one cluster when asked (name or server, globs allowed)', () => {
    const spec = { destinations: [{ name: 'shenzhen', namespace: 'dr-shop' }, { server: 'https://primary:6443', namespace: 'shop' }, { name: 'shen*', namespace: 'dr-extra' }] };
    assert.deepEqual(scopeFromAppProject(project(spec), { cluster: 'shenzhen' }).scope.namespaces, ['dr-shop', 'dr-extra']);
    assert.deepEqual(scopeFromAppProject(project(spec), { cluster: 'https://primary:6443' }).scope.namespaces, ['shop']);
    const none = scopeFromAppProject(project(spec), { cluster: 'beijing' });
    assert.deepEqual(none.scope.namespaces, []);
    assert.match(none.warnings.join('\n'), /no destination for cluster beijing names a namespace: the scope allows no namespace/);
  });

  it('an empty whitelist allows no cluster-scoped kind; an empty namespace whitelist allows every namespaced kind', () => {
    const r = scopeFromAppProject(project({ destinations: [{ name: 'in-cluster', namespace: '*' }], namespaceResourceWhitelist: [] }));
    assert.deepEqual(r.scope, { namespaces: ['*'], clusterResources: [] });
    const only = scopeFromAppProject(project({ destinations: [{ name: 'x', namespace: 'shop' }], namespaceResourceWhitelist: [{ group: 'apps', kind: 'Deployment' }] }));
    assert.deepEqual(only.scope.namespaceResources, [{ group: 'apps', kind: 'Deployment' }]);
  });

  it('what a scope cannot express becomes the stricter reading, with a warning', () => {
    const r = scopeFromAppProject(project({
      destinations: [{ name: 'x', namespace: 'shop' }, { name: 'x' }],
      clusterResourceWhitelist: [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'shop-reader' }],
      namespaceResourceWhitelist: [{ group: '', kind: 'ConfigMap', name: 'settings' }],
      namespaceResourceBlacklist: [{ group: '', kind: 'Secret', name: 'db' }],
    }));
    assert.deepEqual(r.scope, { namespaces: ['shop'], clusterResources: [], namespaceResources: [], namespaceResourceDeny: [{ group: '', kind: 'Secret' }] });
    assert.equal(r.warnings.length, 4);
    assert.match(r.warnings.join('\n'), /ClusterRole only by name "shop-reader".*left out/);
    assert.match(r.warnings.join('\n'), /denies Secret by name "db".*whole kind is denied/);
  });

  it('refuses what is not an AppProject, or cannot become a scope, with CONFIG_INVALID', async () => {
    await expectCode(() => scopeFromAppProject({ kind: 'Application', spec: {} }), 'CONFIG_INVALID');
    await expectCode(() => scopeFromAppProject(project({ destinations: 'shop' })), 'CONFIG_INVALID');
    await expectCode(() => scopeFromAppProject(project({ destinations: [{ name: 'x', namespace: 'Shop_1' }] })), 'CONFIG_INVALID');
    await expectCode(() => scopeFromAppProject(project({ clusterResourceWhitelist: [{ group: '' }] })), 'CONFIG_INVALID');
  });
});
