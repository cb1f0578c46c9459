import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { serverSideApply } from '../../../src/sandbox/cluster.js';
import { generateSigningKeyPair, privateKeyPem, publicKeyPem } from '../../../src/signing/index.js';
import { deleteNamespaceAndWait, kubeConfig, sandbox, suiteNamespace } from '../support/sandbox.js';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'src/cli/bin.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function kubectl(context: 'primary' | 'dr', args: string[]): Promise<string> {
  const { stdout } = await run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, '--context', context, ...args], { maxBuffer: 16 << 20 });
  return stdout;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', BIN, ...args], { maxBuffer: 64 << 20, env: { ...process.env, KUBECONFIG: '/nonexistent' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

type Rollout = KubernetesObject & { status?: { stableRS?: string; currentPodHash?: string; phase?: string; observedGeneration?: string } };

/**
 * The end-to-end promotion (export in primary, sign, verify, apply to DR, Rollout promoted in full,
 * status completed) while rollout-relay authenticates as the ServiceAccounts manifests/ creates,
 * with a token each and exactly their RBAC: nothing more is granted. Then one rule is taken away
 * and the promotion fails, naming what is forbidden.
 */
describe('manifests: a promotion as the manifests\' ServiceAccounts, with exactly their RBAC', function () {
  this.timeout(240_000);
  const work = mkdtempSync(join(tmpdir(), 'rr-rbac-'));
  let ns: string;
  const saKubeconfig = join(work, 'sa.kubeconfig');
  const config = join(work, 'relay.yaml');
  let primary: KubeConfig;
  let rollouts: UntypedObjectApi;

  async function waitRolloutComplete(name: string): Promise<Rollout> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const ro = (await rollouts.read({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name, namespace: ns } })) as Rollout;
      if (ro.status?.phase === 'Healthy' && ro.status.stableRS && ro.status.stableRS === ro.status.currentPodHash && String(ro.status.observedGeneration) === String(ro.metadata?.generation)) return ro;
      if (Date.now() > deadline) throw new Error(`Rollout ${ns}/${name} not complete: ${JSON.stringify(ro.status)}`);
      await sleep(500);
    }
  }

  function rollout(image: string): KubernetesObject {
    const labels = { app: 'web' };
    return {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout',
      metadata: { name: 'web', namespace: ns, labels: { 'rollout-relay.io/promote': 'true', 'app.kubernetes.io/instance': 'web' } },
      spec: {
        replicas: 2, selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'web', image }] } },
        strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: '1s' } }] } },
      },
    } as KubernetesObject;
  }

  before(async () => {
    primary = kubeConfig('primary');
    rollouts = UntypedObjectApi.forKubeConfig(primary);
    // The manifests, applied as an administrator would: base and RBAC in primary, the dr overlay in DR.
    await kubectl('primary', ['apply', '-k', join(ROOT, 'manifests/base')]);
    await kubectl('primary', ['apply', '-f', join(ROOT, 'manifests/overlays/primary/rbac.yaml')]);
    await kubectl('dr', ['apply', '-k', join(ROOT, 'manifests/overlays/dr')]);

    // A token each: a TokenRequest in primary (as the Deployment's projected token), the dr
    // overlay's long-lived token Secret in DR (as an Argo CD cluster Secret would carry it).
    const primaryToken = (await kubectl('primary', ['-n', 'rollout-relay', 'create', 'token', 'rollout-relay', '--duration=1h'])).trim();
    let drToken = '';
    for (let i = 0; i < 100 && !drToken; i++) {
      const s = await kubeConfig('dr').makeApiClient(CoreV1Api).readNamespacedSecret({ name: 'rollout-relay-token', namespace: 'rollout-relay' });
      drToken = s.data?.token ? Buffer.from(s.data.token, 'base64').toString('utf8') : '';
      if (!drToken) await sleep(200);
    }
    assert.ok(primaryToken && drToken, 'both tokens issued');
    const admin = new KubeConfig();
    admin.loadFromFile(sandbox().kubeconfig);
    const sa = new KubeConfig();
    sa.loadFromOptions({
      clusters: admin.getClusters(),
      users: [{ name: 'primary-sa', token: primaryToken }, { name: 'dr-sa', token: drToken }],
      contexts: [
        { name: 'primary-sa', cluster: admin.getContextObject('primary')!.cluster, user: 'primary-sa' },
        { name: 'dr-sa', cluster: admin.getContextObject('dr')!.cluster, user: 'dr-sa' },
      ],
      currentContext: 'primary-sa',
    });
    writeFileSync(saKubeconfig, sa.exportConfig(), { mode: 0o600 });

    ns = await suiteNamespace('rbac', ['primary']);
    await serverSideApply(primary, [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: ns, labels: { 'app.kubernetes.io/instance': 'web' } }, data: { MODE: 'primary' } } as KubernetesObject,
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns, labels: { 'app.kubernetes.io/instance': 'web' } }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } as KubernetesObject,
      rollout('registry.example/web:1'),
    ]);
    await waitRolloutComplete('web');

    const { privateKey, publicKey } = generateSigningKeyPair('ecdsa-p256');
    writeFileSync(join(work, 'release.key'), privateKeyPem(privateKey), { mode: 0o600 });
    writeFileSync(join(work, 'release.pub'), publicKeyPem(publicKey));
    writeFileSync(join(work, 'trust-policy.yaml'), [
      'apiVersion: rollout-relay.io/v1', 'kind: TrustPolicy', 'threshold: 1', 'keys:',
      '  - {name: release, publicKey: release.pub, sources: [shanghai], targets: [shenzhen]}', '',
    ].join('\n'));
    writeFileSync(config, [
      'apiVersion: rollout-relay.io/v1', 'kind: RelayConfig',
      `source: {cluster: shanghai, context: primary-sa, kubeconfig: ${saKubeconfig}}`,
      `watch: {namespaces: [${ns}]}`,
      'signing: {keys: [release.key]}',
      'trustPolicy: trust-policy.yaml',
      `targets: [{name: shenzhen, context: dr-sa, kubeconfig: ${saKubeconfig}}]`,
      'timeouts: {promotion: 100s}', '',
    ].join('\n'));
  });

  after(async () => {
    // Leave the clusters as other tests expect them: no rollout-relay RBAC, no DR copy.
    await kubectl('primary', ['delete', '--ignore-not-found', '--wait=false', '-f', join(ROOT, 'manifests/overlays/primary/rbac.yaml')]).catch(() => undefined);
    await kubectl('primary', ['delete', '--ignore-not-found', '--wait=false', '-k', join(ROOT, 'manifests/base')]).catch(() => undefined);
    await kubectl('dr', ['delete', '--ignore-not-found', '--wait=false', '-k', join(ROOT, 'manifests/overlays/dr')]).catch(() => undefined);
    if (ns) await Promise.all([deleteNamespaceAndWait('primary', ns), deleteNamespaceAndWait('dr', ns)]);
    await deleteNamespaceAndWait('primary', 'rollout-relay');
    await deleteNamespaceAndWait('dr', 'rollout-relay');
    rmSync(work, { recursive: true, force: true });
  });

  it('promotes end to end: DR runs the same pod-template-hash and records completed', async () => {
    const r = await cli(['promote', `${ns}/web`, '--config', config, '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const result = JSON.parse(r.stdout) as { targets: { target: string; state: string }[]; podTemplateHash: string };
    assert.deepEqual(result.targets.map((t) => `${t.target}=${t.state}`), ['shenzhen=completed']);
    const status = await kubeConfig('dr').makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'rollout-relay-status-web', namespace: ns });
    assert.equal(status.data?.hot_update_status, 'completed');
    const dr = (await UntypedObjectApi.forKubeConfig(kubeConfig('dr')).read({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web', namespace: ns } })) as Rollout;
    assert.equal(dr.status?.stableRS, result.podTemplateHash);
  });

  it('fails with the API server\'s RBAC message when a needed rule is removed (ConfigMap writes in primary)', async () => {
    const rbac = parseAllDocuments(readFileSync(join(ROOT, 'manifests/overlays/primary/rbac.yaml'), 'utf8')).map((d) => d.toJS() as KubernetesObject & { rules?: { resources: string[] }[] });
    const write = rbac.find((o) => o.kind === 'ClusterRole' && o.metadata?.name === 'rollout-relay-primary-write')!;
    const without = { ...write, rules: write.rules!.filter((r) => !(r.resources.includes('configmaps'))) };
    await UntypedObjectApi.forKubeConfig(primary).replace({ ...without, metadata: { ...without.metadata!, resourceVersion: (await UntypedObjectApi.forKubeConfig(primary).read({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'rollout-relay-primary-write' } })).metadata!.resourceVersion! } });
    try {
      await serverSideApply(primary, [rollout('registry.example/web:2')]);
      await waitRolloutComplete('web');
      const r = await cli(['promote', `${ns}/web`, '--config', config, '--json']);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /forbidden/i);
      assert.match(r.stderr, /system:serviceaccount:rollout-relay:rollout-relay/);
      assert.match(r.stderr, /configmaps/);
    } finally {
      await kubectl('primary', ['apply', '-f', join(ROOT, 'manifests/overlays/primary/rbac.yaml')]);
    }
  });
});
