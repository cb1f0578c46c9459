import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { KubeObject } from '../../../src/bundle/index.js';
import { BundleScope, describeScope, globMatch, namespaceMatches, OutOfScopeError, parseTrustPolicy, type KindResolver, type TrustPolicy } from '../../../src/policy/index.js';
import { expectCode, TEST_KEYS } from '../../helpers/bundle-fixtures.js';

const KEY_FILES = { ec: 'test-ecdsa', ed: 'test-ed25519', rsa: 'test-rsa-pss' } as const;
type KeyName = keyof typeof KEY_FILES;

/** A policy over the test keys; `scope` and per-key scopes as YAML flow text. */
function policy(opts: { scope?: string; keys?: Partial<Record<KeyName, string | null>>; threshold?: number } = {}): TrustPolicy {
  const keys = opts.keys ?? { ed: null };
  const list = Object.entries(keys).map(([name, scope]) =>
    `  - name: ${name}\n    publicKey: ${join(TEST_KEYS, `${KEY_FILES[name as KeyName]}.pub`)}\n${scope ? `    scope: ${scope}\n` : ''}`).join('');
  return parseTrustPolicy(`apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nthreshold: ${opts.threshold ?? 1}\n${opts.scope ? `scope: ${opts.scope}\n` : ''}keys:\n${list}`);
}

function scopeFor(p: TrustPolicy, counted: KeyName[] = ['ed'], resolveKind?: KindResolver): BundleScope {
  return new BundleScope(p, counted.map((n) => p.keys.find((k) => k.name === n)!.keyId), 'shop/web', resolveKind);
}

const cm = (namespace: string | undefined, name = 'settings'): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(namespace ? { namespace } : {}) } });
const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const crb = (extra: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'web-admin', ...extra },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
});
const crd = (scope: 'Namespaced' | 'Cluster'): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.io' },
  spec: { group: 'example.io', scope, names: { kind: 'Widget', plural: 'widgets' } },
});
const widget = (namespace?: string): KubeObject => ({ apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w', ...(namespace ? { namespace } : {}) } });

async function refused(scope: BundleScope, objects: KubeObject[]): Promise<string[]> {
  const err = await expectCode(() => scope.admit(objects), 'OUT_OF_SCOPE');
  assert.ok(err instanceof OutOfScopeError);
  assert.equal(err.total, err.violations.length);
  return err.violations.map((v) => `${v.object}: ${v.reason}`);
}

describe('scope: what a signed bundle may change', () => {
  it('globs: * and ? match whole names; ! excludes; everything else is literal', () => {
    assert.ok(globMatch('shop-*', 'shop-eu'));
    assert.ok(!globMatch('shop-*', 'shop'));
    assert.ok(globMatch('shop-?', 'shop-1'));
    assert.ok(!globMatch('shop-?', 'shop-12'));
    assert.ok(!globMatch('a.b', 'axb'), 'a dot is a dot');
    assert.ok(globMatch('*', ''));
    assert.ok(namespaceMatches(['shop', 'shop-*', '!shop-secret'], 'shop-eu'));
    assert.ok(!namespaceMatches(['shop', 'shop-*', '!shop-secret'], 'shop-secret'));
    assert.ok(!namespaceMatches(['!kube-system'], 'default'), 'only exclusions allow nothing');
    assert.ok(namespaceMatches(['*', '!kube-*'], 'default'));
    assert.ok(!namespaceMatches(['*', '!kube-*'], 'kube-system'));
  });

  it('the default scope: only the application namespace and its Namespace object', async () => {
    const s = scopeFor(policy());
    assert.deepEqual(await s.admit([ns('shop'), cm('shop')]), [ns('shop'), cm('shop')]);
    const why = await refused(s, [ns('shop'), cm('kube-system'), crb({ namespace: 'shop' }), ns('other')]);
    assert.equal(why.length, 3);
    assert.match(why[0]!, /^ConfigMap kube-system\/settings: namespace kube-system is not the application's namespace shop/);
    // A namespace field on a cluster-scoped kind changes nothing: it is judged cluster-wide.
    assert.match(why[1]!, /^ClusterRoleBinding web-admin: cluster-scoped kind rbac\.authorization\.k8s\.io\/ClusterRoleBinding is not allowed \(the default scope allows none but the application's Namespace; list it in scope\.clusterResources\)/);
    assert.match(why[2]!, /^Namespace other: namespace other is not the application's namespace shop/);
  });

  it('namespaces globs, cluster-scoped kinds, and deny lists', async () => {
    const s = scopeFor(policy({
      scope: '{namespaces: [shop, "shop-*", "!shop-secret"], clusterResources: [{group: apiextensions.k8s.io, kind: CustomResourceDefinition}, {group: "", kind: Namespace}, {group: "rbac.authorization.k8s.io", kind: "*"}], clusterResourceDeny: [{group: "*", kind: ClusterRoleBinding}], namespaceResourceDeny: [{group: "", kind: ResourceQuota}]}',
    }));
    await s.admit([cm('shop-eu'), crd('Namespaced'), ns('shop-eu'), { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } }]);
    const why = await refused(s, [
      cm('shop-secret'), ns('kube-system'), crb(), { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'shop' } },
      { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' } },
    ]);
    assert.deepEqual(why.map((w) => w.split(':')[0]), ['ConfigMap shop-secret/settings', 'Namespace kube-system', 'ClusterRoleBinding web-admin', 'ResourceQuota shop/q', 'StorageClass fast']);
    assert.match(why[2]!, /denied by scope's clusterResourceDeny/);
    assert.match(why[3]!, /kind core\/ResourceQuota is denied by scope's namespaceResourceDeny/);
    assert.match(why[4]!, /storage\.k8s\.io\/StorageClass is not in scope's clusterResources/);
  });

  it('namespaceResources limits the kinds inside allowed namespaces', async () => {
    const s = scopeFor(policy({ scope: '{namespaceResources: [{group: apps, kind: "*"}, {group: "", kind: ConfigMap}]}' }));
    await s.admit([cm('shop'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'shop' } }]);
    assert.match((await refused(s, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'shop' } }]))[0]!, /core\/Secret is not in scope's namespaceResources/);
  });

  it("rollout-relay's own ConfigMaps and Secrets are reserved, whatever the scope", async () => {
    const s = scopeFor(policy({ scope: '{namespaces: ["*"], clusterResources: [{group: "*", kind: "*"}]}' }));
    const why = await refused(s, [cm('shop', 'rollout-relay-status-web'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rollout-relay-bundle-web-0', namespace: 'shop' } }, cm('shop', 'rollout-relayish')]);
    assert.equal(why.length, 2);
    assert.match(why[0]!, /reserved/);
  });

  it('a key narrows the policy-wide scope; with a threshold, enough of the counted keys must allow each object', async () => {
    const p = policy({
      threshold: 2,
      scope: '{namespaces: [shop, shop-extra, shop-more]}',
      keys: { ec: null, ed: '{namespaces: [shop]}', rsa: '{namespaces: [shop, shop-extra]}' },
    });
    // Only ec and ed counted: shop-extra is allowed by ec alone, 1 of the 2 required.
    const why = await refused(scopeFor(p, ['ec', 'ed']), [cm('shop'), cm('shop-extra')]);
    assert.equal(why.length, 1);
    assert.match(why[0]!, /^ConfigMap shop-extra\/settings: allowed by 1 of the 2 signing keys required \(ed: namespace shop-extra is outside key ed's scope's namespaces \(shop\)\)/);
    await scopeFor(p, ['ec', 'rsa']).admit([cm('shop'), cm('shop-extra')]);
    await scopeFor(p, ['ec', 'ed', 'rsa']).admit([cm('shop-extra')]);
    // The policy-wide scope binds every key: a key cannot widen it.
    assert.match((await refused(scopeFor(p, ['ec', 'rsa']), [cm('elsewhere')]))[0]!, /outside scope's namespaces/);
    const narrowOnly = policy({ keys: { ed: '{namespaces: ["*"]}' } });
    assert.match((await refused(scopeFor(narrowOnly), [cm('other')]))[0]!, /not the application's namespace shop/);
  });

  it('objects without a namespace count as the application namespace only after defaulting, as apply writes them', async () => {
    const s = scopeFor(policy());
    const [defaulted] = await s.admit([cm(undefined)]);
    assert.equal(defaulted!.metadata.namespace, 'shop');
    // The application namespace outside an explicit scope: no smuggling through a missing namespace.
    const elsewhere = scopeFor(policy({ scope: '{namespaces: [team-*]}' }));
    assert.match((await refused(elsewhere, [cm(undefined)]))[0]!, /^ConfigMap shop\/settings: namespace shop is outside scope's namespaces \(team-\*\)/);
  });

  it('custom kinds: the bundle CRD decides, a namespace-less unknown kind is refused offline unless the scope lists it', async () => {
    const s = scopeFor(policy());
    const crds = scopeFor(policy({ scope: '{clusterResources: [{group: apiextensions.k8s.io, kind: CustomResourceDefinition}]}' }));
    const [w] = await crds.admit([widget(), crd('Namespaced')]);
    assert.equal(w?.metadata.namespace, 'shop', 'defaulted like a ConfigMap, although its CRD comes after it');
    // A cluster-scoped CRD: a namespace field does not make its objects namespaced.
    const cluster = await refused(crds, [widget('shop'), crd('Cluster')]);
    assert.deepEqual(cluster.map((c) => c.split(':')[0]), ['Widget w']);
    // No CRD, no namespace, nothing to ask: refused unless allowed both cluster-wide and in the application namespace.
    assert.match((await refused(s, [widget()]))[0]!, /^Widget w: kind example\.io\/Widget has no namespace and cannot be resolved offline/);
    await scopeFor(policy({ scope: '{clusterResources: [{group: example.io, kind: Widget}]}' })).admit([widget()]);
    // With a namespace and no way to resolve the kind: judged in that namespace.
    await s.admit([widget('shop')]);
    // A resolver (apply: the target's API discovery) settles unknown kinds.
    const asked: string[] = [];
    const resolve: KindResolver = async (apiVersion, kind) => (asked.push(`${apiVersion} ${kind}`), 'Cluster');
    assert.match((await refused(scopeFor(policy(), ['ed'], resolve), [widget('shop'), widget('shop')]))[0]!, /cluster-scoped kind example\.io\/Widget/);
    assert.deepEqual(asked, ['example.io/v1 Widget'], 'asked once per kind');
  });

  it('names at most 100 offenders and counts the rest', async () => {
    const many = Array.from({ length: 130 }, (_, i) => cm('other', `c${i}`));
    const err = await expectCode(() => scopeFor(policy()).admit(many), 'OUT_OF_SCOPE');
    assert.ok(err instanceof OutOfScopeError);
    assert.equal(err.total, 130);
    assert.equal(err.violations.length, 100);
    assert.match(err.message, /^130 object\(s\) of shop\/web are outside the trust policy's scope; nothing was written/);
    assert.match(err.message, /and 30 more$/);
  });

  it('partition (rollback): the objects inside, defaulted, and why the others are outside, without throwing', async () => {
    const r = await scopeFor(policy()).partition([cm(undefined, 'a'), cm('kube-system', 'b'), crb(), cm('shop', 'c')]);
    assert.deepEqual(r.inside.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['shop/a', 'shop/c']);
    assert.deepEqual(r.outside.map((v) => v.object), ['ConfigMap kube-system/b', 'ClusterRoleBinding web-admin']);
  });

  it('prune entries: judged by kind, the inventory namespace as recorded', async () => {
    const s = scopeFor(policy());
    const out = await s.outside([
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', namespace: 'shop' },
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'b', namespace: 'kube-system' },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'x' },
      { apiVersion: 'example.io/v1', kind: 'Widget', name: 'w', namespace: 'shop' },
    ]);
    assert.deepEqual(out.map((o) => o.object), ['ConfigMap kube-system/b', 'ClusterRoleBinding x']);
  });

  it('refuses a malformed scope with POLICY_INVALID', async () => {
    for (const scope of ['{namespaces: ["Shop"]}', '{clusterResources: [{kind: CustomResourceDefinition}]}', '{unknown: 1}', '{namespaces: shop}', '{namespaceResourceDeny: [{group: "", kind: "Resource Quota"}]}']) {
      await expectCode(() => policy({ scope }), 'POLICY_INVALID');
      await expectCode(() => policy({ keys: { ed: scope } }), 'POLICY_INVALID');
    }
  });

  it('describeScope: each key\'s effective scope as plain JSON', () => {
    const p = parseTrustPolicy([
      'apiVersion: rollout-relay.io/v1', 'kind: TrustPolicy',
      'scope: {namespaces: [shop, "shop-*"], clusterResources: [{group: apiextensions.k8s.io, kind: CustomResourceDefinition}], namespaceResourceDeny: [{group: "", kind: ResourceQuota}]}',
      'keys:',
      `  - {name: wide, publicKey: ${join(TEST_KEYS, 'test-ecdsa.pub')}}`,
      `  - {name: narrow, publicKey: ${join(TEST_KEYS, 'test-ed25519.pub')}, targets: [beijing], scope: {namespaces: [shop]}}`,
      '',
    ].join('\n'));
    const d = describeScope(p, { target: 'shenzhen' });
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d, 'plain JSON');
    assert.equal(d.enforced, true);
    assert.deepEqual(d.reserved, ['ConfigMap rollout-relay-*', 'Secret rollout-relay-*']);
    assert.deepEqual(d.keys.map((k) => [k.key, k.counts, k.layers.map((l) => l.from)]), [['wide', true, ['policy']], ['narrow', false, ['policy', 'key']]]);
    assert.deepEqual(d.keys[0]!.layers[0]!.scope, {
      namespaces: ['shop', 'shop-*'], clusterResources: ['apiextensions.k8s.io/CustomResourceDefinition'], clusterResourceDeny: [], namespaceResources: 'any', namespaceResourceDeny: ['core/ResourceQuota'],
    });
    assert.equal(d.keys[0]!.summary, 'namespaces shop, shop-*; cluster kinds apiextensions.k8s.io/CustomResourceDefinition; namespaced kinds denied core/ResourceQuota');
    assert.match(d.keys[1]!.summary, /^does not count for target shenzhen; .* \| narrowed by the key to: namespaces shop; cluster kinds any$/);
    const dflt = describeScope(policy(), { application: 'shop/web' });
    assert.deepEqual(dflt.keys[0]!.layers, [{ from: 'default', scope: { namespaces: ['shop'], clusterResources: [], clusterResourceDeny: [], namespaceResources: 'any', namespaceResourceDeny: [] } }]);
    assert.deepEqual(describeScope(policy()).keys[0]!.layers[0]!.scope.namespaces, ['<application namespace>']);
  });
});
