import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api, CoreV1Api, AuthenticationV1Api, KubeConfig, Watch, KubernetesObjectApi, PatchStrategy, CustomObjectsApi,
  type V1Deployment, type V1ConfigMap,
} from '@kubernetes/client-node';
import { freshNamespace, kubeConfig, sandbox, setSandbox } from '../support/sandbox.js';
import { isRunning } from '../../../src/sandbox/processes.js';
import { sandboxUp } from '../../../src/sandbox/index.js';
import { waitFor } from '../../../src/sandbox/http.js';

const run = promisify(execFile);

function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, ...args]);
}

function deployment(namespace: string, name: string, replicas: number): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: 'registry.example/web:1' }] } },
    },
  };
}

describe('sandbox: two real clusters', () => {
  it('runs a 3-replica Deployment to availableReplicas == 3 in primary and in dr', async () => {
    const ns = await freshNamespace('deploy');
    await Promise.all((['primary', 'dr'] as const).map(async (context) => {
      const apps = kubeConfig(context).makeApiClient(AppsV1Api);
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment(ns, 'web', 3) });
      await waitFor(`${context} deployment available`, async () => {
        const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
        return d.status?.availableReplicas === 3;
      }, { timeoutMs: 60_000 });
      const pods = await kubeConfig(context).makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns });
      assert.equal(pods.items.length, 3);
      for (const pod of pods.items) {
        assert.equal(pod.status?.phase, 'Running');
        assert.match(pod.spec?.nodeName ?? '', new RegExp(`^${context}-node-`));
      }
    }));
  });

  it('shows Ready nodes through the real kubectl', async () => {
    const { stdout } = await kubectl('--context', 'dr', 'get', 'nodes', '--no-headers');
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(line, /^dr-node-\d\s+Ready\s/);
    // Contexts primary/dr point at cluster entries named as rollout-relay names the clusters.
    const { stdout: clusters } = await kubectl('config', 'view', '-o', 'jsonpath={range .contexts[*]}{.name}={.context.cluster} {end}');
    assert.deepEqual(clusters.trim().split(' ').sort(), ['dr=shenzhen', 'primary=shanghai']);
  });

  it('gives the clusters different service ranges, like real separate clusters', async () => {
    const ns = await freshNamespace('svc');
    const ips: string[] = [];
    for (const context of ['primary', 'dr'] as const) {
      const svc = await kubeConfig(context).makeApiClient(CoreV1Api).createNamespacedService({
        namespace: ns,
        body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
      });
      ips.push(svc.spec?.clusterIP ?? '');
    }
    assert.match(ips[0]!, /^10\.96\./);
    assert.match(ips[1]!, /^10\.112\./);
  });

  it('supports server-side apply, server dry-run and watch', async () => {
    const ns = await freshNamespace('ssa', ['dr']);
    const kc = kubeConfig('dr');
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const cm: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { a: '1' } };

    // A server-side dry run validates and answers but stores nothing.
    await objects.patch(cm, undefined, 'All', 'rollout-relay-test', false, PatchStrategy.ServerSideApply);
    await assert.rejects(kubeConfig('dr').makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'settings', namespace: ns }), /404|not found/i);

    const events: string[] = [];
    const watch = new Watch(kc);
    const req = await watch.watch(`/api/v1/namespaces/${ns}/configmaps`, {}, (type, obj: { metadata?: { name?: string } }) => {
      if (obj.metadata?.name === 'settings') events.push(type);
    }, () => {});
    try {
      const applied = await objects.patch(cm, undefined, undefined, 'rollout-relay-test', false, PatchStrategy.ServerSideApply);
      assert.equal(applied.metadata?.managedFields?.[0]?.manager, 'rollout-relay-test');
      assert.equal(applied.metadata?.managedFields?.[0]?.operation, 'Apply');
      // Another field manager changing the same field conflicts, as on any real API server.
      await assert.rejects(
        objects.patch({ ...cm, data: { a: '2' } }, undefined, undefined, 'someone-else', false, PatchStrategy.ServerSideApply),
        /conflict/i,
      );
      await waitFor('ADDED event', async () => events.includes('ADDED'), { timeoutMs: 10_000 });
    } finally {
      req.abort();
    }
    // The real kubectl agrees: its server-side dry run changes nothing, and it reads what we applied.
    const file = join(mkdtempSync(join(tmpdir(), 'rr-ssa-')), 'cm.json');
    writeFileSync(file, JSON.stringify({ ...cm, data: { a: '3' } }));
    await kubectl('--context', 'dr', 'apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', file);
    const { stdout } = await kubectl('--context', 'dr', '-n', ns, 'get', 'configmap', 'settings', '-o', 'jsonpath={.data.a}');
    assert.equal(stdout, '1');
  });

  it('has TLS, authentication and RBAC switched on', async () => {
    const kc = kubeConfig('dr');
    const server = kc.getCurrentCluster()!.server;
    // Without the sandbox CA the server certificate is not trusted.
    await assert.rejects(new Promise((resolve, reject) => request(`${server}/version`, (res) => resolve(res.statusCode)).on('error', reject).end()), /self-signed|unable to verify|certificate/i);
    // Anonymous requests to the API are rejected.
    const anon = await new Promise<number>((resolve, reject) => {
      request(`${server}/api/v1/namespaces`, { rejectUnauthorized: false }, (res) => resolve(res.statusCode ?? 0)).on('error', reject).end();
    });
    assert.ok(anon === 401 || anon === 403, `anonymous got ${anon}`);
    // A ServiceAccount with no RoleBinding authenticates (real token) but RBAC forbids it.
    const ns = await freshNamespace('rbac', ['dr']);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'nobody' } } });
    const token = await core.createNamespacedServiceAccountToken({ namespace: ns, name: 'nobody', body: { spec: { audiences: [], expirationSeconds: 600 } } });
    const review = await kc.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token: token.status!.token! } } });
    assert.equal(review.status?.authenticated, true);
    const limited = new KubeConfig();
    limited.loadFromClusterAndUser({ name: 'dr', server, caData: kc.getCurrentCluster()!.caData, skipTLSVerify: false }, { name: 'nobody', token: token.status!.token! });
    await assert.rejects(limited.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ns }), /403|forbidden/i);
  });

  it('installs the Argo Rollouts and Argo CD CRDs in both clusters', async () => {
    for (const context of ['primary', 'dr'] as const) {
      const { stdout } = await kubectl('--context', context, 'get', 'crd', '-o', 'name');
      for (const crd of ['rollouts.argoproj.io', 'analysistemplates.argoproj.io', 'applications.argoproj.io', 'applicationsets.argoproj.io']) {
        assert.match(stdout, new RegExp(`customresourcedefinition.apiextensions.k8s.io/${crd.replace(/\./g, '\\.')}`), `${context} lacks ${crd}`);
      }
    }
  });

  it('runs the real Argo Rollouts controller in primary: a Rollout completes and emits RolloutCompleted', async () => {
    const ns = await freshNamespace('rollout', ['primary']);
    const kc = kubeConfig('primary');
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'argoproj.io', version: 'v1alpha1', namespace: ns, plural: 'rollouts',
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] } },
          strategy: { canary: { steps: [{ setWeight: 50 }] } },
        },
      },
    });
    type RolloutStatus = { status?: { phase?: string; stableRS?: string; currentPodHash?: string; availableReplicas?: number } };
    await waitFor('rollout healthy', async () => {
      const ro = (await custom.getNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace: ns, plural: 'rollouts', name: 'web' })) as RolloutStatus;
      return ro.status?.phase === 'Healthy' && ro.status.stableRS === ro.status.currentPodHash && ro.status.availableReplicas === 2;
    }, { timeoutMs: 60_000 });
    await waitFor('RolloutCompleted event', async () => {
      const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
      return events.items.some((e) => e.reason === 'RolloutCompleted' && e.involvedObject.kind === 'Rollout');
    }, { timeoutMs: 30_000 });
  });

  it('sandbox up again is idempotent: a healthy sandbox is left as it is', async () => {
    const before = sandbox();
    const again = await sandboxUp({ dir: before.dir, log: () => {} });
    assert.equal(again.startedAt, before.startedAt);
    assert.deepEqual(again.clusters.map((c) => c.processes.map((p) => p.pid)), before.clusters.map((c) => c.processes.map((p) => p.pid)));
  });

  it('detects a crashed sandbox and restarts it cleanly', async () => {
    const before = sandbox();
    const drApiserver = before.clusters.find((c) => c.spec.context === 'dr')!.processes.find((p) => p.name === 'kube-apiserver')!;
    process.kill(drApiserver.pid, 'SIGKILL');
    const lines: string[] = [];
    const after = await sandboxUp({ dir: before.dir, log: (l) => lines.push(l) });
    setSandbox(after);
    // Right after SIGKILL the port may still reset connections while the process exits: the check
    // waits for the exit and names the crashed component, never a transient /readyz failure.
    assert.match(lines.join('\n'), /unhealthy .*kube-apiserver .*not running.*restarting it cleanly/s);
    assert.doesNotMatch(lines.join('\n'), /readyz failed/);
    assert.notEqual(after.startedAt, before.startedAt);
    // Nothing of the old sandbox is left running.
    for (const proc of before.clusters.flatMap((c) => c.processes)) assert.equal(isRunning(proc), false, `${proc.name} still runs`);
    const { stdout } = await kubectl('--context', 'dr', 'get', 'nodes', '--no-headers');
    assert.equal(stdout.trim().split('\n').length, 3);
  });
});
