import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import { runCli } from '../../unit/cli/run-cli.js';
import { freshNamespace, kubeConfig } from '../support/sandbox.js';
import { SourceRecord } from '../../../src/promote/index.js';
import { ApplicationExporter } from '../../../src/export/index.js';
import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify } from 'yaml';
import { expectCode } from '../../helpers/bundle-fixtures.js';
import { join } from 'node:path';
import { createBundle, writeBundleFile } from '../../../src/bundle/index.js';
import { keySigner, loadPrivateKey } from '../../../src/signing/index.js';
import { signBundleFile } from '../../../src/verify/index.js';
import {
  INSTANCE, RelaySetup, applyPrimary, argoApplication, cleanupDrNamespace, deleteDrNamespaces, deploymentApp, drStatus, drVersions, objects, readLive, rolloutApp,
  verificationFailedEvent, waitComplete,
} from './support.js';
import type { PromotionResult } from '../../../src/promote/types.js';

type Rollout = KubernetesObject & { status?: { stableRS?: string; currentPodHash?: string; phase?: string; availableReplicas?: number }; spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };

async function promoteCli(setup: RelaySetup, workload: string, ...flags: string[]): Promise<{ code: number; result?: PromotionResult; stderr: string; stdout: string }> {
  const r = await runCli(['promote', workload, '--config', setup.configPath, '--json', ...flags]);
  let result: PromotionResult | undefined;
  try {
    result = JSON.parse(r.stdout) as PromotionResult;
  } catch {
    result = undefined;
  }
  return { code: r.code, result, stderr: r.stderr, stdout: r.stdout };
}

/** The same pipeline in this process (the CLI costs seconds of start-up per call on a busy machine). */
async function promoteHere(setup: RelaySetup, kind: 'Rollout' | 'Deployment', ns: string, name: string): Promise<PromotionResult> {
  return setup.promoter().promote({ workload: { kind, namespace: ns, name } });
}

/**
 * A `promote --wait` refused in verification with `code`: exit 1, the target paused, a Warning
 * Event on the Rollout, the DR status paused with sequence and digest untouched, DR objects untouched.
 */
async function assertPausedUntouched(
  refused: Awaited<ReturnType<typeof promoteCli>>, code: string, ns: string,
  before: Awaited<ReturnType<typeof drStatus>>, versionsBefore: (string | undefined)[],
): Promise<void> {
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`^error ${code}: `, 'm'));
  assert.equal(refused.result!.targets[0]!.state, 'paused');
  assert.equal(refused.result!.targets[0]!.code, code);
  const warning = await verificationFailedEvent(ns, 'web');
  assert.ok(warning, 'a DRVerificationFailed Event on the Rollout');
  assert.equal(warning.type, 'Warning');
  assert.match(warning.message ?? '', new RegExp(code));
  const paused = await drStatus(`${ns}/web`);
  assert.equal(paused?.state, 'paused');
  assert.match(paused?.message ?? '', new RegExp(code));
  assert.equal(paused?.sequence, before?.sequence, 'sequence untouched');
  assert.equal(paused?.bundleDigest, before?.bundleDigest, 'digest untouched');
  assert.deepEqual(paused?.keyIds, before?.keyIds, 'key ids untouched');
  assert.deepEqual(await drVersions(ns, 'web'), versionsBefore, 'DR objects untouched');
}

describe('promote: the pipeline on the real sandbox', function () {
  this.timeout(300_000);
  afterEach(deleteDrNamespaces);

  it('image update of a Rollout in primary → promote --wait → DR runs the same pod-template-hash; status completed with digest, source_cluster and commit', async () => {
    const ns = await freshNamespace('rr-prom-ro', ['primary']); // DR starts empty: the Namespace comes from the signed bundle
    cleanupDrNamespace(ns);
    const argocd = await freshNamespace('rr-argocd', ['primary']);
    const setup = new RelaySetup({ extra: { argocd: { namespace: argocd } } });
    await argoApplication(argocd, 'checkout', '0123456789abcdef0123456789abcdef01234567');

    await applyPrimary(rolloutApp(ns, 'checkout', 'registry.example/checkout:1.0'));
    await waitComplete('Rollout', ns, 'checkout', 'registry.example/checkout:1.0');
    const first = await promoteCli(setup, `${ns}/checkout`);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.result!.targets.map((t) => t.state), ['completed']);

    // The image update: promote --wait waits for primary's rollout, then promotes it.
    await applyPrimary(rolloutApp(ns, 'checkout', 'registry.example/checkout:1.1'));
    const r = await promoteCli(setup, `${ns}/checkout`, '--wait');
    assert.equal(r.code, 0, r.stderr);
    const result = r.result!;
    const primary = await readLive<Rollout>('primary', 'argoproj.io/v1alpha1', 'Rollout', ns, 'checkout');
    assert.equal(primary.spec?.template?.spec?.containers?.[0]?.image, 'registry.example/checkout:1.1');
    assert.equal(result.podTemplateHash, primary.status?.stableRS);
    assert.ok(result.sequence > first.result!.sequence);
    assert.ok(result.phaseDurations.export !== undefined && result.phaseDurations.sign !== undefined && result.phaseDurations.apply !== undefined, JSON.stringify(result.phaseDurations));

    const dr = await readLive<Rollout>('dr', 'argoproj.io/v1alpha1', 'Rollout', ns, 'checkout');
    assert.equal(dr.status?.stableRS, primary.status?.stableRS, 'DR runs the same pod-template-hash');
    assert.equal(dr.status?.phase, 'Healthy');
    const st = await drStatus(`${ns}/checkout`);
    assert.equal(st?.state, 'completed');
    assert.equal(st?.bundleDigest, result.bundleDigest);
    assert.equal(st?.sourceCluster, 'shanghai');
    assert.equal(st?.sequence, result.sequence);
    assert.equal(st?.podTemplateHash, primary.status?.stableRS);
    assert.equal(st?.commit, '0123456789abcdef0123456789abcdef01234567');
    // key_ids: the key whose signature DR verified (release.key, the only trusted one).
    assert.deepEqual(st?.keyIds, [setup.releaseKeyId]);
    assert.deepEqual(st?.lastCompleted?.keyIds, [setup.releaseKeyId]);

    const src = await new SourceRecord(kubeConfig('primary'), `${ns}/checkout`).read();
    assert.equal(src?.record.sequence, result.sequence);
    assert.equal(src?.record.lastBundle?.digest, result.bundleDigest);
    assert.equal(src?.record.lastBundle?.commit, '0123456789abcdef0123456789abcdef01234567');
    assert.equal(src?.record.targets.shenzhen?.state, 'completed');
  });

  it('image update of a plain Deployment → promote → DR runs the same pod-template-hash, status completed', async () => {
    const setup = new RelaySetup();
    // This time DR already has the namespace (made by someone else): it is left as it is, not refused.
    const ns = await freshNamespace('rr-prom-dep', ['primary', 'dr']);
    const drNsBefore = (await readLive('dr', 'v1', 'Namespace', '', ns)).metadata?.resourceVersion;
    await applyPrimary(deploymentApp(ns, 'orders', 'registry.example/orders:1'));
    await waitComplete('Deployment', ns, 'orders', 'registry.example/orders:1');
    await applyPrimary(deploymentApp(ns, 'orders', 'registry.example/orders:2'));
    const hash = await waitComplete('Deployment', ns, 'orders', 'registry.example/orders:2');
    const result = await promoteHere(setup, 'Deployment', ns, 'orders');
    assert.deepEqual(result.targets.map((t) => t.state), ['completed'], JSON.stringify(result.targets));
    assert.equal(result.podTemplateHash, hash);
    const drRs = (await objects('dr').listRaw('apps/v1', 'ReplicaSet', ns)).items.filter((x) => (x.metadata?.annotations?.['deployment.kubernetes.io/revision']) !== undefined);
    assert.ok(drRs.some((x) => x.metadata?.labels?.['pod-template-hash'] === hash && ((x as { status?: { availableReplicas?: number } }).status?.availableReplicas ?? 0) === 2), 'DR runs the same pod-template-hash, all replicas available');
    const st = await drStatus(`${ns}/orders`);
    assert.equal(st?.state, 'completed');
    assert.equal(st?.bundleDigest, result.bundleDigest);
    assert.equal(st?.sourceCluster, 'shanghai');
    assert.equal(st?.podTemplateHash, hash);
    assert.equal((await readLive('dr', 'v1', 'Namespace', '', ns)).metadata?.resourceVersion, drNsBefore, 'the existing DR namespace was not written');
  });

  it('signing key not in the trust policy → Warning Event DRVerificationFailed on the primary Rollout, status paused, DR untouched; resume after fixing the policy → completed', async () => {
    const setup = new RelaySetup();
    const ns = await freshNamespace('rr-prom-pause', ['primary']);
    cleanupDrNamespace(ns);
    await applyPrimary(rolloutApp(ns, 'web', 'registry.example/web:1'));
    await waitComplete('Rollout', ns, 'web', 'registry.example/web:1');
    const first = await promoteHere(setup, 'Rollout', ns, 'web');
    assert.equal(first.targets[0]!.state, 'completed', first.targets[0]!.message);
    const before = await drStatus(`${ns}/web`);
    assert.deepEqual(before?.keyIds, [setup.releaseKeyId]);
    const versionsBefore = await drVersions(ns, 'web');

    setup.trust(false); // the release key is no longer trusted
    await applyPrimary(rolloutApp(ns, 'web', 'registry.example/web:2'));
    const refused = await promoteCli(setup, `${ns}/web`, '--wait');
    await assertPausedUntouched(refused, 'UNKNOWN_KEY', ns, before, versionsBefore);

    // Paused: no further promotions to that target, even with a good policy, until resume.
    setup.trust(true);
    const still = await promoteHere(setup, 'Rollout', ns, 'web');
    assert.equal(still.targets[0]!.state, 'paused');
    assert.equal(still.targets[0]!.code, 'PAUSED');
    assert.deepEqual(await drVersions(ns, 'web'), versionsBefore);

    const resume = await runCli(['resume', `${ns}/web`, '--target', 'shenzhen', '--config', setup.configPath]);
    assert.equal(resume.code, 0, resume.stderr);
    assert.equal((await drStatus(`${ns}/web`))?.state, 'pending');
    const again = await promoteHere(setup, 'Rollout', ns, 'web');
    assert.equal(again.targets[0]!.state, 'completed', again.targets[0]!.message);
    const st = await drStatus(`${ns}/web`);
    assert.equal(st?.state, 'completed');
    const primary = await readLive<Rollout>('primary', 'argoproj.io/v1alpha1', 'Rollout', ns, 'web');
    assert.equal(st?.podTemplateHash, primary.status?.stableRS);
  });

  it('a bundle with an object outside the trust policy\'s scope → promote pauses the target with OUT_OF_SCOPE (Warning Event, status paused), nothing written in DR; resume after widening the scope → completed', async () => {
    const setup = new RelaySetup();
    const ns = await freshNamespace('rr-prom-scope', ['primary']);
    cleanupDrNamespace(ns);
    const rbac = 'rbac.authorization.k8s.io';
    // Cluster-scoped, labelled with the application: the exporter takes it along; the default scope allows no cluster kinds.
    const clusterRole = { apiVersion: `${rbac}/v1`, kind: 'ClusterRole', metadata: { name: `${ns}-reader`, labels: { [INSTANCE]: 'web' } }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] } as KubernetesObject;
    const deleteClusterRoles = () => Promise.all((['primary', 'dr'] as const).map((c) => objects(c).delete(clusterRole).catch(() => undefined)));
    try {
      await applyPrimary(rolloutApp(ns, 'web', 'registry.example/web:1'));
      await waitComplete('Rollout', ns, 'web', 'registry.example/web:1');
      const first = await promoteCli(setup, `${ns}/web`);
      assert.equal(first.code, 0, first.stderr);
      const before = await drStatus(`${ns}/web`);
      const versionsBefore = await drVersions(ns, 'web');
      const drClusterRole = () => readLive('dr', `${rbac}/v1`, 'ClusterRole', '', `${ns}-reader`).then(() => true, () => false);

      await applyPrimary(rolloutApp(ns, 'web', 'registry.example/web:2', undefined, [clusterRole]));
      const refused = await promoteCli(setup, `${ns}/web`, '--wait');
      await assertPausedUntouched(refused, 'OUT_OF_SCOPE', ns, before, versionsBefore);
      assert.match(refused.result!.targets[0]!.message, new RegExp(`ClusterRole ${ns}-reader`));
      assert.equal(await drClusterRole(), false, 'the out-of-scope object was not written');
      const src = await new SourceRecord(kubeConfig('primary'), `${ns}/web`).read();
      assert.equal(src?.record.targets.shenzhen?.state, 'paused');
      assert.equal(src?.record.targets.shenzhen?.code, 'OUT_OF_SCOPE');

      // Widening the scope alone does not lift the pause: an operator resumes.
      setup.trust(true, { clusterResources: [{ group: rbac, kind: 'ClusterRole' }] });
      const still = await promoteCli(setup, `${ns}/web`);
      assert.equal(still.code, 1, still.stderr);
      assert.equal(still.result!.targets[0]!.code, 'PAUSED');
      assert.deepEqual(await drVersions(ns, 'web'), versionsBefore);

      const resume = await runCli(['resume', `${ns}/web`, '--target', 'shenzhen', '--config', setup.configPath]);
      assert.equal(resume.code, 0, resume.stderr);
      const again = await promoteCli(setup, `${ns}/web`);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.result!.targets[0]!.state, 'completed', again.result!.targets[0]!.message);
      const st = await drStatus(`${ns}/web`);
      assert.equal(st?.state, 'completed');
      const primary = await readLive<Rollout>('primary', 'argoproj.io/v1alpha1', 'Rollout', ns, 'web');
      assert.equal(st?.podTemplateHash, primary.status?.stableRS);
      assert.equal(await drClusterRole(), true, 'inside the widened scope it is applied');
    } finally {
      await deleteClusterRoles();
    }
  });

  it('two targets, one unreachable → the other completed within the SLA, the unreachable one failed with CLUSTER_UNREACHABLE in the source record', async () => {
    const probe = new RelaySetup();
    const kubeconfig = await probe.unreachableKubeconfig();
    const setup = new RelaySetup({ targets: [{ name: 'shenzhen', context: 'dr', kubeconfig }, { name: 'beijing', context: 'unreachable', kubeconfig }] });
    const ns = await freshNamespace('rr-prom-two', ['primary']);
    cleanupDrNamespace(ns);
    await applyPrimary(rolloutApp(ns, 'cart', 'registry.example/cart:1'));
    await waitComplete('Rollout', ns, 'cart', 'registry.example/cart:1');
    const t0 = Date.now();
    const r = await promoteHere(setup, 'Rollout', ns, 'cart');
    const seconds = (Date.now() - t0) / 1000;
    const byName = Object.fromEntries(r.targets.map((t) => [t.target, t]));
    assert.equal(byName.shenzhen?.state, 'completed');
    assert.ok(byName.shenzhen!.seconds < 100, `shenzhen completed in ${byName.shenzhen!.seconds}s`);
    assert.equal(byName.beijing?.state, 'failed');
    assert.equal(byName.beijing?.code, 'CLUSTER_UNREACHABLE');
    assert.ok(seconds < 100, `the command took ${seconds}s`);
    const src = await new SourceRecord(kubeConfig('primary'), `${ns}/cart`).read();
    assert.equal(src?.record.targets.shenzhen?.state, 'completed');
    assert.equal(src?.record.targets.beijing?.state, 'failed');
    assert.equal(src?.record.targets.beijing?.code, 'CLUSTER_UNREACHABLE');
    console.log(`      shenzhen completed in ${byName.shenzhen!.seconds.toFixed(1)}s; whole promotion ${seconds.toFixed(1)}s`);
  });

  it('a Rollout with an indefinite pause: {} step and an analysis step → DR runs the new revision Healthy without waiting', async () => {
    const setup = new RelaySetup();
    const ns = await freshNamespace('rr-prom-canary', ['primary']);
    cleanupDrNamespace(ns);
    const template = {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'AnalysisTemplate', metadata: { name: 'smoke', namespace: ns, labels: { [INSTANCE]: 'pay' } },
      spec: { metrics: [{ name: 'smoke', provider: { job: { spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'smoke', image: 'registry.example/smoke:1' }] } } } } } }] },
    } as KubernetesObject;
    const steps = [{ setWeight: 50 }, { pause: {} }, { analysis: { templates: [{ templateName: 'smoke' }] } }];
    await applyPrimary(rolloutApp(ns, 'pay', 'registry.example/pay:1', steps, [template]));
    await waitComplete('Rollout', ns, 'pay', 'registry.example/pay:1'); // first deploy skips steps
    const first = await promoteHere(setup, 'Rollout', ns, 'pay');
    assert.equal(first.targets[0]!.state, 'completed', first.targets[0]!.message);

    // In primary an operator promotes past the indefinite pause (as `kubectl argo rollouts promote --full`).
    await applyPrimary(rolloutApp(ns, 'pay', 'registry.example/pay:2', steps, [template]));
    const { waitFor } = await import('../../../src/sandbox/http.js');
    await waitFor('primary paused at pause {}', async () => {
      const ro = await readLive<Rollout & { status?: { pauseConditions?: unknown[] } }>('primary', 'argoproj.io/v1alpha1', 'Rollout', ns, 'pay');
      return (ro.status?.pauseConditions?.length ?? 0) > 0;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    await objects('primary').patchRaw(`/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/pay/status`, 'application/merge-patch+json', { status: { promoteFull: true } });
    await waitComplete('Rollout', ns, 'pay', 'registry.example/pay:2');

    const t0 = Date.now();
    const r = await promoteHere(setup, 'Rollout', ns, 'pay');
    assert.equal(r.targets[0]!.state, 'completed', r.targets[0]!.message);
    const seconds = (Date.now() - t0) / 1000;
    const dr = await readLive<Rollout>('dr', 'argoproj.io/v1alpha1', 'Rollout', ns, 'pay');
    const primary = await readLive<Rollout>('primary', 'argoproj.io/v1alpha1', 'Rollout', ns, 'pay');
    assert.equal(dr.status?.phase, 'Healthy');
    assert.equal(dr.status?.stableRS, primary.status?.stableRS);
    assert.equal(dr.spec?.template?.spec?.containers?.[0]?.image, 'registry.example/pay:2');
    const runs = (await objects('dr').listRaw('argoproj.io/v1alpha1', 'AnalysisRun', ns)).items;
    assert.equal(runs.length, 0, 'no analysis ran in DR');
    console.log(`      DR Healthy on the new revision ${seconds.toFixed(1)}s after promote started`);
  });

  it('a labelled Service → no Endpoints or EndpointSlices in the bundle (primary has them, with the label)', async () => {
    const ns = await freshNamespace('rr-prom-ep', ['primary']);
    await applyPrimary(rolloutApp(ns, 'search', 'registry.example/search:1'));
    await waitComplete('Rollout', ns, 'search', 'registry.example/search:1');
    const { waitFor } = await import('../../../src/sandbox/http.js');
    await waitFor('primary: an EndpointSlice carrying the Service\'s instance label', async () => {
      const slices = (await objects('primary').listRaw('discovery.k8s.io/v1', 'EndpointSlice', ns, `${INSTANCE}=search`)).items;
      return slices.length > 0;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const exporter = new ApplicationExporter(kubeConfig('primary'));
    const exported = await exporter.export(await exporter.readWorkload({ kind: 'Rollout', namespace: ns, name: 'search' }));
    const bundle = createBundle(exported.objects, { source: { cluster: 'shanghai', namespace: ns, kind: 'Rollout', name: 'search' }, sequence: 1 });
    const kinds = bundle.objects.map((o) => o.kind).sort();
    assert.deepEqual(kinds, ['ConfigMap', 'Namespace', 'Rollout', 'Service']);
    assert.ok(!bundle.objects.some((o) => o.kind === 'Endpoints' || o.kind === 'EndpointSlice'));
    const svc = bundle.objects.find((o) => o.kind === 'Service')!;
    assert.equal((svc.spec as { clusterIP?: string }).clusterIP, undefined);
  });

  it('Argo CD tracking ids: objects of the same Argo CD app travel without the label; the tracking annotation does not', async () => {
    const ns = await freshNamespace('rr-prom-track', ['primary']);
    const tracking = (kind: string, name: string, app = 'shop') => ({ 'argocd.argoproj.io/tracking-id': `${app}:${kind === 'Deployment' ? 'apps' : ''}/${kind}:${ns}/${name}` });
    await applyPrimary([
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'front', namespace: ns, annotations: tracking('Deployment', 'front') }, spec: { replicas: 1, selector: { matchLabels: { app: 'front' } }, template: { metadata: { labels: { app: 'front' } }, spec: { containers: [{ name: 'front', image: 'registry.example/front:1' }] } } } } as KubernetesObject,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'front-settings', namespace: ns, annotations: tracking('ConfigMap', 'front-settings') }, data: { a: '1' } } as KubernetesObject,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'someone-else', namespace: ns, annotations: tracking('ConfigMap', 'someone-else', 'billing') }, data: { b: '2' } } as KubernetesObject,
    ]);
    const exporter = new ApplicationExporter(kubeConfig('primary'));
    const exported = await exporter.export(await exporter.readWorkload({ kind: 'Deployment', namespace: ns, name: 'front' }));
    assert.equal(exported.application, `${ns}/front`);
    assert.equal(exported.argoApp, 'shop');
    const bundle = createBundle(exported.objects, { source: { cluster: 'shanghai', namespace: ns, kind: 'Deployment', name: 'front' }, sequence: 1 });
    assert.deepEqual(bundle.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), ['ConfigMap/front-settings', 'Deployment/front', `Namespace/${ns}`]);
    assert.ok(bundle.objects.every((o) => o.metadata.annotations?.['argocd.argoproj.io/tracking-id'] === undefined));
  });

  it('promote exit codes: 0 completed, 1 refused (NOT_COMPLETE, WORKLOAD_NOT_FOUND, CONFIG_INVALID) with the code, 2 usage', async () => {
    const setup = new RelaySetup();
    const ns = await freshNamespace('rr-prom-exit', ['primary']);
    cleanupDrNamespace(ns);
    await applyPrimary(rolloutApp(ns, 'api', 'registry.example/api:1', [{ setWeight: 50 }, { pause: {} }]));
    await waitComplete('Rollout', ns, 'api', 'registry.example/api:1');
    const ok = await promoteCli(setup, `${ns}/api`, '--wait', '--timeout', '100s');
    assert.equal(ok.code, 0, ok.stderr);

    await applyPrimary(rolloutApp(ns, 'api', 'registry.example/api:2', [{ setWeight: 50 }, { pause: {} }]));
    const notDone = await promoteCli(setup, `${ns}/api`);
    assert.equal(notDone.code, 1);
    assert.match(notDone.stderr, /^error NOT_COMPLETE: /m);
    const missing = await promoteCli(setup, `${ns}/nothing`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error WORKLOAD_NOT_FOUND: /m);
    const badConfig = await runCli(['promote', `${ns}/api`, '--config', `${setup.dir}/missing.yaml`]);
    assert.equal(badConfig.code, 1);
    assert.match(badConfig.stderr, /^error CONFIG_INVALID: /m);
    for (const args of [['promote', 'not-a-ref', '--config', setup.configPath], ['promote', `${ns}/api`], ['promote', `${ns}/api`, '--config', setup.configPath, '--timeout', 'soon'], ['promote', `${ns}/api`, '--config', setup.configPath, '--kind', 'Pod']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
  });

  it('--bundle FILE applies that very signed bundle to every target; running it again changes nothing', async () => {
    const setup = new RelaySetup();
    const ns = await freshNamespace('rr-prom-file', ['primary']);
    cleanupDrNamespace(ns);
    await applyPrimary(deploymentApp(ns, 'ledger', 'registry.example/ledger:1'));
    const hash = await waitComplete('Deployment', ns, 'ledger', 'registry.example/ledger:1');
    const exporter = new ApplicationExporter(kubeConfig('primary'));
    const exported = await exporter.export(await exporter.readWorkload({ kind: 'Deployment', namespace: ns, name: 'ledger' }));
    const path = join(setup.dir, 'ledger.bundle.tar');
    const created = await writeBundleFile(path, exported.objects, {
      source: { cluster: 'shanghai', namespace: ns, kind: 'Deployment', name: 'ledger', revision: '1', podTemplateHash: hash }, application: `${ns}/ledger`, sequence: 7, targets: ['shenzhen'],
    });
    await signBundleFile({ bundlePath: path, signers: [keySigner(loadPrivateKey(readFileSync(join(setup.dir, 'release.key')), 'release.key'))] });
    const r = await promoteCli(setup, `${ns}/ledger`, '--bundle', path);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.result!.bundleDigest, `sha256:${created.digest}`);
    assert.equal(r.result!.sequence, 7);
    const st = await drStatus(`${ns}/ledger`);
    assert.equal(st?.state, 'completed');
    assert.equal(st?.bundleDigest, `sha256:${created.digest}`);
    const rv = (await readLive('dr', 'apps/v1', 'Deployment', ns, 'ledger')).metadata?.resourceVersion;
    const again = await promoteCli(setup, `${ns}/ledger`, '--bundle', path);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await readLive('dr', 'apps/v1', 'Deployment', ns, 'ledger')).metadata?.resourceVersion, rv);
  });

  it('--bundle: /dev/zero, a FIFO, a bundle above the policy\'s maxBundleBytes and a signature that is /dev/zero are refused before being read; nothing reaches DR', async () => {
    const setup = new RelaySetup();
    const ns = await freshNamespace('rr-prom-badfile', ['primary']);
    cleanupDrNamespace(ns);
    await applyPrimary(deploymentApp(ns, 'ledger', 'registry.example/ledger:1'));
    await waitComplete('Deployment', ns, 'ledger', 'registry.example/ledger:1');
    const promote = (bundlePath: string) => setup.promoter().promote({ workload: { kind: 'Deployment', namespace: ns, name: 'ledger' } }, { bundlePath });
    const fifo = join(setup.dir, 'fifo.bundle.tar');
    execFileSync('mkfifo', [fifo]); // no writer: reading it would block for ever
    for (const p of ['/dev/zero', fifo]) assert.match((await expectCode(() => promote(p), 'USAGE')).message, /is not a regular file/);

    const policy = parseYaml(readFileSync(setup.policyPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(setup.policyPath, stringify({ ...policy, maxBundleBytes: 1024 }));
    const big = join(setup.dir, 'big.bundle.tar');
    writeFileSync(big, Buffer.alloc(2048));
    writeFileSync(`${big}.sig.json`, '{}');
    assert.match((await expectCode(() => promote(big), 'TOO_LARGE')).message, /big\.bundle\.tar is 2048 bytes, above 1024 \(the trust policy's maxBundleBytes\)/);

    const small = join(setup.dir, 'small.bundle.tar');
    writeFileSync(small, Buffer.alloc(512));
    symlinkSync('/dev/zero', `${small}.sig.json`);
    assert.match((await expectCode(() => promote(small), 'USAGE')).message, /small\.bundle\.tar\.sig\.json is not a regular file/);
    assert.equal(await drStatus(`${ns}/ledger`), undefined, 'nothing was promoted');
  });

  it('the source record hands out distinct sequences to parallel takers (compare-and-swap)', async () => {
    const ns = await freshNamespace('rr-prom-seq', ['primary']);
    const takers = Array.from({ length: 8 }, () => new SourceRecord(kubeConfig('primary'), `${ns}/app`));
    const seqs = await Promise.all(takers.map((t) => t.takeSequence()));
    assert.deepEqual([...seqs].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(await takers[0]!.takeSequence(100), 101, 'a floor (a target\'s sequence) lifts the counter');
    assert.equal((await takers[0]!.read())?.record.sequence, 101);
  });
});

