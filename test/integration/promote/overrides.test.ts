import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { createBundle, type TargetDifferences } from '../../../src/bundle/index.js';
import { Applier } from '../../../src/apply/index.js';
import { ApplicationExporter } from '../../../src/export/index.js';
import { prepareObjects } from '../../../src/bundle/index.js';
import { isRelayError } from '../../../src/errors.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { keySigner, loadPrivateKey, serializeEnvelope, signBundleDigest } from '../../../src/signing/index.js';
import { freshNamespace, kubeConfig, sandbox } from '../support/sandbox.js';
import { runCli, runCliInProcess } from '../../unit/cli/run-cli.js';
import { INSTANCE, RelaySetup, applyPrimary, cleanupDrNamespace, deleteDrNamespaces, drStatus, objects, readLive, waitComplete } from './support.js';

type Workload = KubernetesObject & { spec: { replicas?: number; template: { spec: { containers: { image: string }[] } } } };
type Ingress = KubernetesObject & { spec: { rules: { host: string }[] } };
type ConfigMap = KubernetesObject & { data: Record<string, string> };

const labels = (app: string) => ({ [INSTANCE]: app });

function deployment(ns: string, app: string, name: string, image: string, replicas: number): KubernetesObject {
  const sel = { app: name };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels: labels(app) },
    spec: { replicas, selector: { matchLabels: sel }, template: { metadata: { labels: sel }, spec: { containers: [{ name, image }] } } },
  } as KubernetesObject;
}

/** A storefront in primary: a ConfigMap with its database endpoint, a Service, an Ingress and a Deployment. */
function storefront(ns: string, image: string): KubernetesObject[] {
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-config', namespace: ns, labels: labels('shop') }, data: { DB_HOST: 'db.primary.internal', TIMEOUT: '3s' } } as KubernetesObject,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop', namespace: ns, labels: labels('shop') }, spec: { selector: { app: 'shop' }, ports: [{ port: 80, targetPort: 8080 }] } } as KubernetesObject,
    {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'shop', namespace: ns, labels: labels('shop') },
      spec: { rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }] },
    } as KubernetesObject,
    deployment(ns, 'shop', 'shop', image, 2),
  ];
}

const SHENZHEN_OVERRIDES = [
  { name: 'dr-host', select: { group: 'networking.k8s.io', kind: 'Ingress', name: 'shop' }, jsonPatch: [{ op: 'replace', path: '/spec/rules/0/host', value: 'shop.dr.example.com' }] },
  { name: 'dr-database', select: { kind: 'ConfigMap', name: '*-config' }, mergePatch: { data: { DB_HOST: 'db.shenzhen.internal' } } },
];

function dr(): { name: string; context: string; kubeconfig: string } {
  return { name: 'shenzhen', context: 'dr', kubeconfig: sandbox().kubeconfig };
}

describe('promote: per-target differences on the real sandbox (signed overrides, ignored fields, HPA-owned replicas)', function () {
  this.timeout(300_000);
  afterEach(deleteDrNamespaces);

  it('an Ingress host and a ConfigMap value differ in DR after promotion, the status names the overrides; a tampered override is refused (DIGEST_MISMATCH), DR unchanged', async () => {
    const ns = await freshNamespace('rr-ovr', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new RelaySetup({ targets: [{ ...dr(), overrides: SHENZHEN_OVERRIDES }] });
    await applyPrimary(storefront(ns, 'registry.example/shop:1'));
    await waitComplete('Deployment', ns, 'shop', 'registry.example/shop:1');

    const result = await setup.promoter().promote({ workload: { kind: 'Deployment', namespace: ns, name: 'shop' } });
    assert.deepEqual(result.targets.map((t) => t.state), ['completed'], JSON.stringify(result.targets));
    assert.equal((await readLive<Ingress>('dr', 'networking.k8s.io/v1', 'Ingress', ns, 'shop')).spec.rules[0]!.host, 'shop.dr.example.com');
    assert.deepEqual((await readLive<ConfigMap>('dr', 'v1', 'ConfigMap', ns, 'shop-config')).data, { DB_HOST: 'db.shenzhen.internal', TIMEOUT: '3s' });
    assert.equal((await readLive<Ingress>('primary', 'networking.k8s.io/v1', 'Ingress', ns, 'shop')).spec.rules[0]!.host, 'shop.example.com', 'primary is as it was');
    assert.equal((await readLive<ConfigMap>('primary', 'v1', 'ConfigMap', ns, 'shop-config')).data.DB_HOST, 'db.primary.internal');

    const st = await drStatus(`${ns}/shop`);
    assert.equal(st?.state, 'completed');
    assert.match(st?.overrides?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(st?.overrides?.applied, [
      { name: 'dr-host', type: 'jsonPatch', objects: [`networking.k8s.io/Ingress ${ns}/shop`] },
      { name: 'dr-database', type: 'mergePatch', objects: [`ConfigMap ${ns}/shop-config`] },
    ]);

    // The signed bundle of a second promotion, re-packed with another override under the original signature.
    const exporter = new ApplicationExporter(kubeConfig('primary'));
    const exported = await exporter.export(await exporter.readWorkload({ kind: 'Deployment', namespace: ns, name: 'shop' }));
    const meta = { source: { cluster: 'shanghai', namespace: ns, kind: 'Deployment', name: 'shop', revision: '1' }, application: `${ns}/shop`, sequence: result.sequence + 1, targets: ['shenzhen'], createdAt: new Date() };
    const differences = (overrides: typeof SHENZHEN_OVERRIDES): TargetDifferences[] => [{ target: 'shenzhen', overrides: overrides as TargetDifferences['overrides'], ignoreFields: [] }];
    const signed = createBundle(exported.objects, { ...meta, differences: differences(SHENZHEN_OVERRIDES) });
    const signer = keySigner(loadPrivateKey(readFileSync(join(setup.dir, 'release.key')), 'release.key'));
    const envelope = serializeEnvelope(await signBundleDigest('shop.bundle.tar', signed.digest, signed.index, [signer]));
    const evil = structuredClone(SHENZHEN_OVERRIDES);
    (evil[1]!.mergePatch as { data: Record<string, string> }).data.DB_HOST = 'db.attacker.example';
    const tampered = createBundle(exported.objects, { ...meta, differences: differences(evil) }); // consistent index.json, other digest
    const path = join(setup.dir, 'tampered.bundle.tar');
    writeFileSync(path, tampered.bytes);
    writeFileSync(`${path}.sig.json`, envelope);
    const before = (await readLive('dr', 'v1', 'ConfigMap', ns, 'shop-config')).metadata?.resourceVersion;
    const refused = await setup.promoter().promote({ workload: { kind: 'Deployment', namespace: ns, name: 'shop' } }, { bundlePath: path });
    assert.equal(refused.targets[0]!.code, 'DIGEST_MISMATCH', JSON.stringify(refused.targets));
    assert.equal(refused.targets[0]!.state, 'paused');
    const after = await readLive<ConfigMap>('dr', 'v1', 'ConfigMap', ns, 'shop-config');
    assert.equal(after.metadata?.resourceVersion, before, 'DR unchanged');
    assert.equal(after.data.DB_HOST, 'db.shenzhen.internal');
  });

  it('bad overrides are refused before any write, naming the override: a selector that matches nothing, a patch that does not apply, an immutable field', async () => {
    const ns = await freshNamespace('rr-ovr-bad', ['primary']);
    cleanupDrNamespace(ns);
    await applyPrimary(storefront(ns, 'registry.example/shop:1'));
    await waitComplete('Deployment', ns, 'shop', 'registry.example/shop:1');
    const cases: [unknown, RegExp][] = [
      [{ name: 'typo', select: { kind: 'Ingres' }, mergePatch: { spec: {} } }, /override "typo": its selector matches no object/],
      [{ name: 'second-rule', select: { kind: 'Ingress' }, jsonPatch: [{ op: 'replace', path: '/spec/rules/1/host', value: 'x' }] }, /override "second-rule" does not apply to networking.k8s.io\/Ingress/],
      [{ name: 'pin-ip', select: { kind: 'Service' }, mergePatch: { spec: { clusterIP: '10.0.0.10' } } }, /override "pin-ip" changes \/spec\/clusterIP/],
      [{ name: 'relabel', select: { kind: 'Deployment' }, mergePatch: { spec: { selector: { matchLabels: { app: 'other' } } } } }, /override "relabel" changes \/spec\/selector/],
    ];
    for (const [override, message] of cases) {
      const setup = new RelaySetup({ targets: [{ ...dr(), overrides: [override] }] });
      let caught: unknown;
      try {
        await setup.promoter().promote({ workload: { kind: 'Deployment', namespace: ns, name: 'shop' } });
      } catch (err) {
        caught = err;
      }
      assert.ok(isRelayError(caught, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${String(caught)}`);
      assert.match(caught.message, message);
      assert.match(caught.message, /nothing was written/);
    }
    await assert.rejects(readLive('dr', 'v1', 'Namespace', '', ns), (err: unknown) => (err as { code?: number }).code === 404, 'nothing reached DR');
  });

  it('an HPA in DR owns spec.replicas: promotions complete without APPLY_CONFLICT and the HPA\'s value stays; without an HPA, replicas follow primary', async () => {
    const ns = await freshNamespace('rr-ovr-hpa', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new RelaySetup({ targets: [dr()] });
    // One application, two workloads: `cart` gets an HPA in DR, `cart-worker` does not.
    const app = (image: string, replicas: number) => [deployment(ns, 'cart', 'cart', image, replicas), deployment(ns, 'cart', 'cart-worker', image, replicas)];
    await applyPrimary(app('registry.example/cart:1', 2));
    await waitComplete('Deployment', ns, 'cart', 'registry.example/cart:1');
    const first = await setup.promoter().promote({ workload: { kind: 'Deployment', namespace: ns, name: 'cart' } });
    assert.deepEqual(first.targets.map((t) => t.state), ['completed'], JSON.stringify(first.targets));
    assert.equal((await readLive<Workload>('dr', 'apps/v1', 'Deployment', ns, 'cart')).spec.replicas, 2, 'no HPA yet: replicas follow primary');

    // DR's own HPA (not part of the application); kube-controller-manager's HPA controller scales to minReplicas.
    await objects('dr').create({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'cart', namespace: ns },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart' }, minReplicas: 3, maxReplicas: 3 },
    } as KubernetesObject);
    await waitFor('the DR HPA scales cart to 3', async () => (await readLive<Workload>('dr', 'apps/v1', 'Deployment', ns, 'cart')).spec.replicas === 3, { timeoutMs: 120_000, intervalMs: 500 });

    // Primary moves on: new image and 4 replicas.
    await applyPrimary(app('registry.example/cart:2', 4));
    await waitComplete('Deployment', ns, 'cart', 'registry.example/cart:2');
    // The conflict this avoids is real: sending spec.replicas is refused by the server's dry run.
    const exporter = new ApplicationExporter(kubeConfig('primary'));
    const exported = await exporter.export(await exporter.readWorkload({ kind: 'Deployment', namespace: ns, name: 'cart' }));
    const withReplicas = new Applier(kubeConfig('dr'), `${ns}/cart`, { dryRun: true, hpaOwnsReplicas: false });
    await assert.rejects(withReplicas.apply({ application: `${ns}/cart`, objects: prepareObjects(exported.objects).objects, digest: '0'.repeat(64), sequence: Number.MAX_SAFE_INTEGER, revision: '2', sourceCluster: 'shanghai' }),
      (err: unknown) => isRelayError(err, 'APPLY_CONFLICT') && /spec\.replicas/.test(err.message));

    const second = await setup.promoter().promote({ workload: { kind: 'Deployment', namespace: ns, name: 'cart' } });
    assert.deepEqual(second.targets.map((t) => [t.state, t.code]), [['completed', undefined]], JSON.stringify(second.targets));
    const cart = await readLive<Workload>('dr', 'apps/v1', 'Deployment', ns, 'cart');
    assert.equal(cart.spec.template.spec.containers[0]!.image, 'registry.example/cart:2', 'the new revision reached DR');
    assert.equal(cart.spec.replicas, 3, 'the HPA\'s value stays');
    const worker = await readLive<Workload>('dr', 'apps/v1', 'Deployment', ns, 'cart-worker');
    assert.equal(worker.spec.replicas, 4, 'without an HPA, replicas follow primary');
    const st = await drStatus(`${ns}/cart`);
    assert.deepEqual(st?.overrides?.leftOut, [{ object: `apps/Deployment ${ns}/cart`, pointer: '/spec/replicas', reason: `hpa ${ns}/cart` }]);
    assert.equal(st?.overrides?.digest, '', 'no signed overrides, only the HPA default');
  });

  it('diff prints what DR would change (a changed image and an override, by server-side dry run) and nothing for an unchanged application', async () => {
    const ns = await freshNamespace('rr-ovr-diff', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new RelaySetup({ targets: [{ ...dr(), overrides: [SHENZHEN_OVERRIDES[1]] }] });
    await applyPrimary(storefront(ns, 'registry.example/shop:1'));
    await waitComplete('Deployment', ns, 'shop', 'registry.example/shop:1');
    const first = await setup.promoter().promote({ workload: { kind: 'Deployment', namespace: ns, name: 'shop' } });
    assert.deepEqual(first.targets.map((t) => t.state), ['completed'], JSON.stringify(first.targets));
    const diff = () => runCliInProcess('diff', `${ns}/shop`, '--config', setup.configPath, '--target', 'shenzhen');

    const unchanged = await diff();
    assert.equal(unchanged.code, 0, unchanged.stderr);
    assert.equal(unchanged.stdout, '', 'an application DR already runs prints nothing');

    // A new image in primary, and a new value for the override in the config.
    await applyPrimary(storefront(ns, 'registry.example/shop:2'));
    await waitComplete('Deployment', ns, 'shop', 'registry.example/shop:2');
    const changedOverride = { ...SHENZHEN_OVERRIDES[1]!, mergePatch: { data: { DB_HOST: 'db2.shenzhen.internal' } } };
    const setup2 = new RelaySetup({ targets: [{ ...dr(), overrides: [changedOverride] }] });
    const drBefore = (await readLive('dr', 'apps/v1', 'Deployment', ns, 'shop')).metadata?.resourceVersion;
    const changed = await runCliInProcess('diff', `${ns}/shop`, '--config', setup2.configPath, '--target', 'shenzhen');
    assert.equal(changed.code, 0, changed.stderr);
    const out = changed.stdout;
    assert.match(out, new RegExp(`--- live/ConfigMap ${ns}/shop-config`));
    assert.match(out, /^-\s+DB_HOST: db\.shenzhen\.internal$/m);
    assert.match(out, /^\+\s+DB_HOST: db2\.shenzhen\.internal$/m);
    assert.match(out, new RegExp(`--- live/Deployment ${ns}/shop`));
    assert.match(out, /^-\s+- image: registry\.example\/shop:1$/m);
    assert.match(out, /^\+\s+- image: registry\.example\/shop:2$/m);
    assert.doesNotMatch(out, /Ingress|Service /, 'objects that would not change are not shown');
    assert.doesNotMatch(out, /resourceVersion|managedFields/);
    assert.equal((await readLive('dr', 'apps/v1', 'Deployment', ns, 'shop')).metadata?.resourceVersion, drBefore, 'diff writes nothing');
    const json = await runCliInProcess('diff', `${ns}/shop`, '--config', setup2.configPath, '--target', 'shenzhen', '--json');
    const parsed = JSON.parse(json.stdout) as { changed: { object: string; action: string }[]; overrides: { name: string; objects: string[] }[] };
    assert.deepEqual(parsed.changed.map((c) => c.object).sort(), [`ConfigMap ${ns}/shop-config`, `Deployment ${ns}/shop`]);
    assert.deepEqual(parsed.overrides.map((o) => [o.name, o.objects]), [['dr-database', [`ConfigMap ${ns}/shop-config`]]]);
    // A bad override is refused as promote refuses it (the CLI in its own process: the exit code and the error line).
    const setup3 = new RelaySetup({ targets: [{ ...dr(), overrides: [{ name: 'typo', select: { kind: 'Ingres' }, mergePatch: { a: 1 } }] }] });
    const bad = await runCli(['diff', `${ns}/shop`, '--config', setup3.configPath, '--target', 'shenzhen']);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /^error CONFIG_INVALID: target shenzhen: 1 bad override/m);
    assert.match(bad.stderr, /override "typo": its selector matches no object/);
    process.stdout.write(`      diff output:\n${out.split('\n').map((l) => `        ${l}`).join('\n')}\n`);
  });
});
