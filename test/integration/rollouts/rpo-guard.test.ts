import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { serverSideApply } from '../../../src/sandbox/cluster.js';
import { freePorts } from '../../../src/sandbox/ports.js';
import { sourceRecordFromData } from '../../../src/promote/source-record.js';
import { statusFromData } from '../../../src/status/model.js';
import { ControllerSetup, InProcessController, selected } from '../controller/support.js';
import { closedPort } from '../promote/support.js';
import { deleteNamespaceAndWait, kubeConfig, sandbox, suiteNamespace } from '../support/sandbox.js';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;
const STATUS_TOKEN = 'status-token-rpo-guard-0123456789';

type Rollout = KubernetesObject & {
  status?: { stableRS?: string; currentPodHash?: string; phase?: string; abort?: boolean; observedGeneration?: string | number };
  spec?: { strategy?: { canary?: { steps?: Record<string, unknown>[] } } };
};
type AnalysisRun = KubernetesObject & { status?: { phase?: string; metricResults?: { name: string; phase: string; measurements?: { value?: string; phase?: string }[] }[] } };
type ReadView = { primary: { revision: string } | null; targets: { target: string; hotUpdateStatus: string | null; revision?: string; inSync: boolean }[] };

/**
 * The RPO guard of manifests/rollouts/rpo-guard.yaml with the real Argo Rollouts controller in both
 * clusters: the first canary step of a Rollout in primary asks rollout-relay's read API (the real
 * controller) whether DR runs primary's stable revision. In sync → the release proceeds; DR behind
 * (its promotion was refused) or `failed` (its post-check failed) → the AnalysisRun fails, the
 * Rollout aborts and primary keeps its stable version. DR itself never runs the guard: its copy of
 * the Rollout is promoted in full, without the analysis step, so DR needs neither the template
 * nor the token Secret (neither exists there in this test).
 *
 * Every wait is for a condition; the deadlines only bound a broken run.
 */
describe('rollouts: the RPO guard stops primary from running ahead of DR (real Argo Rollouts)', function () {
  this.timeout(900_000);
  let ns: string;
  let port: number;
  let setup: ControllerSetup;
  let controller: InProcessController | undefined;
  const primary = () => kubeConfig('primary');

  function rollout(image: string): KubernetesObject {
    const labels = { app: 'web' };
    return {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout',
      metadata: { name: 'web', namespace: ns, labels: { 'app.kubernetes.io/instance': 'web' } },
      spec: {
        replicas: 2, selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'web', image }] } },
        strategy: {
          canary: {
            steps: [
              {
                // As the template's header comment documents it.
                analysis: {
                  templates: [{ templateName: 'rollout-relay-rpo-guard', clusterScope: true }],
                  args: [
                    { name: 'namespace', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    { name: 'application', value: 'web' },
                    { name: 'url', value: `http://127.0.0.1:${port}` },
                  ],
                },
              },
              { setWeight: 50 },
            ],
          },
        },
      },
    } as KubernetesObject;
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const v = await probe();
        if (v !== undefined) return v;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() > deadline) {
        const log = controller?.lines.slice(-20).map((l) => JSON.stringify(l)).join('\n') ?? '';
        throw new Error(`${what}: not within ${timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ''}; controller log:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const readRollout = async (context: 'primary' | 'dr') =>
    (await UntypedObjectApi.forKubeConfig(kubeConfig(context)).read({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web', namespace: ns } })) as Rollout;
  const observed = (r: Rollout) => String(r.status?.observedGeneration) === String(r.metadata?.generation);
  const revisionOf = (r: Rollout) => r.metadata?.annotations?.['rollout.argoproj.io/revision'];

  /** Primary completed the Rollout at this image: stable, healthy, every replica on it. */
  const primaryComplete = (image: string) => waitFor(`primary completes ${image}`, async () => {
    const r = await readRollout('primary');
    const spec = r.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
    return observed(r) && spec?.template?.spec?.containers?.[0]?.image === image && r.status?.phase === 'Healthy' && r.status.stableRS === r.status.currentPodHash ? r : undefined;
  });

  /** DR's status ConfigMap, state and revision from one version of it. */
  const drStatus = async () => statusFromData((await kubeConfig('dr').makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'rollout-relay-status-web', namespace: ns })).data ?? {});
  const drReaches = (state: string, revision: string) => waitFor(`DR ${state} at revision ${revision}`, async () => {
    const s = await drStatus();
    return s.state === state && s.revision === revision ? s : undefined;
  });

  const readApi = async (): Promise<ReadView> => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/applications/${ns}/web`, { headers: { authorization: `Bearer ${STATUS_TOKEN}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as ReadView;
  };

  async function analysisRunsFor(context: 'primary' | 'dr', podHash?: string): Promise<AnalysisRun[]> {
    const list = await UntypedObjectApi.forKubeConfig(kubeConfig(context)).list('argoproj.io/v1alpha1', 'AnalysisRun', ns);
    return (list.items as AnalysisRun[]).filter((a) => !podHash || a.metadata?.labels?.['rollouts-pod-template-hash'] === podHash);
  }

  /**
   * Applies a new image and waits for the guard to stop it: the Rollout aborted on that pod hash,
   * the canary ReplicaSet scaled to 0 and the stable one serving every replica. Returns the failed
   * guard's AnalysisRun.
   */
  async function expectGuardToStop(image: string, stableBefore: string): Promise<AnalysisRun> {
    await serverSideApply(primary(), selected([rollout(image)]));
    const aborted = await waitFor(`${image} aborted by the guard`, async () => {
      const r = await readRollout('primary');
      return observed(r) && r.status?.abort === true && r.status.currentPodHash !== stableBefore ? r : undefined;
    });
    assert.equal(aborted.status?.stableRS, stableBefore, 'primary keeps its stable version');
    const apps = primary().makeApiClient(AppsV1Api);
    await waitFor('stable ReplicaSet serving every replica, canary scaled to 0', async () => {
      const sets = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
      const of = (hash: string) => sets.find((rs) => rs.metadata?.labels?.['rollouts-pod-template-hash'] === hash);
      const stable = of(stableBefore);
      const canary = of(aborted.status!.currentPodHash!);
      return stable?.spec?.replicas === 2 && stable.status?.availableReplicas === 2 && canary?.spec?.replicas === 0 ? true : undefined;
    });
    const runs = await analysisRunsFor('primary', aborted.status!.currentPodHash!);
    assert.equal(runs.length, 1, `one guard run for ${image}`);
    const guard = runs[0]!;
    assert.equal(guard.status?.phase, 'Failed', JSON.stringify(guard.status));
    assert.equal(guard.status?.metricResults?.[0]?.name, 'dr-in-sync');
    return guard;
  }

  before(async () => {
    [port] = (await freePorts(1)) as [number];
    ns = await suiteNamespace('rpo', ['primary']);
    // The guard lives in primary only: DR's copy of the Rollout does not run it.
    await run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, '--context', 'primary', 'apply', '-k', join(ROOT, 'manifests/rollouts')]);
    // Its token argument: the read API's token, in the Rollout's namespace.
    await serverSideApply(primary(), [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rollout-relay-status-token', namespace: ns }, stringData: { token: STATUS_TOKEN } } as KubernetesObject]);
    setup = new ControllerSetup({ namespaces: [ns] });
    writeFileSync(join(setup.dir, 'status.token'), `${STATUS_TOKEN}\n`, { mode: 0o600 });
    rewriteConfig((c) => ({ ...c, server: { listen: `127.0.0.1:${port}`, tokenFile: 'notify.token', statusTokenFile: 'status.token' } }));
    controller = await InProcessController.start(setup);
  });

  after(async () => {
    await controller?.stop();
    await run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, '--context', 'primary', 'delete', '--ignore-not-found', '-k', join(ROOT, 'manifests/rollouts')]).catch(() => undefined);
    if (ns) await Promise.all([deleteNamespaceAndWait('primary', ns), deleteNamespaceAndWait('dr', ns)]);
  });

  function rewriteConfig(change: (c: Record<string, unknown>) => Record<string, unknown>): void {
    writeFileSync(setup.configPath, stringify(change(parse(readFileSync(setup.configPath, 'utf8')) as Record<string, unknown>)));
  }

  it('DR in sync: the guard passes and the next release completes; DR runs it without the guard', async () => {
    // Revision 1 is a first deploy (Argo Rollouts runs no steps) and is relayed to DR.
    await serverSideApply(primary(), selected([rollout('registry.example/web:1')]));
    await primaryComplete('registry.example/web:1');
    await drReaches('completed', '1');

    await serverSideApply(primary(), selected([rollout('registry.example/web:2')]));
    const done = await primaryComplete('registry.example/web:2');
    assert.equal(revisionOf(done), '2');
    const runs = await analysisRunsFor('primary', done.status!.currentPodHash!);
    assert.deepEqual(runs.map((a) => a.status?.phase), ['Successful'], 'the guard ran once and passed');

    await drReaches('completed', '2');
    const dr = await readRollout('dr');
    assert.equal(dr.status?.stableRS, done.status!.stableRS, 'DR runs the pod-template-hash primary completed');
    assert.deepEqual(dr.spec?.strategy?.canary?.steps, [{ setWeight: 50 }], 'DR\'s copy has no analysis step');
    assert.deepEqual(await analysisRunsFor('dr'), [], 'DR never started an AnalysisRun');
    const view = await readApi();
    assert.deepEqual([view.primary?.revision, view.targets.map((t) => [t.target, t.hotUpdateStatus, t.inSync])], ['2', [['shenzhen', 'completed', true]]]);
  });

  it('DR behind (its promotion was refused): the AnalysisRun fails, the Rollout aborts, primary keeps its stable version', async () => {
    // Revision 3 brings a ConfigMap that already exists in DR, created by someone else: DR refuses
    // the bundle (NOT_OWNED, nothing written) and stays at revision 2 while primary completes 3.
    await kubeConfig('dr').makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'web-extra' }, data: { owner: 'someone else' } } });
    await serverSideApply(primary(), [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-extra', namespace: ns, labels: { 'app.kubernetes.io/instance': 'web' } }, data: { owner: 'web' } } as KubernetesObject,
      ...selected([rollout('registry.example/web:3')]),
    ]);
    const three = await primaryComplete('registry.example/web:3');
    // The refusal is recorded in primary's source record; DR's own status still says revision 2.
    await waitFor('DR\'s promotion of revision 3 refused', async () => {
      const cm = await primary().makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'rollout-relay-source-web', namespace: ns });
      const outcome = sourceRecordFromData(cm.data ?? {}).targets.shenzhen;
      return outcome?.state === 'failed' && outcome.code === 'NOT_OWNED' && outcome.revision === '3' ? true : undefined;
    });
    const view = await readApi();
    assert.deepEqual([view.primary?.revision, view.targets.map((t) => [t.hotUpdateStatus, t.revision, t.inSync])], ['3', [['completed', '2', false]]]);

    const guard = await expectGuardToStop('registry.example/web:4', three.status!.stableRS!);
    assert.match(guard.status!.metricResults![0]!.measurements![0]!.value!, /"revision":"2"/, 'the guard read DR at revision 2');
  });

  it('DR failed (its post-check failed), read by a restarted controller: the AnalysisRun fails, the Rollout aborts, primary keeps its stable version', async () => {
    // A restart while primary is aborted: the new process never saw revision 3 complete, yet knows
    // it as primary's stable revision (its ReplicaSet), so the guard judges DR against it.
    await controller!.stop();
    controller = undefined;
    await kubeConfig('dr').makeApiClient(CoreV1Api).deleteNamespacedConfigMap({ name: 'web-extra', namespace: ns });
    // DR's post-check asks a Prometheus that does not answer; onHookFailure keep leaves DR `failed`.
    const prometheus = await closedPort();
    rewriteConfig((c) => ({
      ...c, onHookFailure: 'keep',
      hooks: [{ name: 'dr-errors', type: 'prometheus', url: `http://127.0.0.1:${prometheus}`, query: 'sum(rate(http_requests_total{code=~"5.."}[30s]))', pass: '< 1', timeout: '1s' }],
    }));
    controller = await InProcessController.start(setup);
    const stableHash = (await readRollout('primary')).status!.stableRS!;
    const restarted = await waitFor('the read API after the restart', async () => {
      const v = await readApi();
      return v.primary ? v : undefined;
    });
    assert.deepEqual([restarted.primary?.revision, restarted.targets.map((t) => [t.revision, t.inSync])], ['3', [['2', false]]]);

    // The operator takes primary back to its stable template (Argo Rollouts skips the steps); the
    // restarted controller relays it and DR's post-check fails.
    await serverSideApply(primary(), selected([rollout('registry.example/web:3')]));
    const back = await primaryComplete('registry.example/web:3');
    assert.equal(back.status?.stableRS, stableHash);
    const failed = await drReaches('failed', revisionOf(back)!);
    assert.match(failed.message, /dr-errors/);
    const view = await readApi();
    assert.deepEqual(view.targets.map((t) => [t.hotUpdateStatus, t.inSync]), [['failed', false]]);

    const guard = await expectGuardToStop('registry.example/web:6', stableHash);
    assert.match(guard.status!.metricResults![0]!.measurements![0]!.value!, /"hotUpdateStatus":"failed"/, 'the guard read DR failed');
  });
});
