import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { ensureAppsetController } from '../../../src/sandbox/binaries.js';
import { serverSideApply } from '../../../src/sandbox/cluster.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { freePorts } from '../../../src/sandbox/ports.js';
import { isRunning, startProcess, stopProcess, tailLog, type ManagedProcess } from '../../../src/sandbox/processes.js';
import { sandbox } from './sandbox.js';

export const ARGOCD_NAMESPACE = 'argocd';
export const PLUGIN_TOKEN_KEY = 'plugin.rollout-relay.token';

export interface AppsetController {
  proc: ManagedProcess;
  log: string;
  stop(): Promise<void>;
}

/**
 * What Argo CD's ApplicationSet controller needs in its namespace: argocd-cm, argocd-secret (with
 * the plugin token under `plugin.rollout-relay.token`), the AppProject `default`, one cluster
 * Secret per destination, and the plugin's ConfigMap (baseUrl, `token: $<key>`, requestTimeout).
 */
export async function installArgoCdSettings(kc: KubeConfig, opts: { pluginUrl: string; token: string; clusters: { name: string; server: string }[] }): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespace({ body: { metadata: { name: ARGOCD_NAMESPACE } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  const partOf = { 'app.kubernetes.io/part-of': 'argocd' };
  const objects: KubernetesObject[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm', namespace: ARGOCD_NAMESPACE, labels: partOf } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'argocd-secret', namespace: ARGOCD_NAMESPACE, labels: partOf }, stringData: { 'server.secretkey': 'sandbox', [PLUGIN_TOKEN_KEY]: opts.token } } as KubernetesObject,
    {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: 'default', namespace: ARGOCD_NAMESPACE },
      spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] },
    } as KubernetesObject,
    ...opts.clusters.map((c) => ({
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: `cluster-${c.name}`, namespace: ARGOCD_NAMESPACE, labels: { 'argocd.argoproj.io/secret-type': 'cluster' } },
      stringData: { name: c.name, server: c.server, config: '{"tlsClientConfig":{"insecure":false}}' },
    }) as KubernetesObject),
    {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rollout-relay-plugin', namespace: ARGOCD_NAMESPACE },
      data: { baseUrl: opts.pluginUrl, token: `$${PLUGIN_TOKEN_KEY}`, requestTimeout: '10' },
    } as KubernetesObject,
  ];
  await serverSideApply(kc, objects);
}

/** Changes the token Argo CD sends (the argocd-secret key its plugin ConfigMap names). */
export async function setArgoCdPluginToken(kc: KubeConfig, token: string): Promise<void> {
  await serverSideApply(kc, [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'argocd-secret', namespace: ARGOCD_NAMESPACE }, stringData: { [PLUGIN_TOKEN_KEY]: token } } as KubernetesObject]);
}

/**
 * Runs the real ApplicationSet controller (built from argo-cd v2.14's Go module on first use)
 * against the primary sandbox cluster, in namespace argocd.
 */
export async function startAppsetController(progress: (line: string) => void = () => {}): Promise<AppsetController> {
  const binary = await ensureAppsetController(progress);
  const dir = join(sandbox().dir, 'argocd-appset');
  mkdirSync(dir, { recursive: true });
  const [metrics, probe, webhook] = (await freePorts(3)) as [number, number, number];
  const log = join(dir, `controller-${Date.now()}.log`);
  const proc = await startProcess('argocd-applicationset-controller', binary, [
    `--kubeconfig=${sandbox().kubeconfig}`,
    '--context=primary',
    `--namespace=${ARGOCD_NAMESPACE}`,
    `--metrics-addr=127.0.0.1:${metrics}`,
    `--probe-addr=127.0.0.1:${probe}`,
    `--webhook-addr=127.0.0.1:${webhook}`,
    '--enable-scm-providers=false',
    '--loglevel=info',
    // Part of the controller builds its client with controller-runtime, which reads KUBECONFIG (current context: primary).
  ], log, { KUBECONFIG: sandbox().kubeconfig });
  // Its probe server registers no checks (404), so "started" is its metrics endpoint answering.
  try {
    await waitFor('ApplicationSet controller started', async () => (await fetch(`http://127.0.0.1:${metrics}/metrics`)).ok, {
      timeoutMs: 120_000,
      isDead: () => (isRunning(proc) ? undefined : `argocd-applicationset-controller exited:\n${tailLog(log, 30)}`),
    });
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
  return { proc, log, stop: () => stopProcess(proc) };
}
