import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { serverSideApply } from '../../../src/sandbox/cluster.js';
import { freePorts } from '../../../src/sandbox/ports.js';
import { generateSigningKeyPair, privateKeyPem, publicKeyPem } from '../../../src/signing/index.js';
import { deleteNamespaceAndWait, kubeConfig, sandbox, suiteNamespace } from '../support/sandbox.js';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STATUS_TOKEN = 'status-token-rpo-guard-0123456789';
const PLUGIN_TOKEN = 'plugin-token-rpo-guard-0123456789';

type Rollout = KubernetesObject & { status?: { stableRS?: string; currentPodHash?: string; phase?: string; abort?: boolean; observedGeneration?: string; message?: string } };
type AnalysisRun = KubernetesObject & { status?: { phase?: string; metricResults?: { name: string; phase: string; measurements?: { value?: string; phase?: string; message?: string }[] }[] } };

/**
 * The RPO guard of manifests/rollouts/rpo-guard.yaml with the real Argo Rollouts controller: the
 * first canary step asks rollout-relay's read API (the real controller, `rollout-relay controller`)
 * whether DR runs primary's stable revision. In sync → the release proceeds; DR behind (its last
 * promotion failed) → the AnalysisRun fails, the Rollout aborts and keeps its stable version.
 */
describe('rollouts: the RPO guard stops primary from running ahead of DR', function () {
  this.timeout(300_000);
  const work = mkdtempSync(join(tmpdir(), 'rr-rpo-'));
  let primary: KubeConfig;
  let objects: UntypedObjectApi;
  let ns: string;
  let controller: ChildProcess | undefined;
  let port: number;

  const read = async (kind: string, name: string) => objects.read({ apiVersion: 'argoproj.io/v1alpha1', kind, metadata: { name, namespace: ns } });

  function rollout(image: string): KubernetesObject {
    const labels = { app: 'web' };
    return {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout',
      metadata: { name: 'web', namespace: ns, labels: { 'rollout-relay.io/promote': 'true', 'app.kubernetes.io/instance': 'web' } },
      spec: {
        replicas: 2, selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'web', image }] } },
        strategy: {
          canary: {
            steps: [
              {
                analysis: {
                  templates: [{ templateName: 'rollout-relay-rpo-guard', clusterScope: true }],
                  args: [
                    { name: 'namespace', value: ns },
                    { name: 'application', value: 'web' },
                    { name: 'url', value: `http://127.0.0.1:${port}` },
                  ],
                },
              },
              { setWeight: 50 },
              { pause: { duration: '1s' } },
            ],
          },
        },
      },
    } as KubernetesObject;
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; controller log:\n${readFileSync(join(work, 'controller.log'), 'utf8').split('\n').slice(-25).join('\n')}`);
      await sleep(500);
    }
  }

  const drStatus = async () => (await kubeConfig('dr').makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'rollout-relay-status-web', namespace: ns })).data ?? {};

  before(async () => {
    primary = kubeConfig('primary');
    objects = UntypedObjectApi.forKubeConfig(primary);
    [port] = (await freePorts(1)) as [number];
    ns = await suiteNamespace('rpo', ['primary']);
    // In both clusters: the DR copy of the Rollout references the template too.
    for (const context of ['primary', 'dr']) await run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, '--context', context, 'apply', '-k', join(ROOT, 'manifests/rollouts')]);
    // The template's token argument: the read API's token, in the Rollout's namespace.
    await serverSideApply(primary, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rollout-relay-status-token', namespace: ns }, stringData: { token: STATUS_TOKEN } } as KubernetesObject]);

    const { privateKey, publicKey } = generateSigningKeyPair('ecdsa-p256');
    writeFileSync(join(work, 'release.key'), privateKeyPem(privateKey), { mode: 0o600 });
    writeFileSync(join(work, 'release.pub'), publicKeyPem(publicKey));
    writeFileSync(join(work, 'notify.token'), 'notify-token-rpo-guard-0123456789\n');
    writeFileSync(join(work, 'status.token'), `${STATUS_TOKEN}\n`);
    writeFileSync(join(work, 'plugin.token'), `${PLUGIN_TOKEN}\n`);
    writeFileSync(join(work, 'trust-policy.yaml'), 'apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nthreshold: 1\nkeys:\n  - {name: release, publicKey: release.pub}\n');
    writeFileSync(join(work, 'relay.yaml'), [
      'apiVersion: rollout-relay.io/v1', 'kind: RelayConfig',
      `source: {cluster: shanghai, context: primary, kubeconfig: ${sandbox().kubeconfig}}`,
      `watch: {namespaces: [${ns}]}`,
      'signing: {keys: [release.key]}', 'trustPolicy: trust-policy.yaml',
      `targets: [{name: shenzhen, context: dr, kubeconfig: ${sandbox().kubeconfig}}]`,
      `server: {listen: "127.0.0.1:${port}", tokenFile: notify.token, statusTokenFile: status.token}`,
      'plugin: {tokenFile: plugin.token}', '',
    ].join('\n'));
    const log = join(work, 'controller.log');
    writeFileSync(log, '');
    controller = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'controller', '--config', join(work, 'relay.yaml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    controller.stdout!.on('data', (c: Buffer) => writeFileSync(log, c, { flag: 'a' }));
    controller.stderr!.on('data', (c: Buffer) => writeFileSync(log, c, { flag: 'a' }));
    await waitFor('controller ready', async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined), 60_000);
  });

  after(async () => {
    controller?.kill('SIGTERM');
    for (const context of ['primary', 'dr']) await run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, '--context', context, 'delete', '--ignore-not-found', '-k', join(ROOT, 'manifests/rollouts')]).catch(() => undefined);
    if (ns) await Promise.all([deleteNamespaceAndWait('primary', ns), deleteNamespaceAndWait('dr', ns)]);
    rmSync(work, { recursive: true, force: true });
  });

  it('DR in sync: the guard passes and the next release completes', async () => {
    await serverSideApply(primary, [rollout('registry.example/web:1')]);
    // Revision 1 (no canary steps on a first rollout) completes and the controller relays it.
    await waitFor('DR completed revision 1', async () => ((await drStatus()).hot_update_status === 'completed' && (await drStatus()).revision === '1' ? true : undefined));
    await serverSideApply(primary, [rollout('registry.example/web:2')]);
    const ro = await waitFor('revision 2 complete in primary', async () => {
      const r = (await read('Rollout', 'web')) as Rollout;
      return r.status?.phase === 'Healthy' && r.status.stableRS === r.status.currentPodHash && String(r.status.observedGeneration) === String(r.metadata?.generation) && r.metadata?.annotations?.['rollout.argoproj.io/revision'] === '2' ? r : undefined;
    });
    const runs = await objects.list('argoproj.io/v1alpha1', 'AnalysisRun', ns);
    const guard = runs.items.map((a) => a as AnalysisRun).find((a) => a.metadata?.name?.includes('web'));
    assert.equal(guard?.status?.phase, 'Successful', JSON.stringify(guard?.status));
    assert.ok(ro.status?.stableRS);

    // The plugin generator, mounted on the controller's port, publishes what DR completed.
    await waitFor('DR completed revision 2', async () => ((await drStatus()).hot_update_status === 'completed' && (await drStatus()).revision === '2' ? true : undefined));
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/getparams.execute`, {
      method: 'POST', headers: { authorization: `Bearer ${PLUGIN_TOKEN}` }, body: JSON.stringify({ applicationSetName: 'web-dr', input: { parameters: { namespace: ns, application: 'web' } } }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { output: { parameters: { cluster: string; revision: string; hotUpdateStatus: string; inSync: boolean; bundleDigest: string }[] } };
    assert.deepEqual(body.output.parameters.map((p) => [p.cluster, p.revision, p.hotUpdateStatus, p.inSync]), [['shenzhen', '2', 'completed', true]]);
    assert.equal(body.output.parameters[0]!.bundleDigest, (await drStatus()).bundle_digest);
  });

  it('DR behind (its promotion failed): the AnalysisRun fails, the Rollout aborts and keeps its stable version', async () => {
    await waitFor('DR completed revision 2', async () => ((await drStatus()).hot_update_status === 'completed' && (await drStatus()).revision === '2' ? true : undefined));
    // Revision 3 brings a ConfigMap that already exists in DR, created by someone else: DR refuses
    // it (NOT_OWNED) and stays at revision 2, while primary completes revision 3.
    await kubeConfig('dr').makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'web-extra' }, data: { owner: 'someone else' } } });
    await serverSideApply(primary, [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-extra', namespace: ns, labels: { 'app.kubernetes.io/instance': 'web' } }, data: { owner: 'web' } } as KubernetesObject,
      rollout('registry.example/web:3'),
    ]);
    // The read API the guard uses: primary completed revision 3, DR is not in sync with it.
    const view = await waitFor('primary at revision 3, DR behind', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/applications/${ns}/web`, { headers: { authorization: `Bearer ${STATUS_TOKEN}` } });
      const v = (await res.json()) as { primary?: { revision?: string }; targets: { target: string; inSync: boolean; revision?: string; hotUpdateStatus?: string }[] };
      return v.primary?.revision === '3' && v.targets[0]?.inSync === false ? v : undefined;
    });
    assert.equal(view.targets[0]?.revision, '2', 'DR still runs revision 2 (the NOT_OWNED refusal wrote nothing)');
    const stableBefore = ((await read('Rollout', 'web')) as Rollout).status!.stableRS!;

    await serverSideApply(primary, [rollout('registry.example/web:4')]);
    const aborted = await waitFor('revision 4 aborted', async () => {
      const r = (await read('Rollout', 'web')) as Rollout;
      return r.status?.abort === true ? r : undefined;
    });
    assert.equal(aborted.status?.stableRS, stableBefore, 'primary keeps its stable version');
    const runs = (await objects.list('argoproj.io/v1alpha1', 'AnalysisRun', ns)).items.map((a) => a as AnalysisRun);
    const failed = runs.find((a) => a.status?.phase === 'Failed');
    assert.ok(failed, `a failed AnalysisRun among ${runs.map((a) => `${a.metadata?.name}=${a.status?.phase}`).join(', ')}`);
    assert.equal(failed.status?.metricResults?.[0]?.name, 'dr-in-sync');
  });
});
