import assert from 'node:assert/strict';
import { applicationOf, belongsTo, exportObject, neverExported, type LiveObject } from '../../../src/export/select.js';
import { createBundle } from '../../../src/bundle/index.js';
import { isRelayError } from '../../../src/errors.js';

const rollout = (labels: Record<string, string> = {}, annotations: Record<string, string> = {}): LiveObject => ({
  apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'checkout', namespace: 'shop', labels, annotations },
});

describe('export/select', () => {
  it('names the application after the instance label, else the workload', () => {
    assert.deepEqual(applicationOf(rollout({ 'app.kubernetes.io/instance': 'shop-checkout' })), { namespace: 'shop', app: 'shop-checkout', application: 'shop/shop-checkout' });
    assert.deepEqual(applicationOf(rollout()), { namespace: 'shop', app: 'checkout', application: 'shop/checkout' });
    assert.equal(applicationOf(rollout({}, { 'argocd.argoproj.io/tracking-id': 'argocd_shop:argoproj.io/Rollout:shop/checkout' })).argoApp, 'argocd_shop');
  });

  it('refuses an application name that is not a DNS-1123 label with CONFIG_INVALID naming the workload', () => {
    assert.throws(() => applicationOf(rollout({ 'app.kubernetes.io/instance': 'Shop.Checkout' })), (e) => isRelayError(e, 'CONFIG_INVALID') && e.message.includes('shop/checkout'));
    assert.throws(() => applicationOf(rollout({ 'app.kubernetes.io/instance': 'x'.repeat(64) })), (e) => isRelayError(e, 'CONFIG_INVALID'));
  });

  it('counts objects with the same instance label or the same Argo CD app in their tracking id', () => {
    const id = applicationOf(rollout({ 'app.kubernetes.io/instance': 'checkout' }, { 'argocd.argoproj.io/tracking-id': 'shop:argoproj.io/Rollout:shop/checkout' }));
    const cm = (labels: Record<string, string>, annotations: Record<string, string> = {}): LiveObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop', labels, annotations } });
    assert.ok(belongsTo(cm({ 'app.kubernetes.io/instance': 'checkout' }), id));
    assert.ok(belongsTo(cm({}, { 'argocd.argoproj.io/tracking-id': 'shop:/ConfigMap:shop/c' }), id));
    assert.ok(!belongsTo(cm({ 'app.kubernetes.io/instance': 'payments' }), id));
    assert.ok(!belongsTo(cm({}, { 'argocd.argoproj.io/tracking-id': 'other:/ConfigMap:shop/c' }), id));
    assert.ok(!belongsTo(cm({}), id));
  });

  it('never exports controller-made kinds', () => {
    assert.ok(neverExported('', 'Endpoints'));
    assert.ok(neverExported('discovery.k8s.io', 'EndpointSlice'));
    assert.ok(neverExported('', 'Event') && neverExported('events.k8s.io', 'Event'));
    assert.ok(!neverExported('', 'Service') && !neverExported('apps', 'Deployment'));
    const ep = exportObject({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-abc', namespace: 'shop' } }, { includeSecrets: true });
    assert.match(ep.drop ?? '', /controllers/);
  });

  it('leaves out Argo CD and Helm hook objects', () => {
    for (const a of ['argocd.argoproj.io/hook', 'helm.sh/hook']) {
      const d = exportObject({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: 'shop', annotations: { [a]: 'PreSync' } } }, { includeSecrets: false });
      assert.match(d.drop ?? '', /hook/);
    }
  });

  it('leaves out Secrets unless asked, and identity Secrets always', () => {
    const secret = (type: string): LiveObject => ({ apiVersion: 'v1', kind: 'Secret', type, metadata: { name: 's', namespace: 'shop' } });
    assert.match(exportObject(secret('Opaque'), { includeSecrets: false }).drop ?? '', /includeSecrets/);
    assert.ok(exportObject(secret('Opaque'), { includeSecrets: true }).keep);
    assert.ok(exportObject(secret('kubernetes.io/service-account-token'), { includeSecrets: true }).drop);
    assert.ok(exportObject(secret('helm.sh/release.v1'), { includeSecrets: true }).drop);
  });

  it('leaves out rollout-relay\'s own records', () => {
    const d = exportObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rollout-relay-source-checkout', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'rollout-relay' } } }, { includeSecrets: false });
    assert.ok(d.drop);
  });

  it('strips the Job controller\'s generated selector and labels (unless the selector is manual)', () => {
    const job: LiveObject = {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: { name: 'report', namespace: 'shop', labels: { app: 'report', 'controller-uid': 'u1', 'batch.kubernetes.io/controller-uid': 'u1', 'job-name': 'report', 'batch.kubernetes.io/job-name': 'report' } },
      spec: {
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } },
        template: { metadata: { labels: { app: 'report', 'controller-uid': 'u1', 'batch.kubernetes.io/controller-uid': 'u1', 'job-name': 'report', 'batch.kubernetes.io/job-name': 'report' } }, spec: {} },
      },
    };
    const kept = exportObject(job, { includeSecrets: false }).keep as { metadata: { labels: object }; spec: { selector?: unknown; template: { metadata: { labels: object } } } };
    assert.equal(kept.spec.selector, undefined);
    assert.deepEqual(kept.spec.template.metadata.labels, { app: 'report' });
    assert.deepEqual(kept.metadata.labels, { app: 'report' });
    const manual = exportObject({ ...job, spec: { ...(job.spec as object), manualSelector: true } }, { includeSecrets: false }).keep as { spec: { selector?: unknown } };
    assert.ok(manual.spec.selector);
    assert.ok((job.spec as { selector?: unknown }).selector, 'the input is not modified');
  });

  it('strips a PVC\'s bound volume and the binder\'s annotations', () => {
    const pvc: LiveObject = {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'shop', annotations: { 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes', 'volume.kubernetes.io/storage-provisioner': 'x', 'volume.beta.kubernetes.io/storage-provisioner': 'x', 'volume.kubernetes.io/selected-node': 'n1', keep: 'me' } },
      spec: { volumeName: 'pvc-123', resources: { requests: { storage: '1Gi' } } },
    };
    const kept = exportObject(pvc, { includeSecrets: false }).keep as { metadata: { annotations: object }; spec: { volumeName?: string } };
    assert.equal(kept.spec.volumeName, undefined);
    assert.deepEqual(kept.metadata.annotations, { keep: 'me' });
  });

  it('with the bundle\'s canonicalisation: no clusterIP, no tracking label or annotation, no controller-owned objects', () => {
    const objs: LiveObject[] = [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop', labels: { 'argocd.argoproj.io/instance': 'shop', 'app.kubernetes.io/instance': 'web' }, annotations: { 'argocd.argoproj.io/tracking-id': 'shop:/Service:shop/web' } }, spec: { clusterIP: '10.0.0.7', clusterIPs: ['10.0.0.7'], ports: [{ port: 80 }] } },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-abc', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u', controller: true }] } },
    ];
    const kept = objs.map((o) => exportObject(o, { includeSecrets: false }).keep!);
    const b = createBundle(kept, { source: { cluster: 'shanghai', namespace: 'shop', kind: 'Deployment', name: 'web' }, sequence: 1, createdAt: new Date(0) });
    assert.equal(b.objects.length, 1);
    const svc = b.objects[0]!;
    assert.deepEqual(svc.metadata.labels, { 'app.kubernetes.io/instance': 'web' });
    assert.equal(svc.metadata.annotations, undefined);
    assert.equal((svc.spec as { clusterIP?: string }).clusterIP, undefined);
    assert.equal(b.dropped.length, 1);
  });
});
